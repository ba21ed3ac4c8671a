"""``safegrid-sim phone key|unlock``: the worker's phone — show its key, unlock a padlock with a permit token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fwsim.phone.errors import LinkError, LinkLost, PhoneError, TokenUnavailable
from fwsim.phone.keys import load_or_create_worker_key, public_key_hex
from fwsim.phone.link import Central
from fwsim.phone.phone import SCAN_TIMEOUT_S, Phone
from fwsim.phone.session import UnlockOutcome
from fwsim.phone.tokens import TokenFile
from protocols import crypto
from protocols.padlock.gatt import LOCK_ID_LEN, MAX_ATT_MTU, PREFERRED_ATT_MTU

DEFAULT_KEY = Path.home() / ".safegrid" / "worker.key"
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``phone`` to ``safegrid-sim``'s subcommands."""
    phone = sub.add_parser("phone", help="the worker's phone: holder key and unlocking a padlock",
                           description="The reference phone client: holds the worker's key (made on first use, "
                                       "stored 0600) and unlocks a padlock with a permit token.")
    actions = phone.add_subparsers(dest="action", metavar="ACTION", required=True)
    key = actions.add_parser("key", help="print the worker's public key (to enrol with the cloud)")
    key.add_argument("--key", type=Path, default=DEFAULT_KEY, help="worker key file (default ~/.safegrid/worker.key)")
    key.set_defaults(handler=run_key)

    unlock = actions.add_parser("unlock", help="find a padlock by its lock id and unlock it",
                                description="Scan for the padlock advertising LOCK_ID, connect, run challenge → "
                                            "unlock with the token and the worker key, print the result in words. "
                                            "Exit 0 opened, 1 refused, 2 usage or token problem, 3 lock unreachable.")
    unlock.add_argument("--lock-id", required=True, help="the padlock's 8-byte id, hex")
    unlock.add_argument("--token", required=True, type=Path, help="the permit token file (raw or hex). The cloud "
                                                                  "fetch replaces this once its endpoint exists")
    unlock.add_argument("--key", type=Path, default=DEFAULT_KEY, help="worker key file (default "
                                                                      "~/.safegrid/worker.key)")
    radio = unlock.add_mutually_exclusive_group(required=True)
    radio.add_argument("--hci", metavar="SPEC", help="bumble HCI transport, e.g. tcp-client:127.0.0.1:PORT from "
                                                     "`safegrid-sim radio`")
    radio.add_argument("--bleak", action="store_true", help="real Bluetooth hardware through bleak (BlueZ)")
    unlock.add_argument("--adapter", help="with --bleak: the adapter, e.g. hci0")
    unlock.add_argument("--scan-timeout", type=float, default=SCAN_TIMEOUT_S, metavar="S",
                        help=f"give up scanning after S seconds (default {SCAN_TIMEOUT_S:g})")
    unlock.add_argument("--mtu", type=int, default=PREFERRED_ATT_MTU,
                        help=f"ATT MTU to ask for, 23..{MAX_ATT_MTU} (default {PREFERRED_ATT_MTU}; bumble only)")
    unlock.set_defaults(handler=run_unlock)


def run_key(args: argparse.Namespace) -> int:
    try:
        key = load_or_create_worker_key(args.key)
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(f"worker public key {public_key_hex(key)} (kid {crypto.key_id(key).hex()})")
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    try:
        lock_id = bytes.fromhex(args.lock_id)
        if len(lock_id) != LOCK_ID_LEN:
            raise ValueError
    except ValueError:
        print(f"--lock-id: {LOCK_ID_LEN} bytes in hex, not {args.lock_id!r}", file=sys.stderr)
        return EXIT_USAGE
    if not 23 <= args.mtu <= MAX_ATT_MTU:
        print(f"--mtu: 23..{MAX_ATT_MTU}", file=sys.stderr)
        return EXIT_USAGE
    try:
        key = load_or_create_worker_key(args.key)
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        outcome = asyncio.run(_unlock(args, lock_id, key))
    except TokenUnavailable as exc:
        print(f"no permit token: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (LinkError, PhoneError) as exc:
        print(f"padlock {lock_id.hex()} unreachable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"padlock {lock_id.hex()}: {outcome.in_words()}")
    return 0 if outcome.ok else EXIT_REFUSED


async def _unlock(args: argparse.Namespace, lock_id: bytes, key: Ed25519PrivateKey) -> UnlockOutcome:
    tokens = TokenFile(args.token)
    await tokens.token_for(lock_id)  # no usable token: say so before touching the radio
    async with _central(args) as central:
        return await Phone(central, key, tokens).unlock(lock_id, scan_timeout_s=args.scan_timeout, mtu=args.mtu)


@contextlib.asynccontextmanager
async def _central(args: argparse.Namespace) -> AsyncIterator[Central]:
    if args.bleak:
        from fwsim.phone.bleak_central import BleakCentral

        yield BleakCentral(args.adapter)
        return
    from fwsim.lock.radio import hci_device
    from fwsim.phone.bumble_central import BumbleCentral

    async with contextlib.AsyncExitStack() as stack:
        try:
            device = await stack.enter_async_context(hci_device(args.hci, "SafeGrid phone"))  # fresh random address
            await device.power_on()
        except Exception as exc:  # bad spec, nobody listening, a radio that went away: the phone has no radio
            raise LinkLost(f"cannot use the radio {args.hci}: {exc}") from exc
        yield BumbleCentral(device)
