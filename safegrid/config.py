"""Load a TOML file into a pydantic model; any error names the file, the key and what was expected."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file that cannot be used. ``key`` is the dotted path of the first bad field."""

    def __init__(self, path: str | Path, key: str | None, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {message}")


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are errors (a typo must not silently mean a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(data: dict[str, Any], model: type[M], *, path: str | Path = "<config>") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _dotted(first["loc"]) or None
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against the example config)"
        elif "input" in first and first["type"] != "missing":
            msg = f"{msg} (got {first['input']!r})"
        more = len(exc.errors()) - 1
        if more:
            msg += f"; and {more} more error(s)"
        raise ConfigError(path, key, msg) from None


def load_config(path: str | Path, model: type[M]) -> M:
    """Read and validate ``path``; raise :class:`ConfigError` naming the key that is wrong."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(p, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(p, None, f"not valid TOML: {exc}") from None
    return parse_config(data, model, path=p)
