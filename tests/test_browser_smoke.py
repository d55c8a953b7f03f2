"""The browser the browser tests use starts, runs a script, and reports console errors."""

from __future__ import annotations

from tests.browser import browser


def test_chromium_runs_a_page_script() -> None:
    with browser() as b:
        page = b.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.set_content("<p id=x></p><script>document.getElementById('x').textContent = 6 * 7</script>")
        assert page.text_content("#x") == "42"
        assert errors == []
