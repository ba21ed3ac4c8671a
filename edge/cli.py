"""``safegrid-edge``: the gateway daemon's command line.

    safegrid-edge run --config /etc/safegrid/edge.toml
    safegrid-edge check-config --config edge.toml

Exit codes: 0 stopped cleanly, 1 a critical part failed (systemd restarts the daemon), 2 the configuration
is wrong (the message names the file and the key).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from safegrid.cli import build_parser, run
from safegrid.config import ConfigError

if TYPE_CHECKING:
    from edge.config import EdgeConfig


def _load(path: str) -> EdgeConfig | None:
    from edge.config import load_edge_config

    try:
        return load_edge_config(path)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    from edge.preflight import check_files

    config = _load(args.config)
    if config is None:
        return 2
    findings = check_files(config)
    for finding in findings:
        what = "配置错误 / configuration error" if finding.error else "警告 / warning"
        print(f"{what}: {args.config}: {finding}", file=sys.stderr)
    if any(f.error for f in findings):
        return 2
    print(f"{args.config}: ok — gateway {config.gateway.id}, {len(config.spaces)} space(s), "
          f"{len(config.detectors)} detector(s), {len(config.output_modules)} output module(s), "
          f"{len(config.padlocks)} padlock(s), uplink {config.uplink.backend.value if config.uplink else 'none'}")
    return 0


async def _run(config: EdgeConfig) -> int:
    from edge.daemon import Daemon
    from edge.errors import EdgeError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    daemon = Daemon(config)
    try:
        await daemon.start()
    except EdgeError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        await daemon.stop()
        return 2
    try:
        return await daemon.run(stop)
    finally:
        await daemon.stop()


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    return asyncio.run(_run(config))


def main(argv: Sequence[str] | None = None) -> int:
    parser, sub = build_parser("safegrid-edge", "SafeGrid edge gateway daemon (gas, padlocks, permits, outbox).")
    run_cmd = sub.add_parser("run", help="run the gateway daemon", description="Poll the gas detectors, enforce "
                             "permits and timers, raise alarms and keep every record until the cloud has it.")
    run_cmd.add_argument("--config", required=True, help="edge.toml (see config/edge.example.toml)")
    run_cmd.set_defaults(handler=cmd_run)
    check = sub.add_parser("check-config", help="validate a configuration file and the files it names, and exit",
                           description="Validate edge.toml and open every file the daemon will open (the "
                           "gateway key, the state directory, TLS files, the device token); an error names the "
                           "file and the key.")
    check.add_argument("--config", required=True)
    check.set_defaults(handler=cmd_check_config)
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
