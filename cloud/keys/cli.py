"""``safegrid-cloud keys init | rotate | list``: the cloud's signing keys and device CA, made on the machine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from cloud.keys.service import init_keys, keys_dir, rotate
from cloud.keys.store import KeyFileError, keyring_path, read_key_file
from cloud.settings import CloudSettings

SettingsLoader = Callable[[argparse.Namespace], CloudSettings]


def _when(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _init(args: argparse.Namespace, load: SettingsLoader) -> int:
    directory = keys_dir(load(args).data_dir)
    keyring = init_keys(directory, now=datetime.now(UTC))
    print(f"created {keyring_path(directory)} (mode 600): issuer key {keyring.issuer.kid.hex()}, "
          f"command key {keyring.command.kid.hex()}, device CA")
    return 0


def _rotate(args: argparse.Namespace, load: SettingsLoader) -> int:
    keyring = rotate(keys_dir(load(args).data_dir), args.kind, now=datetime.now(UTC))
    current = keyring.issuer if args.kind == "issuer" else keyring.command
    print(f"new current {args.kind} key {current.kid.hex()}; the previous one stays trusted until its tokens "
          f"and commands expire")
    if args.kind == "issuer":
        print("push fresh trust lists to the gateways: POST /api/v1/gateways/{id}/trust-list")
    return 0


def _list(args: argparse.Namespace, load: SettingsLoader) -> int:
    content = read_key_file(keyring_path(keys_dir(load(args).data_dir)))
    print("kind     kid               created                    retired")
    for kind, keys in (("issuer", content.issuer), ("command", content.command)):
        for key in keys:
            print(f"{kind:<8} {key.kid.hex()}  {_when(key.created_at):<26} {_when(key.retired_at)}")
    return 0


def add_keys_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                      load: SettingsLoader) -> None:
    keys = sub.add_parser("keys", help="the cloud's signing keys and device CA (stored 0600 in data_dir/keys)")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    def handler(fn: Callable[[argparse.Namespace, SettingsLoader], int]) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            try:
                return fn(args, load)
            except KeyFileError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        return run

    keys_sub.add_parser("init", parents=[common], help="create the keys and the device CA (once)").set_defaults(
        handler=handler(_init))
    rot = keys_sub.add_parser("rotate", parents=[common], help="retire the current key of a kind and make a new one")
    rot.add_argument("kind", nargs="?", choices=("issuer", "command"), default="issuer")
    rot.set_defaults(handler=handler(_rotate))
    keys_sub.add_parser("list", parents=[common], help="list the keys (kid, created, retired)").set_defaults(
        handler=handler(_list))
