"""``safegrid-cloud ingest-mqtt``: one ingest worker on the MQTT shared subscription (run as many as needed)."""

from __future__ import annotations

import argparse
import gc
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from cloud.settings import CloudSettings

SettingsLoader = Callable[[argparse.Namespace], CloudSettings]
log = structlog.get_logger(__name__)


def _with_broker(settings: CloudSettings, args: argparse.Namespace) -> CloudSettings:
    changes = {k: v for k, v in (("host", args.broker_host), ("port", args.broker_port)) if v is not None}
    if not changes:
        return settings
    mqtt = settings.ingest.mqtt.model_copy(update=changes)
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"mqtt": mqtt})})


def _run(args: argparse.Namespace, load: SettingsLoader) -> int:
    from cloud.db.engine import Database
    from cloud.db.migrate import ensure_migrated
    from cloud.ingest.mqtt_worker import Consumer, IngestWorker, default_client_id
    from cloud.keys.service import KeyStore, install, keys_dir
    from cloud.metadata import load_metadata
    from cloud.telemetry.factory import close_sink, open_sink

    load_metadata()  # every mapper's foreign keys resolve (an alert row references spaces, permits, ...)
    settings = _with_broker(load(args), args)
    keystore = install(KeyStore(keys_dir(settings.data_dir)))
    keystore.keyring()  # no keys, no signed acks: refuse to start rather than store batches nobody hears of
    database = Database.from_url(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms,
                                 pool_size=settings.database.pool_size)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sink = None
    consumer = None
    worker = None
    try:
        ensure_migrated(database.engine, migrate=False)
        sink = open_sink(settings.telemetry)
        consumer = Consumer(settings.ingest.mqtt, queue_size=settings.ingest.queue_size,
                            client_id=args.client_id or default_client_id(settings.ingest.mqtt.client_id_prefix))
        worker = IngestWorker(database, settings, sink=sink, keystore=keystore, consumer=consumer,
                              clock=lambda: datetime.now(UTC))
        # Everything allocated so far lives as long as the process: keep it out of the collector's full passes,
        # which otherwise walk it again and again while batches allocate their records.
        gc.freeze()
        consumer.start()
        log.info("ingest_worker_started", broker=f"{settings.ingest.mqtt.host}:{settings.ingest.mqtt.port}")
        worker.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        if consumer is not None:
            consumer.stop()
        if worker is not None:
            worker.close()
            log.info("ingest_worker_stopped", stored=worker.stored)
        if sink is not None:
            close_sink(sink)
        database.dispose()
    return 0


def add_ingest_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                        load: SettingsLoader) -> None:
    cmd = sub.add_parser("ingest-mqtt", parents=[common],
                         help="store gateway batches from the MQTT shared subscription, evaluate alert rules, "
                              "notify (run one or more)")
    cmd.add_argument("--broker-host", help="overrides ingest.mqtt.host")
    cmd.add_argument("--broker-port", type=int, help="overrides ingest.mqtt.port")
    cmd.add_argument("--client-id", help="MQTT client id (default: prefix-host-pid)")
    cmd.set_defaults(handler=lambda args: _run(args, load))
