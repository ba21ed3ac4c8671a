"""``python -m edge.ledger``: check or export a gateway's ledger file, for an operator or an auditor.

``verify PATH [--head SEQ:HASH ...]`` prints the verification as JSON and exits 0 when the chain is intact, 1 when
it breaks (the JSON says where). ``--head`` adds a head reported earlier (e.g. from the cloud's records), which
is what reveals a tail removed or rewritten. ``export PATH`` prints the entries as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from edge.ledger.chain import Head
from edge.ledger.store import Ledger


def _head(text: str) -> Head:
    seq, sep, digest = text.partition(":")
    try:
        head = Head(int(seq), bytes.fromhex(digest))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SEQ:HEXHASH, got {text!r}") from None
    if not sep or len(head.hash) != 32:
        raise argparse.ArgumentTypeError(f"expected SEQ:HEXHASH with a 32-byte hash, got {text!r}")
    return head


async def _verify(path: Path, heads: list[Head]) -> int:
    ledger = await Ledger.open(path)
    try:
        result = await ledger.verify(known_heads=heads)
    finally:
        await ledger.close()
    fault = result.fault
    print(json.dumps({"ok": result.ok, "checked": result.checked, "head": result.head.to_json(),
                      "anchor": ledger.anchor.to_json(),
                      "fault": None if fault is None else {"code": fault.code, "index": fault.index,
                                                           "seq": fault.seq, "message": fault.message}}))
    return 0 if result.ok else 1


async def _export(path: Path) -> int:
    ledger = await Ledger.open(path)
    try:
        for entry in await ledger.export():
            print(json.dumps(entry, sort_keys=True, ensure_ascii=False))
    finally:
        await ledger.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.ledger", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="check the hash chain; exit 1 and say where when it breaks")
    verify.add_argument("path", type=Path)
    verify.add_argument("--head", action="append", type=_head, default=[], metavar="SEQ:HASH",
                        help="a head reported earlier (repeatable)")
    export = sub.add_parser("export", help="print the entries as JSON lines")
    export.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if not args.path.is_file():
        parser.error(f"no ledger file at {args.path}")
    if args.command == "verify":
        return asyncio.run(_verify(args.path, args.head))
    return asyncio.run(_export(args.path))


if __name__ == "__main__":
    sys.exit(main())
