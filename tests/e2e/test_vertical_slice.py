"""The first vertical slice, end to end, with real parts: the cloud served on SQLite, the edge daemon with the HTTP
uplink and HTTP command polling, the gas simulator on a serial line, the padlock simulator and the phone client each
on their own controller of the virtual radio (the flow itself: ``fwsim.stage.slice``).

A permit applied for and approved in the cloud is pushed to the gateway; the gateway's attestation reaches the
padlock over the radio; the phone fetches its token from the cloud and unlocks; an H2S spike raises an alarm that
appears as a cloud alert with the space's rescue card; the attendant acknowledges it in the cloud, which the
gateway refuses while the gas is present (``gas_present``) and the cloud shows the refusal on the alert (raised
again); once the gas is back in range the attendant acknowledges at the hatch; the entrant leaves, the
padlock is closed, the session closes — at the gateway and in the cloud's live view — and every record the gateway
made has been stored by the cloud (its outbox drains).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fwsim.stage.cloud import mqtt_workers, running_cloud
from fwsim.stage.field import GATEWAY, FieldSite
from fwsim.stage.slice import Slice, SliceResult, check_order


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_permit_to_closed_session_over_http(tmp_path: Path, serial_pty: Any, gas: Any,
                                                  ble_radio_tcp: Any) -> None:
    async with running_cloud(tmp_path / "cloud") as cloud:
        result = await Slice(cloud, tmp_path, serial_pty.a, gas, tuple(ble_radio_tcp.transports)).run()
    check_outcome(result)


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_permit_to_closed_session_over_mqtt(tmp_path: Path, serial_pty: Any, gas: Any, ble_radio_tcp: Any,
                                                  mosquitto: Any) -> None:
    """The same with the uplink and the downlink over the broker: the cloud's ingest and downlink workers."""
    async with running_cloud(tmp_path / "cloud") as cloud, mqtt_workers(cloud, mosquitto.host, mosquitto.port):
        uplink = lambda site: FieldSite.mqtt_uplink(site, mosquitto.host, mosquitto.port)  # noqa: E731
        result = await Slice(cloud, tmp_path, serial_pty.a, gas, tuple(ble_radio_tcp.transports),
                             uplink=uplink).run()
    check_outcome(result)


def check_outcome(result: SliceResult) -> None:
    assert result.permit["status"] == "approved"
    assert result.unlock_words.startswith("ok")
    # att1's acknowledgement in the cloud was refused (gas present), so the one that counts is the hatch's.
    assert result.alert["state"] == "resolved" and result.alert["acknowledged_by"] == f"gateway:{GATEWAY}:local_input"
    assert result.alert["refusal"] is None  # moved on since the refusal
    assert result.alert["rescue_card"]["rescue_equipment"] == ["三脚架"]
    milestones = check_order(result.records)
    assert len(milestones) == len(set(milestones))
    kinds = {kind for _seq, kind, _body in result.records}
    assert {"telemetry", "alarm", "session", "lock_audit", "event"} <= kinds
