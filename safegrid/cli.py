"""Shared scaffolding for the components' command-line entry points (argparse + logging)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from safegrid import __version__
from safegrid.logging import configure_logging

Handler = Callable[[argparse.Namespace], int]


def build_parser(prog: str, description: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    parser.add_argument("--json-logs", action="store_true", default=None,
                        help="JSON log lines even on a terminal (default: JSON only when not a TTY)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser, sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    configure_logging(args.log_level, json=args.json_logs)
    return handler(args)
