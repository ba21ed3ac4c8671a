"""Gas-detector registers ↔ :class:`DetectorSnapshot`, as a profile describes them.

``decode_detector`` is what the edge runs on every poll; ``encode_detector`` is what the simulators serve. The
encoder refuses a snapshot the registers cannot express (a flag without a status bit, a status that the value
and flags would not decode to), so for every snapshot it accepts, decoding its registers gives it back with each
value rounded to the register's scale. One exception, for simulating a faulty sensor: a ``fault`` reading with a
value writes that stale number to the value register beside the fault bit; it decodes as fault with no value.

Status of a reading, first rule that applies: a sentinel word (fault, not fitted, over/under range: no value);
the sensor's or the device's fault bit (fault: no value); warm-up, then calibrating (value kept but not to be
trusted); beyond the measuring range (over/under range: value kept); otherwise ok.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile.identification import identity_from_registers, identity_to_registers
from protocols.gasprofile.model import DateRef, DetectorProfile, GasChannel, SensorStatusBits, SetPointRef
from protocols.gasprofile.readings import (
    DetectorSnapshot,
    DeviceStatus,
    GasReading,
    GasSettings,
    ReadingStatus,
    SetPoint,
)
from protocols.gasprofile.registers import (
    Image,
    Registers,
    decode_date,
    encode_date,
    image_from_blocks,
    to_signed,
)

NO_BITS = SensorStatusBits()


def _flag(word: int, bit: int | None) -> bool:
    return bit is not None and bool(word >> bit & 1)


def _not_encodable(message: str, field: str) -> ProfileError:
    return ProfileError(message, code="not_encodable", field=field)


def _require_detector(profile: Any) -> DetectorProfile:
    if not isinstance(profile, DetectorProfile):
        raise ProfileError("not a gas-detector profile", code="wrong_profile", field="profile.kind")
    return profile


def classify(gas: GasChannel, word: int, *, fault: bool, warmup: bool, calibrating: bool
             ) -> tuple[float | None, ReadingStatus]:
    """The value and status a value-register word stands for, given the fault/warm-up/calibrating flags."""
    for sentinel in gas.sentinels:
        if sentinel.word == word:
            return None, ReadingStatus(sentinel.status)
    if fault:
        return None, ReadingStatus.FAULT
    raw = to_signed(word) if gas.type == "int16" else word
    value = raw / gas.scale
    low, high = gas.raw_limits
    if warmup:
        return value, ReadingStatus.WARMUP
    if calibrating:
        return value, ReadingStatus.CALIBRATING
    if raw > high:
        return value, ReadingStatus.OVER_RANGE
    if raw < low:
        return value, ReadingStatus.UNDER_RANGE
    return value, ReadingStatus.OK


def decode_detector(profile: DetectorProfile, blocks: Mapping[Any, Sequence[int]]) -> DetectorSnapshot:
    """Decode one poll: ``blocks`` maps each read (see ``read_plan``) to its words.

    Live registers (status, heartbeat, values) must all be present; set-points/dates and identification are
    decoded when all of theirs were read, else left ``None``. Anything malformed raises ``ProfileError``.
    """
    profile = _require_detector(profile)
    regs = Registers(image_from_blocks(blocks))
    status = _device_status(profile, regs)
    heartbeat = None
    if profile.device.heartbeat is not None:
        ref = profile.device.heartbeat
        heartbeat = regs.words(profile.function_of(ref), ref.address, 1, "device.heartbeat")[0]
    readings = tuple(_reading(profile, name, gas, regs, status) for name, gas in profile.gases.items())
    return DetectorSnapshot(profile=profile.id, status=status, heartbeat=heartbeat, readings=readings,
                            settings=_settings(profile, regs), identity=identity_from_registers(profile, regs))


def _device_status(profile: DetectorProfile, regs: Registers) -> DeviceStatus:
    ref = profile.device.status
    if ref is None:
        return DeviceStatus()
    word = regs.words(profile.function_of(ref), ref.address, 1, "device.status")[0]
    bits = profile.device.status_bits
    return DeviceStatus(fault=_flag(word, bits.fault), warmup=_flag(word, bits.warmup),
                        calibration_due=_flag(word, bits.calibration_due))


def _reading(profile: DetectorProfile, name: str, gas: GasChannel, regs: Registers, device: DeviceStatus
             ) -> GasReading:
    key = f"gases.{name}"
    word = regs.words(profile.function_of(gas.value), gas.value.address, 1, f"{key}.value")[0]
    status_word, bits = 0, NO_BITS
    if gas.status is not None:
        status_word = regs.words(profile.function_of(gas.status), gas.status.address, 1, f"{key}.status")[0]
        bits = profile.sensor_status_bits
    value, status = classify(gas, word, fault=_flag(status_word, bits.fault) or device.fault,
                             warmup=_flag(status_word, bits.warmup) or device.warmup,
                             calibrating=_flag(status_word, bits.calibrating))
    return GasReading(gas=name, unit=gas.unit, value=value, status=status,
                      alarm1=_flag(status_word, bits.alarm1), alarm2=_flag(status_word, bits.alarm2),
                      calibration_due=_flag(status_word, bits.calibration_due))


def _settings_refs(gas: GasChannel) -> list[SetPointRef | DateRef]:
    return [r for r in (gas.alarm1, gas.alarm2, gas.calibration, gas.bump_test) if r is not None]


def _settings(profile: DetectorProfile, regs: Registers) -> tuple[GasSettings, ...] | None:
    refs = [r for g in profile.gases.values() for r in _settings_refs(g)]
    width = {id(r): r.width if isinstance(r, DateRef) else 1 for r in refs}
    if not refs or not all(regs.has(profile.function_of(r), r.address, width[id(r)]) for r in refs):
        return None
    return tuple(_gas_settings(profile, name, gas, regs) for name, gas in profile.gases.items())


def _gas_settings(profile: DetectorProfile, name: str, gas: GasChannel, regs: Registers) -> GasSettings:
    key = f"gases.{name}"

    def set_point(ref: SetPointRef | None, field: str) -> SetPoint | None:
        if ref is None:
            return None
        word = regs.words(profile.function_of(ref), ref.address, 1, f"{key}.{field}")[0]
        if any(s.word == word for s in gas.sentinels):
            return None  # a sentinel word in a set-point register: not set
        raw = to_signed(word) if gas.type == "int16" else word
        return SetPoint(raw / gas.scale, ref.direction)

    def dates(ref: DateRef | None, field: str, interval: int | None) -> tuple[date | None, date | None]:
        if ref is None:
            return None, None
        words = regs.words(profile.function_of(ref), ref.address, ref.width, f"{key}.{field}")
        when = decode_date(words, ref.encoding, f"{key}.{field}")
        if ref.meaning == "due":
            return None, when
        return when, (when + timedelta(days=interval) if when and interval else None)

    maint = profile.maintenance
    calibrated, calibration_due = dates(gas.calibration, "calibration", maint.calibration_interval_days)
    bumped, bump_due = dates(gas.bump_test, "bump_test", maint.bump_interval_days)
    return GasSettings(gas=name, unit=gas.unit, alarm1=set_point(gas.alarm1, "alarm1"),
                       alarm2=set_point(gas.alarm2, "alarm2"), calibrated_on=calibrated,
                       calibration_due_on=calibration_due, bump_tested_on=bumped, bump_due_on=bump_due)


# --- encoding (simulators) ---------------------------------------------------------------------------------


def encode_detector(profile: DetectorProfile, snapshot: DetectorSnapshot) -> Image:
    """The registers (function → address → word) a detector in ``snapshot``'s state serves."""
    profile = _require_detector(profile)
    image: Image = {}

    def put(ref: Any, words: list[int]) -> None:
        table = image.setdefault(profile.function_of(ref), {})
        table.update(zip(range(ref.address, ref.address + len(words)), words, strict=True))

    device = snapshot.status
    if profile.device.status is not None:
        put(profile.device.status, [_bits(asdict(device), profile.device.status_bits, "status")])
    elif device != DeviceStatus():
        raise _not_encodable("the profile has no device status register", "status")
    if profile.device.heartbeat is not None:
        if not isinstance(snapshot.heartbeat, int) or not 0 <= snapshot.heartbeat <= 0xFFFF:
            raise _not_encodable(f"heartbeat must be 0..65535, not {snapshot.heartbeat!r}", "heartbeat")
        put(profile.device.heartbeat, [snapshot.heartbeat])
    elif snapshot.heartbeat is not None:
        raise _not_encodable("the profile has no heartbeat register", "heartbeat")

    readings = _by_gas(profile, snapshot.readings, "readings")
    for name, gas in profile.gases.items():
        value_word, status_word = _encode_reading(profile, name, gas, readings[name], device)
        put(gas.value, [value_word])
        if gas.status is not None:
            put(gas.status, [status_word])
    if snapshot.settings is not None:
        settings = _by_gas(profile, snapshot.settings, "settings")
        for name, gas in profile.gases.items():
            _encode_settings(profile, name, gas, settings[name], put)
    if snapshot.identity is not None:
        identity_to_registers(profile, snapshot.identity, image)
    return image


def _bits(flags: Mapping[str, bool], bits: Any, key: str) -> int:
    word = 0
    for name, on in flags.items():
        if not on:
            continue
        bit = getattr(bits, name)
        if bit is None:
            raise _not_encodable(f"{name} is set but the profile has no bit for it", f"{key}.{name}")
        word |= 1 << bit
    return word


def _by_gas(profile: DetectorProfile, items: Sequence[Any], key: str) -> dict[str, Any]:
    out = {item.gas: item for item in items}
    if len(out) != len(items) or set(out) != set(profile.gases):
        raise _not_encodable(f"need exactly one per gas {sorted(profile.gases)}, got {[i.gas for i in items]}", key)
    for name, item in out.items():
        if item.unit != profile.gases[name].unit:
            raise _not_encodable(f"unit {item.unit!r}, the profile says {profile.gases[name].unit!r}",
                                 f"{key}.{name}.unit")
    return out


def _value_word(gas: GasChannel, value: float, key: str) -> int:
    raw = round(value * gas.scale)
    low, high = gas.type_limits
    if not low <= raw <= high:
        raise _not_encodable(f"{value} × {gas.scale} does not fit {gas.type}", key)
    word = raw & 0xFFFF
    if any(s.word == word for s in gas.sentinels):
        raise _not_encodable(f"{value} encodes to the sentinel word {word:#06x}", key)
    return word


def _encode_reading(profile: DetectorProfile, name: str, gas: GasChannel, reading: GasReading,
                    device: DeviceStatus) -> tuple[int, int]:
    key = f"readings.{name}"
    try:
        status = ReadingStatus(reading.status)
    except ValueError:
        raise _not_encodable(f"unknown status {reading.status!r}", f"{key}.status") from None
    bits = profile.sensor_status_bits if gas.status is not None else NO_BITS
    if reading.value is None:
        sentinel = next((s.word for s in gas.sentinels if s.status == status), None)
        if sentinel is None and status != ReadingStatus.FAULT:
            raise _not_encodable(f"status {status} needs a value or a sentinel word for it", f"{key}.value")
        word = 0 if sentinel is None else sentinel
    else:
        word = _value_word(gas, reading.value, f"{key}.value")
    flags = {"alarm1": reading.alarm1, "alarm2": reading.alarm2, "calibration_due": reading.calibration_due,
             "fault": status == ReadingStatus.FAULT and bits.fault is not None,
             "warmup": status == ReadingStatus.WARMUP and bits.warmup is not None,
             "calibrating": status == ReadingStatus.CALIBRATING}
    status_word = _bits(flags, bits, f"{key}.status")
    # The registers must decode to the status asked for; otherwise the snapshot is not one a detector can show.
    _, decoded = classify(gas, word, fault=_flag(status_word, bits.fault) or device.fault,
                          warmup=_flag(status_word, bits.warmup) or device.warmup,
                          calibrating=_flag(status_word, bits.calibrating))
    if decoded != status:
        raise _not_encodable(f"value {reading.value} with these flags decodes as {decoded}, not {status}",
                             f"{key}.status")
    return word, status_word


def _encode_settings(profile: DetectorProfile, name: str, gas: GasChannel, settings: GasSettings, put: Any) -> None:
    key = f"settings.{name}"
    for field in ("alarm1", "alarm2"):
        ref: SetPointRef | None = getattr(gas, field)
        point: SetPoint | None = getattr(settings, field)
        if ref is None:
            if point is not None:
                raise _not_encodable("the profile has no register for it", f"{key}.{field}")
            continue
        if point is None:
            if not gas.sentinels:
                raise _not_encodable("no sentinel word to say 'not set'", f"{key}.{field}")
            put(ref, [gas.sentinels[0].word])
            continue
        if point.direction != ref.direction:
            raise _not_encodable(f"direction {point.direction}, the profile says {ref.direction}",
                                 f"{key}.{field}.direction")
        put(ref, [_value_word(gas, point.value, f"{key}.{field}")])
    maint = profile.maintenance
    _encode_dates(gas.calibration, settings.calibrated_on, settings.calibration_due_on,
                  maint.calibration_interval_days, f"{key}.calibration", put)
    _encode_dates(gas.bump_test, settings.bump_tested_on, settings.bump_due_on, maint.bump_interval_days,
                  f"{key}.bump_test", put)


def _encode_dates(ref: DateRef | None, done: date | None, due: date | None, interval: int | None, key: str,
                  put: Any) -> None:
    if ref is None:
        if done is not None or due is not None:
            raise _not_encodable("the profile has no register for it", key)
        return
    if ref.meaning == "due":
        if done is not None:
            raise _not_encodable("the profile keeps only the due date", key)
        put(ref, encode_date(due, ref.encoding, key))
        return
    expected = done + timedelta(days=interval) if done is not None and interval else None
    if due != expected:
        raise _not_encodable(f"due date must be the last date plus {interval} days ({expected})", key)
    put(ref, encode_date(done, ref.encoding, key))
