"""One exception root for the edge: every public exception the edge package defines derives from EdgeError.

The classes are found by walking the package, so a new error class that forgets its root fails here. A caller
catches ``EdgeError`` (or a package's own root) and reads ``code``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import edge
from edge.core.alarms import AlarmError
from edge.core.errors import CoreError
from edge.core.limits import LimitError
from edge.daemon.console import ConsoleError
from edge.errors import EdgeError
from edge.outbox import OutboxError
from edge.outbox.floor import FloorError


def _public_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(edge.__path__, "edge."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name
                    and not name.startswith("_")):
                found[f"{info.name}.{name}"] = obj
    return found


# Internal control flow, caught where it is raised and never seen by a caller.
PRIVATE_SIGNALS = {"edge.daemon.recovery.Damaged"}


def test_every_public_edge_exception_derives_from_edge_error() -> None:
    found = _public_exceptions()
    assert "edge.core.alarms.AlarmError" in found and "edge.daemon.console.ConsoleError" in found
    strays = sorted(name for name, cls in found.items()
                    if not issubclass(cls, EdgeError) and name not in PRIVATE_SIGNALS)
    assert strays == []


def test_each_package_root_derives_from_edge_error_and_codes_still_work() -> None:
    assert issubclass(AlarmError, CoreError) and issubclass(LimitError, CoreError) and issubclass(CoreError, EdgeError)
    assert issubclass(FloorError, OutboxError) and issubclass(OutboxError, EdgeError)
    assert AlarmError("no such alarm").code == "unknown_alarm"
    assert AlarmError("too long", "bad_mute").code == "bad_mute"
    refused = ConsoleError("unknown_space", "no space S9")
    assert (refused.code, refused.detail, str(refused)) == ("unknown_space", "no space S9", "no space S9")
    # Still ValueErrors, for the configuration validators and floor readers that catch those.
    assert issubclass(LimitError, ValueError) and issubclass(FloorError, ValueError)
