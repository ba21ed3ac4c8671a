"""The Prometheus text format: types, help, labels with escaping, values, callbacks, misuse refused."""

from __future__ import annotations

import math

import pytest

from edge.ops.metrics import Registry, escape_label_value, format_value


def test_render_counters_and_gauges_in_the_exposition_format() -> None:
    registry = Registry()
    polls = registry.counter("safegrid_polls_total", "Modbus poll cycles.", ["bus", "result"])
    backlog = registry.gauge("safegrid_outbox_records", "Records waiting for the cloud's ack.")
    polls.inc(bus="ttyUSB0", result="ok")
    polls.inc(2, bus="ttyUSB0", result="ok")
    polls.inc(bus="ttyUSB0", result="timeout")
    backlog.set(17)
    assert registry.render() == (
        "# HELP safegrid_polls_total Modbus poll cycles.\n"
        "# TYPE safegrid_polls_total counter\n"
        'safegrid_polls_total{bus="ttyUSB0",result="ok"} 3\n'
        'safegrid_polls_total{bus="ttyUSB0",result="timeout"} 1\n'
        "# HELP safegrid_outbox_records Records waiting for the cloud's ack.\n"
        "# TYPE safegrid_outbox_records gauge\n"
        "safegrid_outbox_records 17\n"
    )
    assert polls.value(bus="ttyUSB0", result="ok") == 3


def test_label_values_and_help_are_escaped() -> None:
    registry = Registry()
    gauge = registry.gauge("g", 'help with \\ and\nnewline', ["name"])
    gauge.set(1.5, name='a "quoted"\\path\nnext')
    text = registry.render()
    assert "# HELP g help with \\\\ and\\nnewline\n" in text
    assert 'g{name="a \\"quoted\\"\\\\path\\nnext"} 1.5\n' in text
    assert escape_label_value('x"y') == 'x\\"y'


def test_special_values() -> None:
    assert format_value(math.nan) == "NaN"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(2.0) == "2"
    assert format_value(0.25) == "0.25"


def test_callback_gauge_is_read_at_scrape_and_a_failing_one_gives_nan() -> None:
    registry = Registry()
    depth = {"n": 3}
    registry.gauge("queue_depth", "d").set_function(lambda: depth["n"])
    assert "queue_depth 3\n" in registry.render()
    depth["n"] = 5
    assert "queue_depth 5\n" in registry.render()
    registry.gauge("broken", "b").set_function(lambda: 1 / 0)
    assert "broken NaN\n" in registry.render()


def test_misuse_is_refused() -> None:
    registry = Registry()
    counter = registry.counter("c_total", "c", ["bus"])
    with pytest.raises(ValueError, match="already registered"):
        registry.gauge("c_total", "again")
    with pytest.raises(ValueError, match="cannot decrease"):
        counter.inc(-1, bus="x")
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(device="x")
    with pytest.raises(ValueError, match="invalid metric name"):
        registry.counter("1bad", "x")
    with pytest.raises(ValueError, match="invalid label name"):
        registry.counter("ok_total", "x", ["__reserved"])
    with pytest.raises(ValueError, match="has labels"):
        registry.gauge("lg", "x", ["a"]).set_function(lambda: 1.0)


def test_empty_registry_renders_nothing() -> None:
    assert Registry().render() == ""
