"""``safegrid-cloud``: the cloud service's command line (serve, migrate, users …)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from cloud.devices.enrolment import certificate_revocation_list
from cloud.downlink.cli import add_downlink_commands
from cloud.ingest.cli import add_ingest_commands
from cloud.keys.cli import add_keys_commands
from cloud.settings import CONFIG_PATH_ENV, CloudSettings, load_settings
from safegrid.cli import build_parser, run
from safegrid.config import ConfigError


def _settings(args: argparse.Namespace) -> CloudSettings:
    return load_settings(args.config or os.environ.get(CONFIG_PATH_ENV) or None)


def _serve(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from cloud.alerts.worker import rules_worker_alongside
    from cloud.http.tls import uvicorn_tls_options

    settings = _settings(args)
    if args.config:
        os.environ[CONFIG_PATH_ENV] = str(args.config)  # worker processes build their app from it
    # [api.tls]: HTTPS, and with client_ca_file gateways' client certificates (cloud.http.tls)
    tls = uvicorn_tls_options(settings.api.tls, config_path=args.config or os.environ.get(CONFIG_PATH_ENV))
    # X-Forwarded-For names the client (the login throttle counts per address) only on a connection from a
    # configured load balancer; without any, uvicorn's own default (trust 127.0.0.1) is turned off too.
    proxies = settings.api.trusted_proxies
    # uvicorn hands a SIGTERM/SIGINT it caught back to the handler it found once it has shut down: with this
    # one (do nothing) uvicorn.run returns, the rules worker stops and gives up its lease, and serve exits 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    with rules_worker_alongside(settings, enabled=settings.alerts.worker_in_serve and not args.no_rules_worker):
        uvicorn.run("cloud.app:create_app_from_env", factory=True, host=args.host or settings.api.host,
                    port=args.port or settings.api.port, workers=args.workers or settings.api.workers,
                    log_level=args.log_level.lower(), proxy_headers=bool(proxies),
                    forwarded_allow_ips=",".join(proxies) if proxies else None, **tls)
    return 0


def _rules_worker(args: argparse.Namespace) -> int:
    import signal
    import threading
    from datetime import UTC, datetime

    from cloud.alerts.worker import run_worker

    settings = _settings(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_worker(settings, stop, clock=lambda: datetime.now(UTC))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from cloud.db.engine import make_engine
    from cloud.db.migrate import upgrade

    settings = _settings(args)
    engine = make_engine(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms)
    try:
        revisions = upgrade(engine)
    finally:
        engine.dispose()
    print(f"database at revision {', '.join(sorted(revisions))}")
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


def _create_admin(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from cloud.auth.passwords import Passwords
    from cloud.auth.roles import Role, ScopeKind
    from cloud.auth.schemas import UserCreate
    from cloud.auth.users_service import create_user
    from cloud.db.engine import Database
    from cloud.db.migrate import ensure_migrated
    from cloud.errors import CloudError

    settings = _settings(args)
    database = Database.from_url(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms)
    try:
        ensure_migrated(database.engine, migrate=False)
        data = UserCreate(username=args.username, display_name=args.display_name or args.username,
                          password=_read_password(), role=Role.CITY_ADMIN,
                          scope={"kind": ScopeKind.CITY, "id": None})
        with database.session(write=True) as db:
            user = create_user(db, actor=None, data=data, passwords=Passwords(settings.auth), now=datetime.now(UTC))
            db.commit()
            print(f"created city administrator {user.username} (id {user.id})")
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"error: {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return 1
    except CloudError as exc:
        print(f"error: {exc.field + ': ' if exc.field else ''}{exc.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser, sub = build_parser("safegrid-cloud", "SafeGrid cloud service: API, ingestion, alerts.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help=f"TOML settings file (default: ${CONFIG_PATH_ENV}, else built-in defaults)")

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="worker processes (default: api.workers)")
    serve.add_argument("--no-rules-worker", action="store_true",
                       help="do not run the alert rules and notification worker beside the API (run "
                            "`safegrid-cloud rules-worker` separately; alerts.worker_in_serve = false does the same)")
    serve.set_defaults(handler=_serve)

    rules = sub.add_parser("rules-worker", parents=[common],
                           help="run the alert rules and notification worker on its own (at scale; serve runs one "
                                "by default); any number may run, one works at a time")
    rules.set_defaults(handler=_rules_worker)

    migrate = sub.add_parser("migrate", parents=[common], help="bring the database schema to the current version")
    migrate.set_defaults(handler=_migrate)

    add_keys_commands(sub, common, _settings, crl=certificate_revocation_list)
    add_downlink_commands(sub, common, _settings)
    add_ingest_commands(sub, common, _settings)

    users = sub.add_parser("users", help="manage users from the machine")
    users_sub = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    admin = users_sub.add_parser("create-admin", parents=[common],
                                 help="create a city administrator; the password is read from stdin or a prompt")
    admin.add_argument("--username", required=True)
    admin.add_argument("--display-name")
    admin.set_defaults(handler=_create_admin)
    try:
        return run(parser, argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
