"""Gas-detector registers ↔ :class:`DetectorSnapshot`, as a profile describes them.

``decode_detector`` is what the edge runs on every poll; ``encode_detector`` is what the simulators serve. The
encoder refuses a snapshot the registers cannot express (a flag without a status bit, a status that the value
and flags would not decode to), so for every snapshot it accepts, decoding its registers gives it back with each
value rounded to the register's scale. One exception, for simulating a faulty sensor: a ``fault`` reading with a
value writes that stale number to the value register beside the fault bit; it decodes as fault with no value.

Status of a reading, first rule that applies: a sentinel word (fault, not fitted, over/under range: no value);
the sensor's or the device's fault bit (fault: no value); warm-up, then calibrating (value kept but not to be
trusted); beyond the measuring range (over/under range: value kept); otherwise ok.

Decoding runs on every poll, so a :class:`DetectorDecoder` works out once what its profile says about the
registers (addresses, bit masks, sentinel words, raw limits), and, since a detector in steady air shows the same
words poll after poll, remembers the (immutable) reading decoded from a gas's words. Whoever polls a detector owns
its decoder (the edge's detector link, a simulator's bench): there is no module-wide cache. ``decode_detector``
is the one-off form, for a single decode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile.identification import identity_from_registers, identity_to_registers
from protocols.gasprofile.model import (
    IDENTITY_FIELDS,
    DateRef,
    DetectorProfile,
    GasChannel,
    RegisterRef,
    SensorStatusBits,
    SetPointRef,
)
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
    return _Channel.of(gas).classify(word, fault, warmup, calibrating)


@dataclass(frozen=True, slots=True)
class _Channel:
    """How one gas channel's value word reads: sentinel words (the first listed wins), sign, scale, range."""

    sentinels: dict[int, ReadingStatus]
    signed: bool
    scale: int
    low: int
    high: int

    @classmethod
    def of(cls, gas: GasChannel) -> _Channel:
        sentinels: dict[int, ReadingStatus] = {}
        for sentinel in gas.sentinels:
            sentinels.setdefault(sentinel.word, ReadingStatus(sentinel.status))
        low, high = gas.raw_limits
        return cls(sentinels, gas.type == "int16", gas.scale, low, high)

    def classify(self, word: int, fault: bool, warmup: bool, calibrating: bool) -> tuple[float | None, ReadingStatus]:
        sentinel = self.sentinels.get(word)
        if sentinel is not None:
            return None, sentinel
        if fault:
            return None, ReadingStatus.FAULT
        raw = to_signed(word) if self.signed else word
        value = raw / self.scale
        if warmup:
            return value, ReadingStatus.WARMUP
        if calibrating:
            return value, ReadingStatus.CALIBRATING
        if raw > self.high:
            return value, ReadingStatus.OVER_RANGE
        if raw < self.low:
            return value, ReadingStatus.UNDER_RANGE
        return value, ReadingStatus.OK


def _mask(bit: int | None) -> int:
    return 0 if bit is None else 1 << bit


@dataclass(frozen=True, slots=True)
class _GasPlan:
    name: str
    unit: str
    value_key: str  # the profile key an error names
    status_key: str
    value: tuple[int, int]  # (function, address)
    status: tuple[int, int] | None
    masks: tuple[int, int, int, int, int, int]  # fault, warmup, calibrating, alarm1, alarm2, calibration_due
    channel: _Channel


@dataclass(frozen=True, slots=True)
class _DecodePlan:
    """A profile's registers as decoding needs them, worked out once (profiles are immutable)."""

    profile: DetectorProfile
    status: tuple[int, int] | None
    status_masks: tuple[int, int, int]  # fault, warmup, calibration_due
    heartbeat: tuple[int, int] | None
    gases: tuple[_GasPlan, ...]
    settings_registers: tuple[tuple[int, frozenset[int]], ...]  # (function, addresses) of set-points and dates
    identity_registers: tuple[tuple[int, frozenset[int]], ...]

    @classmethod
    def of(cls, profile: DetectorProfile) -> _DecodePlan:
        def where(ref: RegisterRef) -> tuple[int, int]:
            return profile.function_of(ref), ref.address

        def where_any(ref: RegisterRef | None) -> tuple[int, int] | None:
            return None if ref is None else where(ref)

        device, bits = profile.device, profile.sensor_status_bits
        gases = []
        for name, gas in profile.gases.items():
            b = bits if gas.status is not None else NO_BITS
            masks = (_mask(b.fault), _mask(b.warmup), _mask(b.calibrating), _mask(b.alarm1), _mask(b.alarm2),
                     _mask(b.calibration_due))
            gases.append(_GasPlan(name, gas.unit, f"gases.{name}.value", f"gases.{name}.status", where(gas.value),
                                  where_any(gas.status), masks, _Channel.of(gas)))
        settings = [(profile.function_of(r), r.address, r.width if isinstance(r, DateRef) else 1)
                    for g in profile.gases.values() for r in _settings_refs(g)]
        texts = [getattr(profile.identification.registers, f) for f in IDENTITY_FIELDS]
        identity = [(profile.function_of(r), r.address, r.length) for r in texts if r is not None]
        sb = device.status_bits
        return cls(profile, where_any(device.status), (_mask(sb.fault), _mask(sb.warmup), _mask(sb.calibration_due)),
                   where_any(device.heartbeat), tuple(gases), _by_function(settings), _by_function(identity))


def _by_function(spans: list[tuple[int, int, int]]) -> tuple[tuple[int, frozenset[int]], ...]:
    addresses: dict[int, set[int]] = {}
    for function, address, width in spans:
        addresses.setdefault(function, set()).update(range(address, address + width))
    return tuple((function, frozenset(a)) for function, a in addresses.items())


def _all_read(regs: Registers, registers: tuple[tuple[int, frozenset[int]], ...]) -> bool:
    """Whether every one of ``registers`` was read (a set comparison per function, done in C)."""
    empty: dict[int, int] = {}
    return bool(registers) and all(regs.image.get(fn, empty).keys() >= addresses for fn, addresses in registers)


def _word(regs: Registers, where: tuple[int, int], key: str) -> int:
    table = regs.image.get(where[0])
    word = None if table is None else table.get(where[1])
    return regs.words(where[0], where[1], 1, key)[0] if word is None else word  # the slow path names what is missing


_Memo = dict[tuple[int, int, bool, bool], GasReading]  # (value, status, device fault, device warm-up) → reading
_MAX_DECODED = 512  # per gas channel: steady air repeats a few words; a drifting value just refills the memo


class DetectorDecoder:
    """Decodes the polls of detectors of one profile; built once by whoever polls and kept for every poll.

    It holds the profile's decode plan and, per gas, a bounded memo of the readings decoded from recent words.
    """

    def __init__(self, profile: DetectorProfile) -> None:
        self.profile = _require_detector(profile)
        self._plan = _DecodePlan.of(self.profile)
        self._memos: tuple[_Memo, ...] = tuple({} for _ in self._plan.gases)

    def decode(self, blocks: Mapping[Any, Sequence[int]]) -> DetectorSnapshot:
        """Decode one poll: ``blocks`` maps each read (see ``read_plan``) to its words.

        Live registers (status, heartbeat, values) must all be present; set-points/dates and identification are
        decoded when all of theirs were read, else left ``None``. Anything malformed raises ``ProfileError``.
        """
        plan = self._plan
        regs = Registers(image_from_blocks(blocks))
        status = _device_status(plan, regs)
        heartbeat = None if plan.heartbeat is None else _word(regs, plan.heartbeat, "device.heartbeat")
        readings = tuple(_reading(gas, memo, regs, status) for gas, memo in zip(plan.gases, self._memos, strict=True))
        settings = None
        if _all_read(regs, plan.settings_registers):
            settings = tuple(_gas_settings(plan.profile, name, gas, regs) for name, gas in plan.profile.gases.items())
        identity = None
        if _all_read(regs, plan.identity_registers):
            identity = identity_from_registers(plan.profile, regs)
        return DetectorSnapshot(profile=plan.profile.id, status=status, heartbeat=heartbeat, readings=readings,
                                settings=settings, identity=identity)


def decode_detector(profile: DetectorProfile, blocks: Mapping[Any, Sequence[int]]) -> DetectorSnapshot:
    """Decode one poll with a decoder made for it (see :meth:`DetectorDecoder.decode`); a poller keeps a
    :class:`DetectorDecoder` instead, so the plan is worked out once."""
    return DetectorDecoder(profile).decode(blocks)


def _device_status(plan: _DecodePlan, regs: Registers) -> DeviceStatus:
    if plan.status is None:
        return DeviceStatus()
    word = _word(regs, plan.status, "device.status")
    fault, warmup, calibration_due = plan.status_masks
    return DeviceStatus(fault=bool(word & fault), warmup=bool(word & warmup),
                        calibration_due=bool(word & calibration_due))


def _reading(gas: _GasPlan, memo: _Memo, regs: Registers, device: DeviceStatus) -> GasReading:
    word = _word(regs, gas.value, gas.value_key)
    status_word = 0 if gas.status is None else _word(regs, gas.status, gas.status_key)
    key = (word, status_word, device.fault, device.warmup)
    reading = memo.get(key)
    if reading is None:
        fault, warmup, calibrating, alarm1, alarm2, calibration_due = gas.masks
        value, status = gas.channel.classify(word, bool(status_word & fault) or device.fault,
                                             bool(status_word & warmup) or device.warmup,
                                             bool(status_word & calibrating))
        reading = GasReading(gas=gas.name, unit=gas.unit, value=value, status=status,
                             alarm1=bool(status_word & alarm1), alarm2=bool(status_word & alarm2),
                             calibration_due=bool(status_word & calibration_due))
        if len(memo) >= _MAX_DECODED:
            memo.clear()
        memo[key] = reading
    return reading


def _settings_refs(gas: GasChannel) -> list[SetPointRef | DateRef]:
    return [r for r in (gas.alarm1, gas.alarm2, gas.calibration, gas.bump_test) if r is not None]


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
