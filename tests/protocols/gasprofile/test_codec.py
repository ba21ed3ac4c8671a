"""Detector registers ↔ snapshots: statuses are explicit, malformed polls are ProfileErrors, encode round-trips."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import ProfileError
from protocols.gasprofile import (
    DetectorDecoder,
    DetectorProfile,
    DetectorSnapshot,
    DeviceIdentity,
    DeviceStatus,
    GasReading,
    ReadBlock,
    ReadingStatus,
    blocks_from_image,
    codec,
    decode_detector,
    decode_identification,
    encode_detector,
    encode_identification,
    load_profile,
    parse_profile,
    read_plan,
)
from protocols.gasprofile.model import Span
from tests.protocols.gasprofile.helpers import profile_dict, with_change

GENERIC = load_profile("generic-4gas")
assert isinstance(GENERIC, DetectorProfile)
LIVE = ReadBlock(4, 0, 10)
STATIC = ReadBlock(3, 0, 44)
S = ReadingStatus


def live(status: int = 0, heartbeat: int = 1, values: tuple = (209, 0, 0, 0), statuses: tuple = (0, 0, 0, 0)
         ) -> dict[ReadBlock, list[int]]:
    return {LIVE: [status, heartbeat, *values, *statuses]}


def decode_live(**kwargs: Any) -> DetectorSnapshot:
    return decode_detector(GENERIC, live(**kwargs))


def statuses(snapshot: DetectorSnapshot) -> dict[str, tuple[float | None, str]]:
    return {r.gas: (r.value, str(r.status)) for r in snapshot.readings}


def test_clean_air_live_poll() -> None:
    snap = decode_live(heartbeat=42)
    assert snap.heartbeat == 42 and snap.status == DeviceStatus()
    assert statuses(snap) == {"O2": (20.9, "ok"), "LEL": (0.0, "ok"), "H2S": (0.0, "ok"), "CO": (0.0, "ok")}
    assert snap.reading("O2").unit == "%VOL" and snap.reading("H2S").unit == "ppm"
    assert snap.settings is None and snap.identity is None  # static registers were not read
    assert snap.calibration_due_on is None


def test_status_precedence() -> None:
    # Sentinel first: not-fitted wins over the fault bit.
    assert statuses(decode_live(values=(209, 0x8001, 0, 0), statuses=(0, 0x04, 0, 0)))["LEL"] == (
        None, "not_fitted")
    # Device fault: no value for anyone, even in warm-up.
    assert set(statuses(decode_live(status=0x03)).values()) == {(None, "fault")}
    # Warm-up wins over over-range, calibrating over range but not over warm-up.
    assert statuses(decode_live(values=(209, 0, 2000, 0), statuses=(0, 0, 0x08, 0)))["H2S"] == (200.0, "warmup")
    assert statuses(decode_live(values=(209, 0, 0, 50), statuses=(0, 0, 0, 0x28)))["CO"] == (50.0, "warmup")
    assert statuses(decode_live(values=(209, 0, 0, 50), statuses=(0, 0, 0, 0x20)))["CO"] == (50.0, "calibrating")


def test_range_edges_and_negative_values() -> None:
    # h2s: 0..100 ppm, zero band 1.0 ppm, ×10, int16.
    cases = {1000: (100.0, "ok"), 1001: (100.1, "over_range"), 0xFFF6: (-1.0, "ok"), 0xFFF5: (-1.1, "under_range"),
             0x7FFF: (None, "over_range"), 0x8000: (None, "fault"), 0x8002: (-3276.6, "under_range")}
    for word, expected in cases.items():
        assert statuses(decode_live(values=(209, 0, word, 0)))["H2S"] == expected, hex(word)


def test_alarm_flags_are_the_detectors_own() -> None:
    snap = decode_live(values=(180, 0, 250, 0), statuses=(0x01, 0, 0x03, 0x10))
    o2, h2s, co = snap.reading("O2"), snap.reading("H2S"), snap.reading("CO")
    assert (o2.alarm1, o2.alarm2, h2s.alarm1, h2s.alarm2, co.calibration_due) == (True, False, True, True, True)
    assert o2.status == h2s.status == S.OK  # alarm evaluation is the edge's job, not the decoder's


def _static(**overrides: Any) -> list[int]:
    words = [195, 235, 100, 200, 100, 150, 35, 200] + [20000] * 4 + [20100] * 4 + [0] * 28
    for index, word in overrides.items():
        words[int(index.removeprefix("w"))] = word
    return words


def test_settings_dates_and_set_points() -> None:
    snap = decode_detector(GENERIC, {**live(), STATIC: _static(w1=0x8000, w9=0, w13=0xFFFF)})
    assert snap.settings is not None
    o2, flammable = snap.settings[0], snap.settings[1]
    assert o2.alarm1 is not None and (o2.alarm1.value, o2.alarm1.direction) == (19.5, "falling")
    assert o2.alarm2 is None  # the fault sentinel in a set-point register means "not set"
    assert o2.calibrated_on == date(2024, 10, 4) and o2.calibration_due_on == date(2025, 4, 2)  # +180 days
    assert o2.bump_tested_on == date(2025, 1, 12) and o2.bump_due_on == date(2025, 2, 11)  # +30 days
    assert flammable.calibrated_on is None and flammable.calibration_due_on is None  # 0: never
    assert flammable.bump_tested_on is None  # 0xFFFF: never
    assert snap.calibration_due_on == date(2025, 4, 2) and snap.bump_due_on == date(2025, 2, 11)
    assert snap.identity == DeviceIdentity()  # blank text registers


def test_partially_read_static_registers_decode_as_not_read() -> None:
    snap = decode_detector(GENERIC, {**live(), ReadBlock(3, 0, 10): _static()[:10]})
    assert snap.settings is None and snap.identity is None


def _ymd_profile() -> DetectorProfile:
    data = profile_dict("generic-4gas")
    data["gases"]["CO"]["calibration"] = {"address": 44, "function": 3, "encoding": "ymd", "meaning": "due"}
    profile = parse_profile(data)
    assert isinstance(profile, DetectorProfile)
    return profile


def test_ymd_due_dates() -> None:
    profile = _ymd_profile()
    block = ReadBlock(3, 0, 47)
    snap = decode_detector(profile, {**live(), block: [*_static(), 2026, 2, 28]})
    assert snap.settings is not None
    assert (snap.settings[3].calibrated_on, snap.settings[3].calibration_due_on) == (None, date(2026, 2, 28))
    assert decode_detector(profile, {**live(), block: [*_static(), 0, 0, 0]}).settings[3].calibration_due_on is None
    with pytest.raises(ProfileError) as err:
        decode_detector(profile, {**live(), block: [*_static(), 2026, 2, 30]})
    assert (err.value.code, err.value.field) == ("bad_registers", "gases.CO.calibration")


def test_unsigned_profile_with_0xffff_sentinel() -> None:
    data = profile_dict("generic-4gas")
    data["gases"]["CO"].update(type="uint16", zero_band=0.0, sentinels=[{"word": 0xFFFF, "status": "not_fitted"}])
    profile = parse_profile(data)
    assert isinstance(profile, DetectorProfile)
    assert statuses(decode_detector(profile, live(values=(209, 0, 0, 0xFFFF))))["CO"] == (None, "not_fitted")
    assert statuses(decode_detector(profile, live(values=(209, 0, 0, 0xFFFE))))["CO"] == (65534.0, "over_range")
    assert statuses(decode_detector(profile, live(values=(209, 0, 0, 0x8000))))["CO"] == (32768.0, "over_range")


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ({LIVE: [0] * 9}, "should have 10"),
        ({LIVE: [0] * 9 + [65536]}, "16-bit"),
        ({LIVE: [0] * 9 + [-1]}, "16-bit"),
        ({LIVE: [0] * 9 + [True]}, "16-bit"),
        ({LIVE: [0] * 9 + [1.0]}, "16-bit"),
        ({LIVE: "0123456789"}, "not a sequence"),
        ({(5, 0, 10): [0] * 10}, "function 5"),
        ({(4, 0, 0): []}, "outside"),
        ({(4, 0, 126): [0] * 126}, "outside"),
        ({(4, 65530, 10): [0] * 10}, "outside"),
        ({(4, 0): [0] * 10}, "not a read block"),
        ({"live": [0] * 10}, "not a read block"),
        ({(4.0, 0, 10): [0] * 10}, "integers"),
        ({LIVE: [0] * 10, ReadBlock(4, 5, 2): [1, 1]}, "disagree"),
        ({ReadBlock(4, 0, 5): [0] * 5}, "not read"),
        ([(LIVE, [0] * 10)], "must map"),
    ],
)
def test_malformed_polls_are_profile_errors(blocks: Any, message: str) -> None:
    with pytest.raises(ProfileError, match=message) as err:
        decode_detector(GENERIC, blocks)
    assert err.value.code == "bad_registers"


def test_overlapping_blocks_that_agree_are_fine() -> None:
    blocks = {**live(heartbeat=9), ReadBlock(4, 1, 3): [9, 209, 0]}
    assert decode_detector(GENERIC, blocks).heartbeat == 9


def test_wrong_kind_of_profile() -> None:
    with pytest.raises(ProfileError) as err:
        decode_detector(load_profile("output-module"), live())  # type: ignore[arg-type]
    assert err.value.code == "wrong_profile"


def test_read_plan_merges_gaps_and_splits_at_the_read_limit() -> None:
    data = with_change("generic-4gas", "gases.CO.value", 12)  # input registers 0-4, 6-9, 12
    plan = [(b.function, b.address, b.count) for b in read_plan(parse_profile(data), include_static=False)]
    assert plan == [(4, 0, 5), (4, 6, 4), (4, 12, 1)]
    data["modbus"]["max_read_gap"] = 2
    assert [(b.address, b.count) for b in read_plan(parse_profile(data), include_static=False)] == [(0, 13)]
    small = parse_profile(with_change("generic-4gas", "modbus.max_read_count", 16))
    assert [(b.function, b.address, b.count) for b in read_plan(small)] == [
        (3, 0, 16), (3, 16, 16), (3, 32, 12), (4, 0, 10)]


# --- encoding -------------------------------------------------------------------------------------------------

def _snapshot(**readings: tuple[float | None, ReadingStatus]) -> DetectorSnapshot:
    values = {"O2": (20.9, S.OK), "LEL": (0.0, S.OK), "H2S": (0.0, S.OK), "CO": (0.0, S.OK), **readings}
    units = {"O2": "%VOL", "LEL": "%LEL", "H2S": "ppm", "CO": "ppm"}
    return DetectorSnapshot(profile="generic-4gas", status=DeviceStatus(), heartbeat=7,
                            readings=tuple(GasReading(g, units[g], v, s) for g, (v, s) in values.items()))


def _round_trip(snapshot: DetectorSnapshot, plan: tuple[ReadBlock, ...] = (LIVE,)) -> DetectorSnapshot:
    return decode_detector(GENERIC, blocks_from_image(plan, encode_detector(GENERIC, snapshot)))


def test_encode_writes_the_documented_words() -> None:
    image = encode_detector(GENERIC, _snapshot(H2S=(None, S.FAULT), CO=(1500.0, S.OVER_RANGE)))
    assert [image[4][a] for a in range(10)] == [0, 7, 209, 0, 0x8000, 1500, 0, 0, 0x04, 0]


def test_a_fault_may_carry_the_stale_number_a_faulty_detector_shows() -> None:
    image = encode_detector(GENERIC, _snapshot(H2S=(1.7, S.FAULT)))
    assert (image[4][4], image[4][8]) == (17, 0x04)  # the number stays in the value register, fault bit set
    assert statuses(decode_detector(GENERIC, blocks_from_image((LIVE,), image)))["H2S"] == (None, "fault")


def test_simulator_snapshot_round_trips() -> None:
    snap = _snapshot(O2=(18.04, S.OK), H2S=(-0.3, S.OK), LEL=(None, S.NOT_FITTED), CO=(None, S.OVER_RANGE))
    back = _round_trip(snap)
    assert statuses(back) == {"O2": (18.0, "ok"), "LEL": (None, "not_fitted"), "H2S": (-0.3, "ok"),
                              "CO": (None, "over_range")}


def test_full_snapshot_round_trips_with_settings_and_identity() -> None:
    blocks = {**live(status=0x04, values=(195, 12, 71, 3), statuses=(0x11, 0, 0x03, 0)), STATIC: _static()}
    snap = decode_detector(GENERIC, blocks)
    snap = dataclasses.replace(snap, identity=DeviceIdentity("SafeGrid Sim", "GD-4F", "SG0001", "1.0"))
    assert _round_trip(snap, (STATIC, LIVE)) == snap


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"H2S": (150.0, S.OK)}, "readings.H2S.status"),  # 150 ppm decodes as over_range
        ({"H2S": (5.0, S.NOT_FITTED)}, "readings.H2S.status"),  # not fitted has no value
        ({"H2S": (None, S.OK)}, "readings.H2S.value"),
        ({"H2S": (None, S.WARMUP)}, "readings.H2S.value"),
        ({"O2": (-3276.8, S.UNDER_RANGE)}, "readings.O2.value"),  # would be the fault sentinel 0x8000
        ({"CO": (40000.0, S.OVER_RANGE)}, "readings.CO.value"),  # does not fit int16
    ],
)
def test_encode_refuses_what_the_registers_cannot_say(change: dict, field: str) -> None:
    with pytest.raises(ProfileError) as err:
        encode_detector(GENERIC, _snapshot(**change))
    assert (err.value.code, err.value.field) == ("not_encodable", field)


def test_encode_refuses_inconsistent_snapshots() -> None:
    snap = _snapshot()
    bad = [
        (dataclasses.replace(snap, heartbeat=70000), "heartbeat"),
        (dataclasses.replace(snap, heartbeat=None), "heartbeat"),
        (dataclasses.replace(snap, readings=snap.readings[:3]), "readings"),
        (dataclasses.replace(snap, readings=(*snap.readings[:3], snap.readings[0])), "readings"),
        (dataclasses.replace(snap, readings=(dataclasses.replace(snap.readings[0], unit="ppm"), *snap.readings[1:])),
         "readings.O2.unit"),
        (dataclasses.replace(snap, identity=DeviceIdentity(vendor="Ünicode")), "identification.registers.vendor"),
        (dataclasses.replace(snap, identity=DeviceIdentity(serial="X" * 17)), "identification.registers.serial"),
    ]
    for snapshot, field in bad:
        with pytest.raises(ProfileError) as err:
            encode_detector(GENERIC, snapshot)
        assert (err.value.code, err.value.field) == ("not_encodable", field)


def test_encode_refuses_a_due_date_that_is_not_last_plus_interval() -> None:
    snap = decode_detector(GENERIC, {**live(), STATIC: _static()})
    assert snap.settings is not None
    settings_ = list(snap.settings)
    settings_[2] = dataclasses.replace(settings_[2], calibration_due_on=date(2030, 1, 1))
    with pytest.raises(ProfileError) as err:
        encode_detector(GENERIC, dataclasses.replace(snap, settings=tuple(settings_)))
    assert err.value.field == "settings.H2S.calibration"
    settings_[2] = dataclasses.replace(snap.settings[2], calibrated_on=date(1969, 12, 1), calibration_due_on=None)
    with pytest.raises(ProfileError):
        encode_detector(GENERIC, dataclasses.replace(snap, settings=tuple(settings_)))


def test_flags_without_a_status_register_cannot_be_encoded() -> None:
    profile = parse_profile(with_change("generic-4gas", "gases.CO.status", ...))
    assert isinstance(profile, DetectorProfile)
    snap = _snapshot()
    readings = (*snap.readings[:3], dataclasses.replace(snap.readings[3], alarm1=True))
    with pytest.raises(ProfileError) as err:
        encode_detector(profile, dataclasses.replace(snap, readings=readings))
    assert err.value.field == "readings.CO.status.alarm1"


# --- identification (function 43/14) --------------------------------------------------------------------------

def test_identification_objects() -> None:
    objects = {0x00: b"Acme  ", 0x01: "GD-4F", 0x02: b"2.1\x00", 0x80: b"SN42", 0x05: b"ignored"}
    identity = decode_identification(GENERIC, objects)
    assert identity == DeviceIdentity(vendor="Acme", model="GD-4F", serial="SN42", firmware="2.1")
    assert decode_identification(GENERIC, encode_identification(GENERIC, identity)) == identity
    assert decode_identification(GENERIC, {}) == DeviceIdentity()
    for bad in ({0x80: b"SN\x0142"}, {0x00: b"x" * 245}, {0x01: 17}, [(0, b"x")]):
        with pytest.raises(ProfileError) as err:
            decode_identification(GENERIC, bad)  # type: ignore[arg-type]
        assert err.value.code == "bad_registers"


# --- hypothesis -----------------------------------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16)


@st.composite
def register_images(draw: st.DrawFn, profile: DetectorProfile) -> dict[int, dict[int, int]]:
    """Any words a detector could hold for the profile: random, except identification text stays ASCII."""
    image: dict[int, dict[int, int]] = {}
    for span in profile.spans():
        words = _span_words(draw, span)
        image.setdefault(span.function, {}).update(zip(range(span.address, span.address + span.width), words,
                                                       strict=True))
    return image


def _span_words(draw: st.DrawFn, span: Span) -> list[int]:
    if span.role == "text":
        text = draw(printable.filter(lambda t: len(t) <= 2 * span.width)).rstrip(" ")
        raw = text.encode().ljust(2 * span.width, draw(st.sampled_from([b"\x00", b" "])))
        return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    if span.role == "date" and span.width == 3:
        when = draw(st.dates(date(1, 1, 1), date(9999, 12, 31)) | st.none())
        return [0, 0, 0] if when is None else [when.year, when.month, when.day]
    return [draw(st.integers(0, 0xFFFF) | st.sampled_from([0, 0x7FFF, 0x8000, 0x8001, 0xFFFF]))
            for _ in range(span.width)]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_decoded_snapshots_round_trip_exactly(data: st.DataObject) -> None:
    profile = data.draw(st.sampled_from([GENERIC, _ymd_profile()]))
    image = data.draw(register_images(profile))
    plan = read_plan(profile, include_static=data.draw(st.booleans()))
    snap = decode_detector(profile, blocks_from_image(plan, image))
    assert decode_detector(profile, blocks_from_image(plan, encode_detector(profile, snap))) == snap


values_in_range = {"O2": (0.0, 30.0), "LEL": (0.0, 100.0), "H2S": (0.0, 100.0), "CO": (0.0, 1000.0)}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({g: st.floats(lo, hi) for g, (lo, hi) in values_in_range.items()}),
       st.integers(0, 0xFFFF), st.lists(st.booleans(), min_size=3, max_size=3))
def test_in_range_values_survive_encoding_to_the_scale(values: dict[str, float], heartbeat: int,
                                                        flags: list[bool]) -> None:
    snap = dataclasses.replace(_snapshot(**{g: (v, S.OK) for g, v in values.items()}), heartbeat=heartbeat)
    snap = dataclasses.replace(snap, readings=tuple(
        dataclasses.replace(r, alarm1=flags[0], alarm2=flags[1], calibration_due=flags[2]) for r in snap.readings))
    back = _round_trip(snap)
    assert back.heartbeat == heartbeat
    for before, after in zip(snap.readings, back.readings, strict=True):
        scale = GENERIC.gases[before.gas].scale
        assert after.status == S.OK and after.value is not None and before.value is not None
        assert abs(after.value - before.value) <= 0.5 / scale + 1e-9
        assert (after.alarm1, after.alarm2, after.calibration_due) == tuple(flags)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_words_in_the_read_plan_decode_or_raise_profile_error(data: st.DataObject) -> None:
    plan = read_plan(GENERIC)
    blocks = {b: data.draw(st.lists(st.integers(0, 0xFFFF), min_size=b.count, max_size=b.count)) for b in plan}
    with contextlib.suppress(ProfileError):
        snap = decode_detector(GENERIC, blocks)
        assert all(r.value is not None or r.status in (S.FAULT, S.NOT_FITTED, S.OVER_RANGE, S.UNDER_RANGE)
                   for r in snap.readings)


wild = st.none() | st.booleans() | st.integers(-70000, 70000) | st.floats() | st.text(max_size=3)
block_keys = (st.builds(ReadBlock, st.integers(0, 6), st.integers(-2, 70000), st.integers(-1, 200))
              | st.tuples(wild, wild, wild) | wild)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(block_keys, st.lists(wild | st.integers(0, 0xFFFF), max_size=20) | wild, max_size=4))
def test_garbage_polls_raise_only_profile_error(blocks: Any) -> None:
    with contextlib.suppress(ProfileError):
        decode_detector(GENERIC, blocks)


def test_a_decoder_is_owned_by_its_poller_and_remembers_only_its_own_readings() -> None:
    """The plan and the memo of decoded readings live in a DetectorDecoder, not in module-wide caches: the same
    words give the very same reading object from one decoder, a separate (equal) one from another."""
    first, second = DetectorDecoder(GENERIC), DetectorDecoder(GENERIC)
    a, b = first.decode(live()), first.decode(live())
    assert a.readings[0] is b.readings[0]  # steady air: the memo hands back what it decoded
    other = second.decode(live())
    assert other == a and other.readings[0] is not a.readings[0]
    assert first.decode(live(values=(208, 0, 0, 0))).reading("O2").value == 20.8  # new words: decoded afresh
    assert [n for n, v in vars(codec).items() if isinstance(v, dict | set | list) and not n.startswith("__")] == []


def test_a_decoder_refuses_an_output_module_profile() -> None:
    with pytest.raises(ProfileError) as err:
        DetectorDecoder(load_profile("output-module"))  # type: ignore[arg-type]
    assert err.value.code == "wrong_profile"
