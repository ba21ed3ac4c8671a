"""Choose the uplink backend from config. Each backend is imported only when chosen (paho or httpx need not be
installed for the other)."""

from __future__ import annotations

from collections.abc import Callable

from edge.uplink.base import AckVerifier, Uplink
from edge.uplink.config import UplinkConfig, UplinkKind


def open_uplink(config: UplinkConfig, *, gateway: str, epoch: int, verify_ack: AckVerifier,
                last_down_counter: Callable[[], int], software: str | None = None,
                clock_trusted: Callable[[], bool] | None = None,
                time_request: Callable[[], str] | None = None) -> Uplink:
    """The configured backend, not yet started (``async with`` it, or call ``start``). ``clock_trusted`` tells
    whether the gateway trusts its wall clock: while it does not, either backend asks the cloud for a signed
    ``time`` command (HTTP: a flag on the command poll; MQTT: ``clock_trusted`` in the status). ``time_request``
    makes a fresh time request for the cloud to echo (HTTP: on each poll; MQTT: in each online status), so a time
    command's delivery is measured (uplink spec §5.5)."""
    if config.backend is UplinkKind.MQTT:
        from edge.uplink.mqtt import MqttUplink

        assert config.mqtt is not None  # guaranteed by UplinkConfig's validator
        return MqttUplink(config.mqtt, gateway=gateway, verify_ack=verify_ack, epoch=epoch, software=software,
                          clock_trusted=clock_trusted, time_request=time_request)
    from edge.uplink.http import HttpUplink

    assert config.http is not None
    return HttpUplink(config.http, gateway=gateway, last_down_counter=last_down_counter,
                      clock_trusted=clock_trusted, time_request=time_request)
