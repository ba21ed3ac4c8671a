"""``safegrid-sim``: run the device simulators."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from fwsim.gas.cli import add_commands as add_gas_commands
from fwsim.lock.cli import add_commands as add_lock_commands
from fwsim.phone.cli import add_commands as add_phone_commands
from safegrid.cli import build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser, sub = build_parser("safegrid-sim", "SafeGrid device simulators: BLE padlock, gas detectors, phone.")
    add_gas_commands(sub)
    add_lock_commands(sub)
    add_phone_commands(sub)
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
