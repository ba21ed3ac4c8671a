"""``safegrid-cloud``: the cloud service's command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from safegrid.cli import build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser, _sub = build_parser("safegrid-cloud", "SafeGrid cloud service: API, ingestion, alerts.")
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
