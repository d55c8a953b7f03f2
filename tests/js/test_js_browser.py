"""The JS loader in a real browser (headless Chromium, tests/browser.py): every example, a
closure-heavy program that grows its pools, foreign imports that are JS functions, a panic,
an exit status, stdin and files; and the page of `irld serve`.  One browser per module, a
fresh page per program, files served from a loopback HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from js_util import EXAMPLE_DIRS, example, Site
from linker.host.serve import directory_server, program_server, start_in_thread
from tests.browser import browser

NAMES = [d.name for d in EXAMPLE_DIRS]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as b:
        yield b


@pytest.fixture(scope="module")
def base_url(site: Site) -> Iterator[str]:
    (site.dir / "index.html").write_text("<!doctype html><title>irld tests</title>")
    server = directory_server(site.dir)
    url = start_in_thread(server)
    yield url
    server.shutdown()
    server.server_close()


class Page:
    """A fresh page on the site; collects console messages and page errors."""

    def __init__(self, chromium: Any, base_url: str) -> None:
        self.page = chromium.new_page()
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(base_url + "index.html")

    def run(self, program: str, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate(
            "async ([stub, options]) => (await import('./harness.mjs')).runProgram(stub, options)",
            [f"./{program}.mjs", options])
        return result

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(chromium: Any, base_url: str) -> Iterator[Page]:
    p = Page(chromium, base_url)
    yield p
    assert p.errors == []
    p.close()


@pytest.mark.parametrize("name", NAMES)
def test_example_in_the_browser(page: Page, site: Site, name: str) -> None:
    ex = example(site.examples, name)
    r = page.run(name, args=[name, *ex.args])
    assert (r.get("status"), r["stdout"], r["stderr"]) == \
        (ex.status, ex.expected.decode(), "")


def test_closure_heavy_program_grows_its_pools(page: Page) -> None:
    r = page.run("grow")
    assert (r["status"], r["stdout"]) == (80, "int closures sum: 20190\ndouble closures sum: 400\n")


def test_foreign_imports_are_js_functions(page: Page) -> None:
    r = page.run("foreign", foreign=True)
    assert r["status"] == 3
    assert r["stdout"] == "greet returned 4294967294\ntwice returned -42\n"
    assert r["seen"] == ["hello from wasm", 4294967295, "-5000000000n", "bigint"]
    assert r["exports"] == [3000000000, "4611686018427387909n", 15, 16, [6, 2.5]]


def test_panic_is_a_js_error(page: Page) -> None:
    r = page.run("panic")
    assert r["error"] == {"name": "PanicError", "message": "panic in explode: x is too large",
                          "function": "explode", "reason": "x is too large", "isError": True}
    assert r["stdout"] == "before the panic\n"


def test_exit_status_stdin_and_files(page: Page) -> None:
    r = page.run("echo", stdin="typed in a page")
    assert (r["status"], r["stdout"]) == (42, "TYPED IN A PAGE")
    r = page.run("files", files={"data/in.txt": "a file the page filled\n"})
    assert (r["status"], r["stdout"]) == (0, "a file the page filled\n")
    assert r["files"]["out.txt"] == "written by wasm"


def test_ffi_fallback_host_calls_through_the_table(page: Page) -> None:
    r = page.run("dynamic")
    assert (r["status"], r["stdout"], r["stderr"]) == (0, "-3000000000000\n", "")


def test_output_goes_to_the_console_by_default(page: Page, site: Site) -> None:
    status = page.page.evaluate(
        "async () => (await (await import('./hello.mjs')).instantiate()).run()")
    assert status == 0
    lines = [text for kind, text in page.console if kind == "log"]
    assert "".join(line + "\n" for line in lines) == site.examples["hello"].expected.decode()


def test_irld_serve_page_runs_the_program(chromium: Any, site: Site) -> None:
    server = program_server(site.dir / "fib.wasm", ["fib.wasm", "12"], port=0)
    url = start_in_thread(server)
    try:
        p = chromium.new_page()
        p.goto(url)
        p.wait_for_selector("#status[data-done]")
        assert p.text_content("#output") == "fib(12) = 144\n"
        assert p.text_content("#status") == "exit status 0"
        p.close()
    finally:
        server.shutdown()
        server.server_close()
