"""Cloud benchmark: ingest readings/s through the HTTP and MQTT doors beside the raw database insert of the same
rows, and API latency under a steady load of mixed reads. Prints figures; asserts nothing.

Run with ``scripts/bench cloud`` (SQLite in a temp dir) or ``scripts/bench cloud --postgres URL`` (an EMPTY
scratch database: the benchmark migrates it and fills it). A private Mosquitto is started for the MQTT door.

- raw: the same rows into a table shaped like ``readings`` (same key and indexes) — ``executemany`` on SQLite,
  ``COPY`` on PostgreSQL — one transaction per batch, as the ingest path commits;
- HTTP: ``safegrid-cloud serve`` (1 worker on SQLite, 2 on PostgreSQL; ``--api-workers``), gateways posting
  batches concurrently, one at a time each;
- MQTT: ``safegrid-cloud ingest-mqtt`` workers on the shared subscription, batches published at QoS 1, timed
  until every stream's watermark reaches its last seq (the acks are published after each commit);
- API: an open-loop load generator on loopback sending mixed authenticated reads at a fixed rate; latency is
  measured from each request's scheduled start (so a stalled server cannot hide its queue). Beside it: CPU per
  request of the API server's processes (and of PostgreSQL with ``--postgres local``) from /proc, and the load
  average — on a shared machine the tail follows the load, the CPU per request hardly does.

A reading is one gas value: a telemetry record of the benchmark carries 4 (O2, H2S, CO, LEL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import MetaData, Table, quoted_name, select
from sqlalchemy.engine import make_url

from cloud.db.engine import Database
from cloud.db.migrate import upgrade
from cloud.devices.models import Gateway, GatewayStatus
from cloud.devices.tokenauth import new_device_token
from cloud.ingest.models import IngestStream
from cloud.keys.service import init_keys, keys_dir
from cloud.settings import CloudSettings
from cloud.telemetry.models import Reading
from fwsim.rig.availability import find_binary
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.world import PASSWORD, seed_world
from protocols import topics
from protocols.uplink import encode_envelope, make_envelope

T0_MS = 1_777_885_200_000
GASES = [("O2", 20.9, "%VOL"), ("H2S", 0.4, "ppm"), ("CO", 1.0, "ppm"), ("LEL", 0.0, "%LEL")]
API_PATHS = ["/api/v1/alerts?limit=20", "/api/v1/live/sessions", "/api/v1/confined-spaces",
             "/api/v1/enterprises?limit=20", "/api/v1/alerts/feed?limit=20", "/healthz"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exe() -> str:
    return str(Path(sys.executable).parent / "safegrid-cloud")


# -- data ----------------------------------------------------------------------------------------------------


def records(first: int, count: int) -> list[dict[str, Any]]:
    """Telemetry of space SP1, with one gas alarm per batch (so the API has alerts to read)."""
    out: list[dict[str, Any]] = []
    for seq in range(first, first + count):
        if seq == first:
            out.append({"seq": seq, "kind": "alarm", "at_ms": T0_MS + seq, "body": {
                "alarm_id": f"a{seq}", "state": "raised", "cause": "gas_level1", "level": 1, "space_id": "SP1"}})
            continue
        out.append({"seq": seq, "kind": "telemetry", "at_ms": T0_MS + seq, "body": {
            "space_id": "SP1", "detector_id": "GD-SP1",
            "gases": [{"gas": g, "value": v + (seq % 7) / 10, "unit": u} for g, v, u in GASES]}})
    return out


def payloads(gateway: str, batches: int, size: int) -> list[bytes]:
    return [encode_envelope(make_envelope(gateway, 1, T0_MS, records(1 + i * size, size))) for i in range(batches)]


def readings_of(batches: int, size: int) -> int:
    return batches * (size - 1) * len(GASES)


def raw_rows(batches: int, size: int, enterprise_id: int) -> list[list[tuple[Any, ...]]]:
    at = datetime.fromtimestamp(T0_MS / 1000, UTC).replace(tzinfo=None)
    out = []
    for i in range(batches):
        rows = []
        for seq in range(2 + i * size, 1 + (i + 1) * size):
            for channel, (gas, value, unit) in enumerate(GASES):
                rows.append(("gw-raw", 1, seq, channel, enterprise_id, 1, "SP1", "GD-SP1", gas, value, unit, None, at))
        out.append(rows)
    return out


# -- setup ---------------------------------------------------------------------------------------------------


def setup(db_url: str, data_dir: Path, gateways: list[str]) -> tuple[Database, dict[str, str], int]:
    settings = CloudSettings.model_validate({"data_dir": str(data_dir), "database": {"url": db_url},
                                             "auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1,
                                                      "argon2_parallelism": 1}})
    database = Database.from_url(db_url)
    upgrade(database.engine)
    now = datetime.now(UTC)
    world = seed_world(database, settings, now=now)
    init_keys(keys_dir(data_dir), now=now)
    tokens = {}
    with database.session(write=True) as db:
        for name in gateways:
            gw = Gateway(id=name, enterprise_id=world["E1"], name=name, status=GatewayStatus.ACTIVE, epoch=1,
                         created_at=now, updated_at=now)
            db.add(gw)
            db.flush()
            tokens[name] = new_device_token(db, gateway=gw, now=now)
        db.commit()
    return database, tokens, world["E1"]


def write_config(path: Path, *, data_dir: Path, db_url: str, broker: tuple[str, int] | None) -> Path:
    text = (f'data_dir = "{data_dir}"\n[database]\nurl = "{db_url}"\npool_size = 10\n'
            "[auth]\nargon2_memory_kib = 1024\nargon2_time_cost = 1\nargon2_parallelism = 1\n"
            "[api]\nmax_body_bytes = 1048576\n[alerts]\nrules_interval_s = 3600\nmqtt_notify = false\n")
    if broker:
        text += f'[ingest.mqtt]\nhost = "{broker[0]}"\nport = {broker[1]}\n'
    path.write_text(text)
    return path


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(poll_s)


# -- measurements --------------------------------------------------------------------------------------------


def raw_insert(db_url: str, database: Database, batches: list[list[tuple[Any, ...]]]) -> float:
    source = Reading.__table__
    assert isinstance(source, Table)  # a mapped class's table (typed as any FromClause)
    table = source.to_metadata(MetaData(), name="bench_raw_readings")
    table.primary_key.name = quoted_name("pk_bench_raw_readings", None)  # index and constraint names are per schema
    for index in table.indexes:
        index.name = quoted_name(f"bench_{index.name}", None)
    table.create(database.engine)
    cols = [c.name for c in table.columns]
    n = sum(len(b) for b in batches)
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", isolation_level=None)
        conn.execute("PRAGMA synchronous = NORMAL")
        sql = f"INSERT INTO bench_raw_readings ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        start = time.perf_counter()
        for rows in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return n / elapsed
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as pg:
        start = time.perf_counter()
        for rows in batches:
            with pg.cursor() as cur, cur.copy(f"COPY bench_raw_readings ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            pg.commit()
        return n / (time.perf_counter() - start)


def watermarks(database: Database) -> dict[str, int]:
    with database.session(write=False) as db:
        return {g: w for g, w in db.execute(select(IngestStream.gateway_id, IngestStream.watermark)).all()}


def http_ingest(base: str, tokens: dict[str, str], batches: dict[str, list[bytes]]) -> float:
    errors: list[str] = []

    def gateway(name: str) -> None:
        with httpx.Client(base_url=base, timeout=60,
                          headers={"Authorization": f"Bearer {tokens[name]}",
                                   "Content-Type": "application/json"}) as client:
            for body in batches[name]:
                r = client.post(f"/api/v1/gateways/{name}/batches", content=body)
                if r.status_code != 200:
                    errors.append(f"{name}: HTTP {r.status_code} {r.text[:200]}")
                    return

    threads = [threading.Thread(target=gateway, args=(name,)) for name in batches]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit("HTTP ingest failed: " + "; ".join(errors))
    return elapsed


def wait_for_ingest_subscription(broker: MosquittoBroker, gateway: str, timeout_s: float) -> None:
    """Ask for ``gateway``'s current ack (an envelope without records) until an ingest worker answers: published
    before a worker has subscribed, a batch is dropped by the broker (no subscriber) and the run would wait for
    ever — which is what a fixed sleep did on a loaded machine."""
    acked = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=paho.MQTTv5)
    client.on_message = lambda _c, _u, _m: acked.set()
    client.connect(broker.host, broker.port)
    client.subscribe(topics.ack_topic(gateway), qos=1)
    client.loop_start()
    try:
        probe = encode_envelope(make_envelope(gateway, 1, T0_MS, []))
        deadline = time.monotonic() + timeout_s
        while not acked.wait(0.5):
            if time.monotonic() > deadline:
                raise SystemExit(f"no ingest worker answered within {timeout_s:.0f} s (see its log)")
            client.publish(topics.uplink_topic(gateway), probe, qos=1)
    finally:
        client.disconnect()
        client.loop_stop()


def mqtt_ingest(broker: MosquittoBroker, database: Database, batches: dict[str, list[bytes]],
                targets: dict[str, int]) -> float:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-gateways", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(100)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        start = time.perf_counter()
        infos = [client.publish(topics.uplink_topic(name), b[i], qos=1)
                 for i in range(max(len(b) for b in batches.values()))
                 for name, b in batches.items() if i < len(b)]
        for info in infos:
            info.wait_for_publish(60)
        wait_until(lambda: all(watermarks(database).get(g, 0) >= t for g, t in targets.items()), 600,
                   "the MQTT batches to be stored")
        return time.perf_counter() - start
    finally:
        client.disconnect()
        client.loop_stop()


#: Per path: seconds from sending a request to its answer (no queueing in the generator), for the slowest-path line.
SERVICE_TIMES: dict[str, list[float]] = {}


async def api_load(host: str, port: int, token: str, rate: float, seconds: float,
                   connections: int = 32) -> tuple[list[float], int, float]:
    """Open-loop load: request i is due at start + i / rate whatever happened before; keep-alive connections
    take due requests in turn. A bare HTTP/1.1 client on asyncio streams, so the generator spends little of the
    CPU it shares with the server."""
    total = int(rate * seconds)
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (job := await due.get()) is not None:
                i, scheduled = job
                path = API_PATHS[i % len(API_PATHS)]
                sent = loop.time()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                             f"Authorization: Bearer {token}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
                latencies.append(loop.time() - scheduled)
                SERVICE_TIMES.setdefault(path, []).append(loop.time() - sent)
                if status != 200:
                    errors += 1
        finally:
            writer.close()
            await writer.wait_closed()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    begin = loop.time() + 0.2
    for i in range(total):
        scheduled = begin + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        due.put_nowait((i, scheduled))
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, errors, total / (loop.time() - begin)


def settle(database: Database) -> float:
    """Let the database catch up with the burst the doors just wrote (hundreds of thousands of rows in seconds,
    where a city sends about a thousand a second) before latency is measured: statistics for the planner and
    the dirty pages written out — what autovacuum and the checkpointer would do anyway, done before the clock
    starts instead of in the middle of the measured load. Returns the seconds it took."""
    start = time.perf_counter()
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
        return time.perf_counter() - start
    # On the driver connection, outside any transaction: the engine opens one at the first statement (it takes
    # BEGIN over, see cloud.db.engine), and a checkpoint inside a transaction fails with "database table is
    # locked" — the crash this benchmark had on a fresh clone.
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("ANALYZE")
        busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:  # a reader (the API server's) kept it from finishing: not an error, the next one will
            print("  (the WAL checkpoint was not complete: a reader was active)")
        cursor.close()
    finally:
        raw.close()
    return time.perf_counter() - start


def process_tree(root: int) -> set[int]:
    """``root`` and every live process below it (uvicorn's worker processes, PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                # the command name (field 2) may hold spaces: the fields after its closing parenthesis are fixed
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(roots: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each live process of the trees under ``roots`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for root in roots:
        for pid in process_tree(root):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15)
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two :func:`cpu_seconds` readings by the processes alive at the end (one that
    started meanwhile counts from zero)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- main ----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=200_000, help="gas values per door (default 200,000)")
    parser.add_argument("--batch", type=int, default=2000, help="records per batch (default 2000, the maximum)")
    parser.add_argument("--gateways", type=int, default=2, help="concurrent gateways per door (default 2)")
    parser.add_argument("--ingest-workers", type=int, default=1, help="MQTT ingest worker processes (default 1)")
    parser.add_argument("--api-workers", type=int, default=None,
                        help="uvicorn workers of serve (default: 1 on SQLite — one writer process, as docs/scale.md "
                             "advises, since SQLite serializes writers and handing its lock between processes costs "
                             "more than a second process gains — and 2 on PostgreSQL)")
    parser.add_argument("--rate", type=float, default=200.0, help="API requests per second (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="API load duration (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of the same API load before the measured run (default 2)")
    parser.add_argument("--postgres", metavar="URL",
                        help="an EMPTY scratch database: postgresql+psycopg://…, or `local` for a private, durable "
                             "(fsync on) PostgreSQL cluster started from this machine's server binaries")
    args = parser.parse_args()
    args.postmaster = None  # the local cluster's, when --postgres local: its CPU is measured too
    try:
        if args.postgres == "local":
            with local_postgres() as (url, postmaster):
                args.postgres = url
                args.postmaster = postmaster
                run(args)
        else:
            run(args)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise SystemExit(f"bench cloud FAILED: {exc.code}") from None
        raise
    except Exception as exc:  # a crash is a failed benchmark: say why, exit non-zero (the traceback above)
        import traceback

        traceback.print_exc()
        raise SystemExit(f"bench cloud FAILED: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def local_postgres() -> Iterator[tuple[str, int | None]]:
    """A throwaway cluster with fsync on (the test rig's, which turns durability off for speed otherwise)."""
    from fwsim.rig.availability import find_postgres_bindir
    from fwsim.rig.postgres import PostgresCluster

    bindir = find_postgres_bindir()
    if bindir is None:
        raise SystemExit("--postgres local: PostgreSQL server binaries not found (Debian package `postgresql`)")
    cluster = PostgresCluster(bindir, durable=True)
    cluster.start()
    try:
        yield cluster.create_database(), cluster.postmaster_pid()
    finally:
        cluster.stop()


def run(args: argparse.Namespace) -> None:

    size = args.batch
    per_gateway = max(1, args.readings // (args.gateways * (size - 1) * len(GASES)))
    http_gws = [f"gw-http-{i}" for i in range(args.gateways)]
    mqtt_gws = [f"gw-mqtt-{i}" for i in range(args.gateways)]
    with tempfile.TemporaryDirectory(prefix="safegrid-bench-") as tmp:
        work = Path(tmp)
        db_url = args.postgres or f"sqlite:///{work / 'cloud.db'}"
        backend = make_url(db_url).get_backend_name()
        if args.api_workers is None:
            args.api_workers = 2 if backend == "postgresql" else 1
        print(f"database: {backend}; {per_gateway} batches of {size} records × {args.gateways} gateways per door "
              f"= {readings_of(per_gateway, size) * args.gateways:,} readings")
        database, tokens, enterprise_id = setup(db_url, work / "data", http_gws + mqtt_gws)
        try:
            rows = raw_rows(per_gateway * args.gateways, size, enterprise_id)
            raw_rate = raw_insert(db_url, database, rows)
            print(f"raw {'COPY' if backend == 'postgresql' else 'executemany'}: {raw_rate:,.0f} readings/s")

            broker = None
            if find_binary("mosquitto"):
                broker = MosquittoBroker(find_binary("mosquitto") or "mosquitto", work)
                broker.start()
            config = write_config(work / "cloud.toml", data_dir=work / "data", db_url=db_url,
                                  broker=(broker.host, broker.port) if broker else None)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            serve_log = (work / "serve.log").open("wb")
            server = subprocess.Popen([exe(), "--log-level", "WARNING", "serve", "--config", str(config), "--port",
                                       str(port), "--workers", str(args.api_workers)], env=child_env(),
                                      stdout=subprocess.DEVNULL, stderr=serve_log)
            workers: list[subprocess.Popen[bytes]] = []
            try:
                try:
                    wait_until(lambda: _healthy(base, server), 60, "the API server")
                except SystemExit:
                    serve_log.flush()
                    print((work / "serve.log").read_text()[-3000:], file=sys.stderr)
                    raise
                http_batches = {g: payloads(g, per_gateway, size) for g in http_gws}
                try:
                    elapsed = http_ingest(base, tokens, http_batches)
                except SystemExit:
                    serve_log.flush()
                    print((work / "serve.log").read_text()[-3000:], file=sys.stderr)
                    raise
                n = readings_of(per_gateway, size) * args.gateways
                print(f"HTTP ingest: {n / elapsed:,.0f} readings/s ({n:,} in {elapsed:.2f} s; "
                      f"{args.api_workers} API workers) — {n / elapsed / raw_rate:.2f} × raw")

                if broker is None:
                    print("MQTT ingest: skipped (mosquitto not installed)")
                else:
                    for i in range(args.ingest_workers):
                        log = (work / f"ingest-{i}.log").open("wb")
                        workers.append(subprocess.Popen([exe(), "--json-logs", "--log-level", "WARNING",
                                                         "ingest-mqtt", "--config", str(config)], env=child_env(),
                                                        stdout=subprocess.DEVNULL, stderr=log))
                    wait_for_ingest_subscription(broker, mqtt_gws[0], 120)
                    mqtt_batches = {g: payloads(g, per_gateway, size) for g in mqtt_gws}
                    elapsed = mqtt_ingest(broker, database, mqtt_batches, dict.fromkeys(mqtt_gws, per_gateway * size))
                    print(f"MQTT ingest: {n / elapsed:,.0f} readings/s ({n:,} in {elapsed:.2f} s; "
                          f"{args.ingest_workers} ingest worker(s)) — {n / elapsed / raw_rate:.2f} × raw")

                print(f"database settled after the ingest burst (ANALYZE, checkpoint) in {settle(database):.1f} s")
                token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD},
                                   timeout=30).json()["access_token"]
                for path in API_PATHS:
                    httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
                # Warm up every worker, not just the one that took the requests above: a short run of the same
                # load opens each worker's pooled connections and fills its statement and principal caches.
                # Its figures are printed apart, so a cold start is seen but does not stand for steady state.
                warm, _errors, _rate = asyncio.run(api_load("127.0.0.1", port, token, args.rate, args.warmup))
                warm_ms = [x * 1000 for x in warm] or [float("nan")]  # --warmup 0: nothing to show
                print(f"API warm-up ({args.warmup:g} s at {args.rate:.0f} req/s, not counted): "
                      f"p50 {statistics.median(warm_ms):.1f} ms, p99 {percentile(warm_ms, 99):.1f} ms, "
                      f"max {max(warm_ms):.1f} ms")
                SERVICE_TIMES.clear()  # the measured run's only
                # CPU of the API server (all its workers) and, for a local cluster, of PostgreSQL: unlike latency,
                # it hardly depends on what else the machine is doing, so it is the figure to compare across runs.
                load_before = os.getloadavg()
                api_cpu = cpu_seconds([server.pid])
                db_cpu = cpu_seconds([args.postmaster]) if args.postmaster else {}
                latencies, errors, achieved = asyncio.run(api_load("127.0.0.1", port, token, args.rate,
                                                                   args.seconds))
                api_ms = cpu_used(api_cpu, cpu_seconds([server.pid])) * 1000 / max(1, len(latencies))
                db_ms = cpu_used(db_cpu, cpu_seconds([args.postmaster])) * 1000 / max(1, len(latencies)) \
                    if args.postmaster else None
                ms = [x * 1000 for x in latencies]
                print(f"API mixed reads at {args.rate:.0f} req/s for {args.seconds:.0f} s (achieved {achieved:.0f}/s, "
                      f"{errors} errors): p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
                      f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms; CPU per request: API {api_ms:.2f} ms"
                      + (f", PostgreSQL {db_ms:.2f} ms" if db_ms is not None else "")
                      + f"; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
                print("  service time p99 by path: " + ", ".join(
                    f"{path.split('?')[0]} {percentile(times, 99) * 1000:.1f} ms"
                    for path, times in sorted(SERVICE_TIMES.items(), key=lambda kv: -percentile(kv[1], 99))))
                if errors:
                    raise SystemExit(f"{errors} API requests failed during the measured run")
            finally:
                for w in workers:
                    stop(w)
                stop(server)
                serve_log.close()
                if broker is not None:
                    broker.stop()
        finally:
            database.dispose()


def _healthy(base: str, server: subprocess.Popen[bytes]) -> bool:
    if server.poll() is not None:
        raise SystemExit("the API server exited")
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
