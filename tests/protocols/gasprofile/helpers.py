"""Shared test data: the packaged profiles as plain dicts, ready to be mutated into bad ones."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any


def profile_dict(name: str) -> dict[str, Any]:
    text = resources.files("protocols").joinpath("profiles", f"{name}.toml").read_text(encoding="utf-8")
    return copy.deepcopy(tomllib.loads(text))


def with_change(name: str, path: str, value: Any) -> dict[str, Any]:
    """The packaged profile with the dotted ``path`` set to ``value`` (``...`` deletes the key)."""
    data = profile_dict(name)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data
