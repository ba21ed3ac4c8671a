"""Test vectors for the gas-detector and output-module register profiles (``gas_registers.json``).

Each case gives the raw words a device answers to the profile's read plan and what they decode to — or the
error code and profile key when they must be refused. Words are written out here by hand, register by register,
so the file documents the maps as much as it tests the decoder.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile import (
    DetectorProfile,
    DeviceIdentity,
    OutputModuleProfile,
    coil_writes,
    decode_detector,
    decode_identification,
    decode_output_module,
    load_profile,
    packaged_profiles,
    read_plan,
)
from protocols.gasprofile.registers import EPOCH

FILENAME = "gas_registers.json"
DETECTOR = "generic-4gas"
MODULE = "output-module"

# generic-4gas sensor status bits
A1, A2, FAULT, WARMUP, CAL_DUE, CALIBRATING = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
# generic-4gas device status bits
DEV_FAULT, DEV_WARMUP, DEV_CAL_DUE = 0x01, 0x02, 0x04


def days(when: date) -> int:
    return (when - EPOCH).days


def ascii_words(text: str, length: int) -> list[int]:
    raw = text.encode("ascii").ljust(2 * length, b"\x00")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 2 * length, 2)]


def live(status: int = 0, heartbeat: int = 1234, values: tuple[int, int, int, int] = (209, 0, 0, 0),
         statuses: tuple[int, int, int, int] = (0, 0, 0, 0)) -> list[int]:
    """Input registers 0-9: device status, heartbeat, o2/flammable/h2s/co value, o2/flammable/h2s/co status."""
    return [status, heartbeat, *values, *statuses]


def static(calibrated: date = date(2025, 1, 15), bumped: date = date(2025, 6, 2),
           serial: str = "SG2025000123", serial_words: list[int] | None = None) -> list[int]:
    """Holding registers 0-43: set-points (A1, A2 per gas), calibration and bump dates, identification."""
    set_points = [195, 235,  # o2: 19.5 %VOL falling, 23.5 %VOL rising
                  100, 200,  # flammable: 10.0, 20.0 %LEL
                  100, 150,  # h2s: 10.0, 15.0 ppm (looser than China's MAC of about 7 ppm: the edge warns)
                  35, 200]  # co: 35, 200 ppm
    return (set_points + [days(calibrated)] * 4 + [days(bumped)] * 4 + ascii_words("SafeGrid Sim", 8)
            + ascii_words("GD-4F", 8) + (serial_words or ascii_words(serial, 8)) + ascii_words("1.4.2", 4))


def _blocks(plan: Any, *words: list[int]) -> list[dict[str, Any]]:
    return [{"function": b.function, "address": b.address, "count": b.count, "words": w}
            for b, w in zip(plan, words, strict=True)]


def _detector_cases() -> list[tuple[str, str, list[dict[str, Any]]]]:
    full = read_plan(load_profile(DETECTOR))  # holding 0-43, input 0-9
    live_only = read_plan(load_profile(DETECTOR), include_static=False)  # input 0-9
    return [
        ("normal-air", "Clean air, live registers only: set-points and identity not read.",
         _blocks(live_only, live())),
        ("identification", "Full read: set-points, maintenance dates and identification strings.",
         _blocks(full, static(), live())),
        ("o2-low", "O2 18.0 %VOL with the detector's alarm 1 (falling) bit.",
         _blocks(live_only, live(values=(180, 0, 0, 0), statuses=(A1, 0, 0, 0)))),
        ("h2s-over-alarm2", "H2S 25.0 ppm with alarm 1 and alarm 2 bits.",
         _blocks(live_only, live(values=(209, 0, 250, 3), statuses=(0, 0, A1 | A2, 0)))),
        ("co-sensor-fault-code", "CO value register holds the fault sentinel 0x8000, fault bit set.",
         _blocks(live_only, live(values=(209, 0, 0, 0x8000), statuses=(0, 0, 0, FAULT)))),
        ("h2s-fault-bit-only", "H2S fault bit with a plausible-looking number: no value is passed on.",
         _blocks(live_only, live(values=(209, 0, 17, 0), statuses=(0, 0, FAULT, 0)))),
        ("flammable-not-fitted", "The flammable position holds the not-fitted sentinel 0x8001.",
         _blocks(live_only, live(values=(209, 0x8001, 0, 0)))),
        ("warm-up", "Device and sensors warming up: values shown, status warmup.",
         _blocks(live_only, live(status=DEV_WARMUP, values=(150, 12, 3, 8), statuses=(WARMUP,) * 4))),
        ("negative-values", "H2S -0.3 ppm (zero drift within the 1.0 ppm band: ok); flammable -5.0 %LEL "
         "(below the 3.0 %LEL band: under_range).",
         _blocks(live_only, live(values=(209, 0xFFCE, 0xFFFD, 0)))),
        ("over-range", "H2S over-range sentinel 0x7FFF (no value); CO 1500 ppm beyond its 0-1000 range.",
         _blocks(live_only, live(values=(209, 0, 0x7FFF, 1500), statuses=(0, 0, A1 | A2, A1 | A2)))),
        ("device-fault", "Device fault bit: every reading is a fault, whatever the value registers say.",
         _blocks(live_only, live(status=DEV_FAULT))),
        ("co-calibrating", "CO in calibration mode with test gas: value shown, status calibrating.",
         _blocks(live_only, live(values=(209, 0, 0, 100), statuses=(0, 0, 0, CALIBRATING)))),
        ("calibration-overdue", "Calibrated 2023-01-10 (due 180 days later), bump-tested 2023-01-10 (due 30 "
         "days later); device and O2/H2S calibration-due bits.",
         _blocks(full, static(calibrated=date(2023, 1, 10), bumped=date(2023, 1, 10)),
                 live(status=DEV_CAL_DUE, statuses=(CAL_DUE, 0, CAL_DUE, 0)))),
        ("heartbeat-wrapped", "The heartbeat counter after wrapping from 65535 to 0.",
         _blocks(live_only, live(heartbeat=0))),
        ("error-wrong-length", "A block shorter than its count.",
         [{"function": 4, "address": 0, "count": 10, "words": live()[:9]}]),
        ("error-word-out-of-range", "A register word above 65535.",
         [{"function": 4, "address": 0, "count": 10, "words": live(heartbeat=70000)}]),
        ("error-live-registers-missing", "Only the holding registers were read.",
         _blocks(full[:1], static())),
        ("error-identification-not-ascii", "The serial-number registers hold a control character.",
         _blocks(full, static(serial_words=[0x5347, 0x0132] + [0] * 6), live())),
    ]


def _module_cases() -> list[tuple[str, str, list[dict[str, Any]]]]:
    plan = read_plan(load_profile(MODULE))  # coils 0-3, discrete inputs 0-1, input register 0
    return [
        ("module-idle", "All outputs off, no button pressed.", _blocks(plan, [0, 0, 0, 0], [0, 0], [17])),
        ("module-alarm", "Siren, beacon and fan 1 on; the acknowledge button pressed.",
         _blocks(plan, [1, 1, 1, 0], [1, 0], [18])),
        ("error-module-coil-not-a-bit", "A coil read back as 2.", _blocks(plan, [2, 0, 0, 0], [0, 0], [19])),
    ]


def decode_case(profile_name: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """What a vector's blocks decode to: ``{"expect": ...}`` or ``{"error": code, "field": key}``."""
    profile = load_profile(profile_name)
    mapping = {(b["function"], b["address"], b["count"]): b["words"] for b in blocks}
    try:
        decoded = (decode_detector(profile, mapping) if isinstance(profile, DetectorProfile)
                   else decode_output_module(profile, mapping))
    except ProfileError as exc:
        return {"error": exc.code, "field": exc.field}
    return {"expect": decoded.as_dict()}


def build() -> dict[str, Any]:
    vectors = []
    for profile_name, cases in ((DETECTOR, _detector_cases()), (MODULE, _module_cases())):
        for name, about, blocks in cases:
            vectors.append({"name": name, "profile": profile_name, "about": about, "blocks": blocks,
                            **decode_case(profile_name, blocks)})
    detector = load_profile(DETECTOR)
    objects = {0x00: b"SafeGrid Sim", 0x01: b"GD-4F", 0x02: b"1.4.2", 0x80: b"SG2025000123", 0x03: b"example.com"}
    identity: DeviceIdentity = decode_identification(detector, objects)
    module = load_profile(MODULE)
    assert isinstance(module, OutputModuleProfile), MODULE
    return {
        "description": "Gas-detector and output-module register profiles: raw words per read block and what they "
                       "decode to (see protocols/gas_detector.md). Addresses are 0-based; words are 16-bit "
                       "unsigned; coils and discrete inputs are 0/1. An 'error' case must be refused with that "
                       "code, naming that profile key.",
        "profiles": {
            name: {
                "kind": load_profile(name).profile.kind,
                "read_plan": [[b.function, b.address, b.count] for b in read_plan(load_profile(name))],
                "live_read_plan": [[b.function, b.address, b.count]
                                   for b in read_plan(load_profile(name), include_static=False)],
            }
            for name in packaged_profiles()
        },
        "vectors": vectors,
        "identification_objects": [{
            "name": "read-device-identification",
            "profile": DETECTOR,
            "about": "Function 43/14 objects by id (hex bytes); 0x03 (VendorUrl) is not mapped and is ignored.",
            "objects": {f"{oid:#04x}": raw.hex() for oid, raw in objects.items()},
            "expect": {"vendor": identity.vendor, "model": identity.model, "serial": identity.serial,
                       "firmware": identity.firmware},
        }],
        "coil_writes": [{
            "name": "siren-and-fan-1-on-beacon-off",
            "profile": MODULE,
            "desired": {"siren": True, "beacon": False, "fan_1": True},
            "expect": [[address, on] for address, on in coil_writes(module, {"siren": True, "beacon": False,
                                                                             "fan_1": True})],
        }],
    }
