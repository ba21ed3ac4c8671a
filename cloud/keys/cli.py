"""``safegrid-cloud keys init | rotate | list | export-ca | export-crl``: the cloud's signing keys and device CA,
made on the machine, and the two public files a broker or TLS terminator needs (no need to read the keyring)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cloud.errors import CloudError
from cloud.keys.service import Keyring, init_keys, keys_dir, rotate
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


PUBLIC_MODE = 0o644  # a certificate and a CRL are public; the broker's own user must read them


def write_public_file(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it over: a reader (a broker reloading) sees old or new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.chmod(PUBLIC_MODE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _output(args: argparse.Namespace, data: bytes, what: str) -> int:
    if args.out is None or args.out == "-":
        sys.stdout.buffer.write(data)
        return 0
    try:
        write_public_file(Path(args.out), data)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {what} to {args.out}", file=sys.stderr)
    return 0


def _export_ca(args: argparse.Namespace, load: SettingsLoader) -> int:
    keyring = Keyring(read_key_file(keyring_path(keys_dir(load(args).data_dir))))
    return _output(args, keyring.ca_cert_pem, "the device CA certificate / 设备 CA 证书")


#: Builds the device CA's signed CRL from the device registry (``cloud.devices.enrolment``): handed in by the
#: composition root, since the registry of devices depends on the keys and not the other way round.
CrlBuilder = Callable[..., bytes]


def _export_crl(args: argparse.Namespace, load: SettingsLoader, *, certificate_revocation_list: CrlBuilder) -> int:
    from cloud.db.engine import Database
    from cloud.db.migrate import ensure_migrated

    settings = load(args)
    keyring = Keyring(read_key_file(keyring_path(keys_dir(settings.data_dir))))
    database = Database.from_url(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms)
    try:
        ensure_migrated(database.engine, migrate=False)
        with database.session(write=False) as db:
            crl = certificate_revocation_list(db, keyring=keyring, now=datetime.now(UTC))
    finally:
        database.dispose()
    return _output(args, crl, "the device CA's revocation list / 设备证书吊销列表 (valid one day: refresh hourly)")


def add_keys_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                      load: SettingsLoader, *, crl: CrlBuilder) -> None:
    keys = sub.add_parser("keys", help="the cloud's signing keys and device CA (stored 0600 in data_dir/keys)")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    def handler(fn: Callable[[argparse.Namespace, SettingsLoader], int]) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            try:
                return fn(args, load)
            except KeyFileError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            except CloudError as exc:  # e.g. export-crl on a database that is not migrated
                print(f"error: {exc.message}", file=sys.stderr)
                return 1
        return run

    keys_sub.add_parser("init", parents=[common], help="create the keys and the device CA (once)").set_defaults(
        handler=handler(_init))
    rot = keys_sub.add_parser("rotate", parents=[common], help="retire the current key of a kind and make a new one")
    rot.add_argument("kind", nargs="?", choices=("issuer", "command"), default="issuer")
    rot.set_defaults(handler=handler(_rotate))
    keys_sub.add_parser("list", parents=[common], help="list the keys (kid, created, retired)").set_defaults(
        handler=handler(_list))
    export_ca = keys_sub.add_parser("export-ca", parents=[common],
                                    help="write the device CA certificate (PEM): the broker's cafile, the API's "
                                         "client_ca_file")
    export_ca.add_argument("--out", help="file to write (mode 644, replaced atomically); default stdout")
    export_ca.set_defaults(handler=handler(_export_ca))
    export_crl = keys_sub.add_parser("export-crl", parents=[common],
                                     help="write the device CA's certificate revocation list (PEM, valid one day): "
                                          "the broker's crlfile")
    export_crl.add_argument("--out", help="file to write (mode 644, replaced atomically); default stdout")
    export_crl.set_defaults(handler=handler(functools.partial(_export_crl, certificate_revocation_list=crl)))
