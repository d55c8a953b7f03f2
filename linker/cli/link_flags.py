"""The link flags that decide what is live, shared by `irld link` and the report commands."""

from __future__ import annotations

import argparse
from typing import Any

from linker.conventions import TailCallMode


def add_liveness_flags(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--entry/--no-entry, --export, --root, --allow-undefined, -L, -l, --tail-calls, --lto."""
    entry = p.add_mutually_exclusive_group()
    entry.add_argument("--entry", metavar="NAME", default="main",
                       help="entry symbol (default: main)")
    entry.add_argument("--no-entry", action="store_true", help="link without an entry symbol")
    p.add_argument("--export", metavar="NAME", action="append", default=[],
                   help="export symbol NAME (and keep it)")
    p.add_argument("--root", metavar="NAME", action="append", default=[],
                   help="keep symbol NAME alive")
    p.add_argument("--allow-undefined", action="store_true",
                   help="undefined functions become host imports from \"env\"")
    p.add_argument("-L", dest="library_paths", metavar="DIR", action="append", default=[],
                   help="directory to search for -l libraries")
    p.add_argument("-l", dest="libraries", metavar="NAME", action="append", default=[],
                   help="link libNAME.a (or NAME.a) from the -L directories")
    p.add_argument("--tail-calls", choices=[m.value for m in TailCallMode], default="native",
                   help="native: return_call (Wasm 3.0); trampoline: a driver loop "
                        "for engines without tail calls (default: native)")
    p.add_argument("--lto", action="store_true",
                   help="link-time optimization: whole-program passes on the live IR "
                        "(the report shows what became of each entity)")


def liveness_options(args: argparse.Namespace) -> dict[str, Any]:
    """The LinkOptions fields that `add_liveness_flags` sets."""
    return {
        "entry": None if args.no_entry else args.entry,
        "exports": tuple(args.export), "roots": tuple(args.root),
        "allow_undefined": args.allow_undefined,
        "library_paths": tuple(args.library_paths), "libraries": tuple(args.libraries),
        "tail_calls": TailCallMode(args.tail_calls),
        "lto": args.lto,
    }
