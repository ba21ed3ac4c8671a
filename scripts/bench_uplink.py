"""Uplink benchmark: backlog drain from the outbox through MQTT to an acking receiver, beside raw limits.

Run with ``scripts/bench uplink [--records N]`` (default 100,000; ``--records 1000000`` for the goal figure of
the edge issue: >= 20,000 records/s). A private Mosquitto is started on a free loopback port. Printed beside the
drain rate, measured in the same run: the outbox's own read rate, and raw paho QoS 1 publishing of the same
batch bytes with no outbox, no sender and no application ack. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.downlink import CommandGate, CounterStore
from edge.outbox import Outbox
from edge.uplink import BatchConfig, MqttConfig, Sender, build_batch
from edge.uplink.mqtt import MqttUplink
from fwsim.rig.availability import find_binary
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.receiver import AckingReceiver
from protocols import crypto
from protocols.uplink import decode_envelope
from protocols.vectorgen import seeded_key
from safegrid.logging import configure_logging

GATEWAY = "gw-bench-1"
BODY = {"space_id": "space-1", "detector_id": "det-1",
        "gases": [{"gas": "O2", "value": 20.9, "unit": "%VOL"}, {"gas": "H2S", "value": 0.4, "unit": "ppm"},
                  {"gas": "CO", "value": 1.0, "unit": "ppm"}, {"gas": "LEL", "value": 0.0, "unit": "%LEL"}]}


async def fill(box: Outbox, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        box.append_nowait("telemetry", 1_767_225_600_000 + i, BODY)
        if i % 5000 == 4999:
            await box.flush()
    await box.flush()
    return n / (time.perf_counter() - start)


async def read_rate(box: Outbox, limit: int) -> tuple[float, list[bytes]]:
    """Records/s of the outbox's own reads (stored rows, as the sender reads them), and the first batches'
    bytes for the raw publishing run."""
    start = time.perf_counter()
    after, n = 0, 0
    payloads: list[bytes] = []
    while rows := await box.pending_rows(limit, after_seq=after):
        n += len(rows)
        after = rows[-1][1]
        if len(payloads) < 20:
            batch = build_batch(GATEWAY, box.epoch, 0, rows, max_records=limit, max_bytes=4 * 1024 * 1024)
            assert batch is not None
            payloads.append(batch.payload)
    return n / (time.perf_counter() - start), payloads


def decode_rate(payloads: list[bytes]) -> float:
    """Records/s the in-process receiver can decode (it shares this process and its GIL with the sender)."""
    start, n = time.perf_counter(), 0
    for payload in payloads:
        n += len(decode_envelope(payload).records)
    return n / (time.perf_counter() - start)


def raw_publish_rate(broker: MosquittoBroker, payloads: list[bytes], records: int, per_batch: int) -> float:
    """Records/s of plain paho QoS 1 publishing of the same batch bytes, until the broker acked all of them."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(64)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        connected.wait(10)
        batches = max(1, records // per_batch)
        start = time.perf_counter()
        infos = [client.publish("bench/raw", payloads[i % len(payloads)], qos=1) for i in range(batches)]
        for info in infos:
            info.wait_for_publish(60)
        return batches * per_batch / (time.perf_counter() - start)
    finally:
        client.disconnect()
        client.loop_stop()


async def drain(broker: MosquittoBroker, box: Outbox, workdir: Path, n: int, config: BatchConfig) -> float:
    key = seeded_key("bench-cloud")
    receiver = AckingReceiver(broker.host, broker.port, key, keep_records=False)
    receiver.start()
    store = await CounterStore.open(workdir / "downlink.db")
    gate = CommandGate(store, {crypto.key_id(key): key.public_key()}, gateway=GATEWAY)
    uplink = MqttUplink(MqttConfig(host=broker.host, port=broker.port, insecure=True), gateway=GATEWAY,
                        verify_ack=gate.verify_ack, epoch=box.epoch)
    sender = Sender(box, uplink, config)
    try:
        async with uplink:
            await asyncio.wait_for(uplink.wait_connected(), 10)
            start = time.perf_counter()
            sender.start()
            await sender.wait_acked(box.last_seq)
            elapsed = time.perf_counter() - start
            await sender.stop()
    finally:
        receiver.stop()
        await store.close()
    print(f"    batches {sender.batches_sent:,}, records sent {sender.records_sent:,}, duplicates at the receiver "
          f"{receiver.duplicates:,}, acks {receiver.acks_sent:,}, outbox left {box.count}")
    return n / elapsed


async def main_async(args: argparse.Namespace) -> None:
    binary = find_binary("mosquitto")
    if binary is None:
        sys.exit("mosquitto not found: install the Debian package `mosquitto`")
    config = BatchConfig(max_records=args.batch, max_linger_s=0, window=args.window, compress=args.gzip)
    with tempfile.TemporaryDirectory(prefix="bench-uplink-") as tmp:
        workdir = Path(tmp)
        broker = MosquittoBroker(binary, workdir)
        broker.start()
        try:
            box = await Outbox.open(workdir / "outbox.db", epoch=1, cap=args.records * 2)
            try:
                append = await fill(box, args.records)
                reads, payloads = await read_rate(box, args.batch)
                raw = raw_publish_rate(broker, payloads, args.records, args.batch)
                decode = decode_rate(payloads)
                print(f"uplink benchmark: {args.records:,} records, batches of {args.batch}, window {args.window}, "
                      f"gzip {'on' if args.gzip else 'off'} (this machine)")
                print(f"  outbox appends/s (filling the backlog):  {append:,.0f}")
                print(f"  raw outbox reads, records/s:              {reads:,.0f}")
                print(f"  raw paho QoS 1 publish, records/s:        {raw:,.0f}   ({len(payloads[0]):,} bytes a batch)")
                print(f"  receiver envelope decoding, records/s:    {decode:,.0f}   (the in-process cloud's limit)")
                rate = await drain(broker, box, workdir, args.records, config)
                print(f"  backlog drain to an acking receiver:      {rate:,.0f} records/s "
                      f"= {rate / min(reads, raw, decode):.0%} of the lowest raw limit (goal >= 20,000/s)")
            finally:
                await box.close()
        finally:
            broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=100_000, help="backlog size (default 100,000)")
    ap.add_argument("--batch", type=int, default=1000, help="records per batch (default 1000)")
    ap.add_argument("--window", type=int, default=8, help="batches in flight (default 8)")
    ap.add_argument("--gzip", action="store_true", help="compress batches")
    args = ap.parse_args()
    configure_logging("ERROR", json=False)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
