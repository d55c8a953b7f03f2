"""The object index cache (`irld link --cache-dir DIR`, `IRLD_INDEX_CACHE_DIR`).

What opening and discovery compute for a standard (clang) object is kept
between links, one entry per object, as lld's `--thinlto-cache-dir` keeps
compiled modules: the parsed symbol table, function and segment bounds
(`WasmObject.snapshot`), the records the store reads
(`wasm_input.object_snapshot`), where each function's relocations start in
``reloc.CODE``, and the relocations and references of every function a link
has decoded.  A later link of the same bytes restores all of it with one
`marshal.loads` instead of walking the sections; functions, symbols and
segments become objects only when indexed.  The output is byte-identical
with and without the cache.

* Key: SHA-256 of the fingerprint, the object's name without its directory
  (local symbols are renamed after it) and the object's bytes (SHA-256, as
  OpenSSL computes it with the CPU's SHA instructions, hashes the 47 MB of
  the 100,000-function benchmark in 30 ms, BLAKE2b in 57).  A
  member moved to another archive, or an unchanged file under another
  directory, hits; any changed byte misses.
* Fingerprint: `FORMAT`, Python's bytecode tag (marshal's format follows the
  interpreter) and a hash of the reader's own source (this module,
  `wasmobj`, `wasm_input`, `objfile`): an irld whose reader changed never
  uses an older irld's entries.
* Entry file ``<key hex>.idx``: `MAGIC`, the key, the CRC-32 of the payload
  (integrity; the key is the identity), then the payload (marshal).  An entry whose magic, key or checksum does not
  match, or whose payload does not restore, is ignored and rewritten: a
  corrupt, truncated or foreign file costs a cold read, never a wrong link
  or a traceback.
* Writing happens after a successful link (`IndexCache.flush`), only for
  entries that are new or that the link added to (relocations of functions
  no earlier link decoded); each file is written to a temporary name in the
  directory and renamed over the old one, so a concurrent link reads either
  entry whole.  A directory that cannot be created or written is skipped
  silently: the cache is an accelerator, the link itself succeeded.
* An archive's decoded symbol table (its names and the member each names)
  is kept the same way, in ``<key hex>.sym``, keyed by the table's raw bytes
  and the members' header offsets (`ArArchive.table_identity`), written
  after a link that decoded it.  Decoding the 131,878 entries of the
  100,000-function benchmark's archive (splitting and UTF-8-decoding the
  names, mapping each offset to its member) took 3 times as long as
  unmarshalling them.  Tables are not counted in `hits`, `misses`,
  `rejected` or `written` (which count objects) but in `tables_restored`.
"""

from __future__ import annotations

import marshal
import os
import struct
import zlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linker.store.ar import ArArchive

__all__ = ["CACHE_ENV", "IndexCache"]

# Not $IRLD_CACHE_DIR: that names where irld keeps the libffi it builds
# (linker.ffi.library), and setting it must not turn this cache on.
CACHE_ENV = "IRLD_INDEX_CACHE_DIR"
FORMAT = 2
MAGIC = b"irld-idx"
_DIGEST = 32
_CRC = struct.Struct("<I")
_HEAD = len(MAGIC) + _DIGEST + _CRC.size
_SOURCES = ("objcache.py", "wasmobj.py", "wasm_input.py", "objfile.py", "records.py", "ar.py")
OBJECT, TABLE = ".idx", ".sym"          # entry file suffixes


def _fingerprint() -> bytes:
    import hashlib      # here, not at import: a link without a cache never needs it
    h = hashlib.sha256()
    h.update(f"{FORMAT} {sys.implementation.cache_tag} {marshal.version}\0".encode())
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        h.update((here / name).read_bytes())
    return h.digest()


class IndexCache:
    """One link's view of a cache directory: lookups, and the entries to write.

    `hits`, `misses` (no entry) and `rejected` (an entry that did not verify
    or restore) count lookups; `written` counts entries `flush` wrote."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._fingerprint: bytes | None = None
        # key -> (payload maker, its progress when read or restored, entry suffix)
        self._tracked: dict[bytes, tuple[Callable[[], dict[str, Any]],
                                         Callable[[], tuple[int, ...]], tuple[int, ...],
                                         str]] = {}
        self.hits = self.misses = self.rejected = self.written = 0
        self.tables_restored = 0

    def key(self, buf: Any, start: int, end: int, name: str) -> bytes:
        """The entry key of the object at buf[start:end] named `name`."""
        import hashlib
        if self._fingerprint is None:
            self._fingerprint = _fingerprint()
        h = hashlib.sha256(self._fingerprint)
        h.update(os.path.basename(name).encode("utf-8", "surrogateescape") + b"\0")
        h.update(buf[start:end])
        return h.digest()

    def path(self, key: bytes, suffix: str = OBJECT) -> str:
        return os.path.join(self.directory, key.hex() + suffix)

    def load(self, key: bytes) -> dict[str, Any] | None:
        """The verified payload of `key`'s entry, or None (counted as a miss or a
        rejection)."""
        value = self._read(key, OBJECT)
        if value is None:
            self.misses += 1
            return None
        if value is False:
            self.rejected += 1
            return None
        assert isinstance(value, dict)
        self.hits += 1
        return value

    def _read(self, key: bytes, suffix: str) -> dict[str, Any] | bool | None:
        """The verified payload of an entry; None: no entry; False: a bad one."""
        try:
            with open(self.path(key, suffix), "rb") as fh:
                raw = fh.read()
        except OSError:
            return None
        payload = memoryview(raw)[_HEAD:]
        ok = (raw[:len(MAGIC)] == MAGIC and raw[len(MAGIC):len(MAGIC) + _DIGEST] == key
              and len(raw) >= _HEAD
              and _CRC.unpack_from(raw, len(MAGIC) + _DIGEST)[0] == zlib.crc32(payload))
        try:
            value = marshal.loads(payload) if ok else None
        except (ValueError, EOFError, TypeError):
            value = None
        return value if isinstance(value, dict) else False

    def archive_table(self, ar: ArArchive) -> None:
        """Give `ar` its decoded symbol table from the table's entry, or remember
        to write the entry if this link decodes or indexes the table (it is
        decoded for the entry then, at `flush`)."""
        identity = ar.table_identity()
        if identity is None:
            return
        import hashlib
        if self._fingerprint is None:
            self._fingerprint = _fingerprint()
        key = hashlib.sha256(self._fingerprint + b"archive symbol table\0" + identity).digest()
        value = self._read(key, TABLE)
        if isinstance(value, dict):
            try:
                if ar.restore_table(value.get("names"), value.get("members")):
                    self.tables_restored += 1
                    return
            except TypeError:       # a verified entry of an unexpected shape: decode
                pass

        def payload() -> dict[str, Any]:
            names, members = ar.decoded_table()
            return {"names": names, "members": members}
        self._tracked[key] = (payload, lambda: (int(ar.table_indexed),), (0,), TABLE)

    def reject(self) -> None:
        """A verified entry that still did not restore (counted, then rewritten)."""
        self.hits -= 1
        self.rejected += 1

    def track(self, key: bytes, payload: Callable[[], dict[str, Any]],
              progress: Callable[[], tuple[int, ...]], fresh: bool) -> None:
        """Remember an object for `flush`: `payload` makes its entry, `progress`
        says how much it knows (an entry is rewritten when that grew);
        `fresh` is True for an object read cold (always written)."""
        self._tracked[key] = (payload, progress, () if fresh else progress(), OBJECT)

    def flush(self) -> None:
        """Write every entry that is new or knows more than when it was read."""
        todo = [(k, make, suffix) for k, (make, progress, seen, suffix) in self._tracked.items()
                if progress() != seen]
        self._tracked.clear()
        if not todo:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError:
            return
        for key, make, suffix in todo:
            payload = marshal.dumps(make())
            if (self._write(key, MAGIC + key + _CRC.pack(zlib.crc32(payload)) + payload, suffix)
                    and suffix == OBJECT):
                self.written += 1

    def _write(self, key: bytes, data: bytes, suffix: str) -> bool:
        import tempfile     # only when writing: it costs a warm link's start-up 10 ms
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=suffix)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.path(key, suffix))
            return True
        except OSError:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return False
