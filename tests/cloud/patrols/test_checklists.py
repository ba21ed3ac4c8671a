"""The checklist data file loads, every item is bilingual, and the parser refuses malformed files."""

from __future__ import annotations

import re

import pytest

from cloud.patrols.checklists import ChecklistError, load, parse

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_shipped_checklists_load_and_are_chinese_first_with_english() -> None:
    lists = load()
    assert len(lists.common) >= 5 and "C14" in lists.industries
    for item in (*lists.common, *(i for items in lists.industries.values() for i in items)):
        assert HAN.search(item.zh) and not HAN.search(item.en) and re.fullmatch(r"[a-z_]+", item.code)
    assert [i.code for i in lists.for_industry("C14 食品制造业")][-2:] == ["pickling_pool", "space_permit"]
    assert lists.for_industry("F51 批发业") == lists.common


@pytest.mark.parametrize("text", [
    '{"common": []}',
    '{"common": [{"code": "a", "zh": "甲"}]}',
    '{"common": [{"code": "a", "zh": "甲", "en": " "}]}',
    '{"common": [{"code": "a", "zh": "甲", "en": "A"}], "industries": {"C33": [{"code": "a", "zh": "乙", "en": "B"}]}}',
])
def test_a_malformed_file_is_refused(text: str) -> None:
    with pytest.raises(ChecklistError):
        parse(text)
