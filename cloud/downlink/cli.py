"""``safegrid-cloud downlink-mqtt``: the worker publishing queued signed commands to the gateways over MQTT, and
signed ``time`` commands to the gateways due one (``[downlink]`` settings) or asking for one in their status."""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from cloud.settings import CloudSettings

SettingsLoader = Callable[[argparse.Namespace], CloudSettings]


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_ca:
        return None
    context = ssl.create_default_context(cafile=args.tls_ca)
    if args.tls_cert:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def _run(args: argparse.Namespace, load: SettingsLoader) -> int:
    from cloud.db.engine import Database
    from cloud.db.migrate import ensure_migrated
    from cloud.downlink.mqtt import BrokerSettings, MqttPublisher
    from cloud.downlink.publisher import run_forever
    from cloud.downlink.timesync import ClockAsks, TimeSync
    from cloud.keys.service import KeyStore, install, keys_dir

    settings = load(args)
    keystore = install(KeyStore(keys_dir(settings.data_dir)))
    clock = lambda: datetime.now(UTC)  # noqa: E731
    database = Database.from_url(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms)
    stop = threading.Event()
    asks = ClockAsks(clock=clock)  # fed by the gateways' statuses; a new ask wakes the loop at once

    def on_term(*_: object) -> None:
        stop.set()
        asks.wake()

    signal.signal(signal.SIGTERM, on_term)
    try:
        ensure_migrated(database.engine, migrate=False)
        broker = BrokerSettings(host=args.broker_host, port=args.broker_port, tls=_tls(args),
                                client_id=args.client_id or f"safegrid-downlink-{os.getpid()}",
                                username=args.username, password=os.environ.get("SAFEGRID_MQTT_PASSWORD"))
        with MqttPublisher(broker, on_status=asks.status) as publisher:
            run_forever(database, publisher, clock=clock, interval_s=args.interval, stop=stop.is_set,
                        sync=TimeSync.from_settings(settings.downlink, clock=clock, keystore=keystore), asks=asks)
    except KeyboardInterrupt:
        pass
    finally:
        database.dispose()
    return 0


def add_downlink_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                          load: SettingsLoader) -> None:
    cmd = sub.add_parser("downlink-mqtt", parents=[common],
                         help="publish queued signed commands to the gateways' MQTT topics (run one or more)")
    cmd.add_argument("--broker-host", default="127.0.0.1")
    cmd.add_argument("--broker-port", type=int, default=1883)
    cmd.add_argument("--client-id", help="MQTT client id (default: per process)")
    cmd.add_argument("--username", help="MQTT user; the password comes from $SAFEGRID_MQTT_PASSWORD")
    cmd.add_argument("--tls-ca", help="CA file: connect with TLS")
    cmd.add_argument("--tls-cert", help="client certificate (with --tls-key)")
    cmd.add_argument("--tls-key")
    cmd.add_argument("--interval", type=float, default=1.0, help="seconds between queue polls")
    cmd.set_defaults(handler=lambda args: _run(args, load))
