"""Rescue guidance templates (救援指引模板): data in ``data/rescue_templates.json`` (Chinese first, English
beside), loaded and checked once; :func:`compose` builds a space's card from its type and hazards, which the
enterprise copies into the space and then edits (the registry's PATCH of ``rescue_notes``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from cloud.registry.schemas import Hazard, SpaceType

TEMPLATES_PATH = Path(__file__).with_name("data") / "rescue_templates.json"
MAX_NOTES = 2000  # the rescue_notes column


class TemplateError(ValueError):
    """The templates file is incomplete or malformed."""


def _text(node: Any, where: str) -> dict[str, str]:
    if not (isinstance(node, dict) and set(node) == {"zh", "en"}
            and all(isinstance(v, str) and v.strip() for v in node.values())):
        raise TemplateError(f"{where}: needs non-empty zh and en texts")
    return {"zh": node["zh"], "en": node["en"]}


def load(path: Path = TEMPLATES_PATH) -> dict[str, Any]:
    """The templates, checked: every space type and every hazard has a Chinese and an English text."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Any] = {"common": _text(doc.get("common"), "common"), "space_types": {}, "hazards": {}}
    for group, members in (("space_types", SpaceType), ("hazards", Hazard)):
        section = doc.get(group) or {}
        extra = set(section) - {m.value for m in members}
        if extra:
            raise TemplateError(f"{group}: unknown {sorted(extra)}")
        for member in members:
            out[group][member.value] = _text(section.get(member.value), f"{group}.{member.value}")
    return out


@cache
def templates() -> dict[str, Any]:
    return load()


def compose(space_type: str, hazards: Iterable[str], *, lang: str = "zh") -> str:
    """The card for a space: the common rules, the space type's part, then each hazard's part, in ``lang``."""
    t = templates()
    parts = [t["common"][lang], t["space_types"][space_type][lang]]
    parts += [t["hazards"][h][lang] for h in dict.fromkeys(hazards)]
    return "\n".join(parts)
