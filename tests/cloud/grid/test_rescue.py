"""Rescue guidance templates: the data file is complete in Chinese and English, every card fits the space's
notes, and an enterprise copies a template into its space and then edits it (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloud.grid.rescue import MAX_NOTES, TEMPLATES_PATH, TemplateError, compose, load, templates
from cloud.registry.schemas import Hazard, SpaceType
from fwsim.stage.world import World
from tests.cloud.conftest import Logins

API = "/api/v1"


def test_every_space_type_and_hazard_has_chinese_and_english() -> None:
    t = load()
    assert set(t["space_types"]) == {s.value for s in SpaceType}
    assert set(t["hazards"]) == {h.value for h in Hazard}
    for text in [t["common"], *t["space_types"].values(), *t["hazards"].values()]:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text["zh"]) and text["en"].isascii()


def test_the_longest_card_fits_the_rescue_notes() -> None:
    for space_type in SpaceType:
        assert len(compose(space_type.value, [h.value for h in Hazard])) <= MAX_NOTES
    assert compose("underground", ["toxic_gas", "toxic_gas"]).count(templates()["hazards"]["toxic_gas"]["zh"]) == 1


@pytest.mark.parametrize("breakage", ["drop_hazard", "drop_english", "unknown_type"])
def test_an_incomplete_file_is_refused(tmp_path: Path, breakage: str) -> None:
    doc = json.loads(TEMPLATES_PATH.read_text(encoding="utf-8"))
    if breakage == "drop_hazard":
        del doc["hazards"]["fall"]
    elif breakage == "drop_english":
        del doc["space_types"]["underground"]["en"]
    else:
        doc["space_types"]["spaceship"] = {"zh": "飞船", "en": "spaceship"}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TemplateError):
        load(path)


def test_an_enterprise_adopts_then_edits_the_template(client: TestClient, as_user: Logins, world: World) -> None:
    url = f"{API}/confined-spaces/{world['SP1']}"
    r = client.post(f"{url}/rescue-guidance", headers=as_user("mgr1"))
    assert r.status_code == 200, r.text
    notes = r.json()["rescue_card"]["rescue_notes"]
    t = templates()
    assert notes.startswith(t["common"]["zh"]) and t["space_types"]["underground"]["zh"] in notes
    assert t["hazards"]["toxic_gas"]["zh"] in notes and t["hazards"]["oxygen_deficiency"]["zh"] in notes
    assert t["hazards"]["drowning"]["zh"] not in notes  # SP1 has no drowning hazard
    again = client.post(f"{url}/rescue-guidance", headers=as_user("mgr1"))
    assert again.status_code == 409 and again.json()["error"]["field"] == "rescue_notes"
    edited = notes + "\n本厂救援器材放在东门值班室。"
    assert client.patch(url, headers=as_user("mgr1"), json={"rescue_notes": edited}).status_code == 200
    assert client.get(url, headers=as_user("mgr1")).json()["rescue_card"]["rescue_notes"] == edited
    gaps = client.get(f"{API}/grids/{world['G1']}/space-gaps", headers=as_user("officer1")).json()
    assert "rescue_guidance" not in gaps[0]["missing"]


def test_only_the_spaces_managers_adopt(client: TestClient, as_user: Logins, world: World) -> None:
    url = f"{API}/confined-spaces/{world['SP1']}/rescue-guidance"
    assert client.post(url, headers=as_user("worker1")).status_code == 403
    assert client.post(url, headers=as_user("mgr2")).status_code == 404
    space = client.get(f"{API}/confined-spaces/{world['SP1']}", headers=as_user("mgr1")).json()
    assert space["rescue_card"]["rescue_notes"] == ""


