"""The MQTT topic scheme: topics build and parse back; foreign, malformed and injecting names are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import topics
from protocols.errors import EnvelopeError


def test_topics_of_a_gateway() -> None:
    assert topics.uplink_topic("gw-1") == "safegrid/v1/gw/gw-1/up"
    assert topics.downlink_topic("gw-1") == "safegrid/v1/gw/gw-1/down"
    assert topics.ack_topic("gw-1") == "safegrid/v1/gw/gw-1/ack"
    assert topics.status_topic("gw-1") == "safegrid/v1/gw/gw-1/status"
    assert topics.gateway_subscriptions("gw-1") == ["safegrid/v1/gw/gw-1/down", "safegrid/v1/gw/gw-1/ack"]
    assert topics.INGEST_SHARED_SUBSCRIPTION == "$share/ingest/safegrid/v1/gw/+/up"
    assert topics.STATUS_SUBSCRIPTION == "safegrid/v1/gw/+/status"
    assert topics.QOS == 1


@pytest.mark.parametrize("channel", topics.CHANNELS)
def test_parse_inverts_build(channel: topics.TopicChannel) -> None:
    name = topics.topic("GW_07-a", channel)
    assert topics.parse_topic(name) == topics.Topic("GW_07-a", channel)
    assert topics.parse_topic(name.encode()) == topics.Topic("GW_07-a", channel)


@pytest.mark.parametrize("gateway", ["", "gw/1", "gw+", "gw#", "$SYS", "-gw", "gw 1", "gw.1", "g" * 65, "gw\n",
                                     "gw\x00", "gw\u00e9"])
def test_unsafe_gateway_ids_cannot_make_a_topic(gateway: str) -> None:
    with pytest.raises(EnvelopeError) as err:
        topics.uplink_topic(gateway)
    assert err.value.field == "gateway"


@pytest.mark.parametrize("name", [
    "", "safegrid/v1/gw", "safegrid/v1/gw/gw-1", "safegrid/v1/gw/gw-1/up/extra", "safegrid/v2/gw/gw-1/up",
    "other/v1/gw/gw-1/up", "safegrid/v1/gw/+/up", "safegrid/v1/gw/#", "safegrid/v1/gw/gw-1/UP",
    "$share/ingest/safegrid/v1/gw/gw-1/up", "/safegrid/v1/gw/gw-1/up", "safegrid/v1/gw//up",
    "safegrid/v1/gw/gw-1/cmd", b"safegrid/v1/gw/\xff/up", "safegrid/v1/gw/" + "g" * 300 + "/up",
])
def test_foreign_or_malformed_topics_are_refused(name: str | bytes) -> None:
    with pytest.raises(EnvelopeError):
        topics.parse_topic(name)


def test_unknown_channel_cannot_be_built() -> None:
    with pytest.raises(EnvelopeError):
        topics.topic("gw-1", "cmd")  # type: ignore[arg-type]


@given(st.text(max_size=80) | st.binary(max_size=80))
def test_parse_any_name_gives_a_topic_that_rebuilds_or_an_envelope_error(name: str | bytes) -> None:
    try:
        parsed = topics.parse_topic(name)
    except EnvelopeError:
        return
    text = name.decode() if isinstance(name, bytes) else name
    assert topics.topic(parsed.gateway, parsed.channel) == text
