"""``safegrid-provision``: the technician's provisioning command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from safegrid.cli import build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser, _sub = build_parser("safegrid-provision",
                                "Enrol SafeGrid gateways, padlocks and gas detectors (keys, certificates, config).")
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
