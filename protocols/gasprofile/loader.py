"""Parse and validate register profiles; every error is a :class:`ProfileError` whose ``field`` is the dotted key.

``load_profile(name)`` reads a profile packaged in ``protocols/profiles/`` (the one file access this package
makes). A profile kept elsewhere — a vendor model a technician adds on site — is read by the caller and handed
to ``parse_profile(text)``, which accepts TOML text or an already-parsed mapping.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile.model import (
    IDENTITY_FIELDS,
    DetectorProfile,
    GasChannel,
    OutputModuleProfile,
    Profile,
    Span,
)
from safegrid.config import ConfigError, parse_config

MAX_PROFILE_CHARS = 64 * 1024  # a profile is a few kilobytes; refuse anything absurd before parsing it
PACKAGE = "protocols"
PROFILES_DIR = "profiles"
KINDS: dict[str, type[DetectorProfile] | type[OutputModuleProfile]] = {
    "gas_detector": DetectorProfile,
    "output_module": OutputModuleProfile,
}


def _bad(message: str, field: str | None) -> ProfileError:
    return ProfileError(message, code="bad_profile", field=field)


def parse_profile(source: str | Mapping[str, Any], *, origin: str = "<profile>") -> Profile:
    """Validate TOML text or a parsed mapping into a detector or output-module profile."""
    if isinstance(source, str):
        if len(source) > MAX_PROFILE_CHARS:
            raise _bad(f"{origin}: longer than {MAX_PROFILE_CHARS} characters", None)
        try:
            data: Any = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            raise _bad(f"{origin}: not valid TOML: {exc}", None) from None
    else:
        data = source
    if not isinstance(data, Mapping):
        raise _bad(f"{origin}: a profile is a table of keys", None)
    meta = data.get("profile")
    kind = meta.get("kind") if isinstance(meta, Mapping) else None
    if not isinstance(kind, str) or kind not in KINDS:
        raise _bad(f"{origin}: expected one of {sorted(KINDS)}", "profile.kind")
    try:
        profile = parse_config(dict(data), KINDS[kind], path=origin)
    except ConfigError as exc:
        raise _bad(f"{origin}: {exc.message}", exc.key) from None
    except (ValueError, TypeError, RecursionError) as exc:  # a net under pydantic: it wraps validator errors
        raise _bad(f"{origin}: {exc}", None) from None
    _check_spans(profile.spans())
    _check_identification_objects(profile)
    if isinstance(profile, DetectorProfile):
        _check_detector(profile)
    else:
        _check_output_module(profile)
    return profile


def load_profile(name: str) -> Profile:
    """Load a profile shipped with SafeGrid, by name (``generic-4gas``, ``output-module``)."""
    if name not in packaged_profiles():
        raise ProfileError(f"no packaged profile {name!r}; have {packaged_profiles()}", code="unknown_profile",
                           field=None)
    text = resources.files(PACKAGE).joinpath(PROFILES_DIR, f"{name}.toml").read_text(encoding="utf-8")
    return parse_profile(text, origin=f"{name}.toml")


def packaged_profiles() -> list[str]:
    """Names of the profiles shipped in the package, sorted."""
    folder = resources.files(PACKAGE).joinpath(PROFILES_DIR)
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def _check_spans(spans: Iterable[Span]) -> None:
    by_function: dict[int, list[tuple[int, Span]]] = {}
    for order, span in enumerate(spans):
        if span.address + span.width > 0x10000:
            raise _bad("runs past the last address 65535", span.key)
        by_function.setdefault(span.function, []).append((order, span))
    for items in by_function.values():
        items.sort(key=lambda item: (item[1].address, item[0]))
        for (order_a, a), (order_b, b) in itertools.pairwise(items):
            if b.address < a.address + a.width:
                # Name the key that comes later in the profile: it is the one most likely just added or edited.
                first, second = (a, b) if order_a < order_b else (b, a)
                raise _bad(f"overlaps {first.key} (function {b.function}, address {b.address})", second.key)


def _check_unique_bits(bits: Mapping[str, int | None], prefix: str) -> None:
    seen: dict[int, str] = {}
    for name, bit in bits.items():
        if bit is None:
            continue
        if bit in seen:
            raise _bad(f"bit {bit} is already {seen[bit]}", f"{prefix}.{name}")
        seen[bit] = name


def _check_identification_objects(profile: Profile) -> None:
    seen: dict[int, str] = {}
    for field in IDENTITY_FIELDS:
        oid = getattr(profile.identification.objects, field)
        if oid is None:
            continue
        if oid in seen:
            raise _bad(f"object id {oid:#04x} is already {seen[oid]}", f"identification.objects.{field}")
        seen[oid] = field


def _check_gas(name: str, gas: GasChannel) -> None:
    key = f"gases.{name}"
    low, high = gas.raw_limits
    tmin, tmax = gas.type_limits
    if low < tmin or high > tmax:
        raise _bad(f"range minus zero_band times scale {gas.scale} gives {low}..{high}, outside {gas.type}",
                   f"{key}.range")
    words: set[int] = set()
    for i, sentinel in enumerate(gas.sentinels):
        skey = f"{key}.sentinels[{i}].word"
        raw = sentinel.word - 0x10000 if gas.type == "int16" and sentinel.word >= 0x8000 else sentinel.word
        if low <= raw <= high:
            raise _bad(f"{sentinel.word:#06x} is a valid measurement ({raw / gas.scale} {gas.unit})", skey)
        if sentinel.word in words:
            raise _bad(f"{sentinel.word:#06x} is listed twice", skey)
        words.add(sentinel.word)


def _check_detector(profile: DetectorProfile) -> None:
    _check_unique_bits(profile.sensor_status_bits.model_dump(), "sensor_status_bits")
    _check_unique_bits(profile.device.status_bits.model_dump(), "device.status_bits")
    for name, gas in profile.gases.items():
        _check_gas(name, gas)
    intervals = {"calibration": "calibration_interval_days", "bump_test": "bump_interval_days"}
    for field, interval in intervals.items():
        uses_last = any(getattr(g, field) is not None and getattr(g, field).meaning == "last"
                        for g in profile.gases.values())
        if uses_last and getattr(profile.maintenance, interval) is None:
            raise _bad(f"required: a {field} date means 'last' and the due date is that plus this interval",
                       f"maintenance.{interval}")


def _check_output_module(profile: OutputModuleProfile) -> None:
    if profile.watchdog is not None:
        for i, name in enumerate(profile.watchdog.on_expiry):
            if name not in profile.outputs:
                raise _bad(f"{name!r} is not one of the outputs {sorted(profile.outputs)}",
                           f"watchdog.on_expiry[{i}]")
