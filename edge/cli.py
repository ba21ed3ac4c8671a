"""``safegrid-edge``: the gateway daemon's command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from safegrid.cli import build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser, _sub = build_parser("safegrid-edge", "SafeGrid edge gateway daemon (gas, padlocks, permits, outbox).")
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
