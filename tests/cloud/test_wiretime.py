"""Protocol milliseconds: one exact conversion for the whole cloud."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud import wiretime
from cloud.downlink import service as downlink_service


def test_to_ms_is_exact_where_a_float_timestamp_rounds_up() -> None:
    at = datetime(2914, 8, 8, 3, 53, 5, 903999, tzinfo=UTC)  # float timestamp() * 1000 gives ...904
    assert wiretime.to_ms(at) == 29_808_705_185_903


def test_to_ms_drops_sub_millisecond_parts_and_round_trips() -> None:
    at = datetime(2026, 5, 4, 9, 0, 0, 123_999, tzinfo=UTC)
    assert wiretime.to_ms(at) == wiretime.to_ms(at.replace(microsecond=123_000))
    assert wiretime.from_ms(wiretime.to_ms(at)) == at - timedelta(microseconds=999)
    assert wiretime.from_ms(0) == datetime(1970, 1, 1, tzinfo=UTC)


def test_downlink_commands_use_the_same_conversion() -> None:
    assert downlink_service.to_ms is wiretime.to_ms
