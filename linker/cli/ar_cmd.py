"""`irld ar`: create or update an archive (`ar rcs`), or list one (`ar -t`).

    irld ar lib.a a.o b.o ...   add members; a member of the same name is replaced
    irld ar -t lib.a                list members and the symbols each defines

Members are named by their file's base name.  The archive is written
atomically; an existing archive that cannot be read is an error (it is never
silently overwritten).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from linker.diagnostics import Diagnostic, DiagnosticError
from linker.output import OutputSet, write_file_atomic
from linker.store.archive import Archive, archive_bytes, member_name, read_members, update_members
from linker.store.objfile import ObjectError
from linker.store.wasm_input import object_from_buffer


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ar", help="create, update or list an archive (.a)",
        description="Create or update an archive from object files (replacing members of "
                    "the same name), or list its members and symbols with -t.")
    p.add_argument("-t", "--list", action="store_true", help="list members and their symbols")
    p.add_argument("archive", help="the archive (.a)")
    p.add_argument("objects", nargs="*", help="object files (.o) to add or replace")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        if args.objects:
            raise DiagnosticError([Diagnostic.error("-t takes the archive only")])
        print(list_archive(Archive.open(args.archive)), end="")
        return 0
    create(args.archive, args.objects)
    return 0


def list_archive(ar: Archive) -> str:
    lines = []
    for i, m in enumerate(ar.members):
        lines.append(m.name)
        lines.extend(f"    {s}" for s in ar.member_symbols(i))
    return "".join(f"{line}\n" for line in lines)


def create(archive: str, objects: list[str]) -> None:
    """Add or replace `objects` in `archive`, creating it when missing."""
    # The archive is read and rewritten (`ar r`), but a member input may not be it.
    OutputSet(inputs=objects, outputs=[("archive", archive)])
    errors = []
    new: list[tuple[str, bytes]] = []
    for path in objects:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            object_from_buffer(data, 0, len(data), path)  # validate before writing
        except OSError as exc:
            errors.append(Diagnostic.error(f"cannot open: {exc.strerror or exc}", file=path))
            continue
        except ObjectError as exc:
            errors.append(Diagnostic.error(exc.reason, file=exc.file))
            continue
        new.append((member_name(path), data))
    existing: list[tuple[str, bytes]] = []
    if os.path.exists(archive):
        try:
            existing = list(read_members(Archive.open(archive)))
        except ObjectError as exc:
            errors.append(Diagnostic.error(exc.reason, file=exc.file))
    if errors:
        raise DiagnosticError(errors)
    write_file_atomic(archive, archive_bytes(update_members(existing, new)))
