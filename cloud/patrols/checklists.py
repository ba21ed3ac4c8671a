"""Patrol checklists by industry, loaded from ``checklists.json`` beside this module (data, Chinese first).

The items an officer ticks for an enterprise are the common ones plus those of its industry's division code
(the leading letter and two digits of ``Enterprise.industry``, e.g. "C33 金属制品业" → "C33").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("checklists.json")


class ChecklistError(ValueError):
    """The checklist file is malformed (found by the loading test, before any officer sees it)."""


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Checklists:
    common: tuple[Item, ...]
    industries: dict[str, tuple[Item, ...]]

    def for_industry(self, industry: str) -> tuple[Item, ...]:
        return self.common + self.industries.get(industry[:3], ())


def _items(raw: object, where: str) -> tuple[Item, ...]:
    if not isinstance(raw, list) or not raw:
        raise ChecklistError(f"{where}: a non-empty list of items expected")
    items = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) != {"code", "zh", "en"} or not all(
                isinstance(v, str) and v.strip() for v in entry.values()):
            raise ChecklistError(f"{where}[{i}]: needs exactly code, zh and en, all non-empty text")
        items.append(Item(entry["code"], entry["zh"], entry["en"]))
    return tuple(items)


def parse(text: str) -> Checklists:
    raw = json.loads(text)
    common = _items(raw.get("common"), "common")
    industries = {code: _items(v, code) for code, v in dict(raw.get("industries", {})).items()}
    for code, items in industries.items():
        codes = [i.code for i in common + items]
        if len(codes) != len(set(codes)):
            raise ChecklistError(f"{code}: an item code repeats (with common or within)")
    return Checklists(common, industries)


@cache
def load() -> Checklists:
    return parse(DATA.read_text(encoding="utf-8"))
