"""Revocation lists on a gateway serving two spaces (issue 9, item 1): each list is bound to its space and that
space's padlocks, versions count per space, and a padlock of one space refuses the other space's list."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.db.engine import Database
from cloud.devices import hardware_service
from cloud.devices.schemas import PadlockCreate
from cloud.downlink.models import DownlinkCommand
from cloud.keys.service import Keyring
from cloud.permits.models import RevocationListRecord
from cloud.registry import spaces_service
from cloud.registry.ids import space_uid
from cloud.registry.schemas import SpaceCreate
from fwsim.stage.world import space_body
from protocols import crypto
from protocols.commands import verify_command
from protocols.errors import GattError
from protocols.padlock.pushes import verify_revocation_push
from protocols.revocation import RevocationList, verify_revocation_list
from protocols.uplink.fields import b64url_decode
from tests.cloud.conftest import Clock, Logins
from tests.cloud.permits.site import Site
from tests.cloud.permits.test_permit_flow import URL, apply_and_approve, keys_of

OTHER_LOCK = "c0ffee0000000001"


def second_space_on_gw_e1(database: Database, site: Site, clock: Clock) -> int:
    """Another space of E1 with its own padlock, served by the same gateway as SP1."""
    admin = site.world.admin
    assert admin is not None
    with database.session(write=True) as db:
        space = spaces_service.create_space(db, actor=admin, now=clock.now, data=SpaceCreate.model_validate(
            space_body(site.world["E1"], "SP1c")))
        hardware_service.create_device(db, actor=admin, now=clock.now, data=PadlockCreate(
            lock_id=OTHER_LOCK, label="PL-SP1c", space_id=space.id, gateway_id="gw-e1",
            public_key=crypto.public_raw(site.lock_key).hex()))
        db.commit()
        return space.id


def revoke(client: TestClient, as_user: Logins, permit: dict) -> None:
    r = client.post(f"{URL}/{permit['id']}/revoke", json={"reason": "作业取消"}, headers=as_user("mgr1"))
    assert r.status_code == 200, r.text


def lists_sent_to(database: Database, client: TestClient, clock: Clock, gateway: str) -> list[bytes]:
    with database.session(write=False) as db:
        rows = db.execute(select(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway,
                                                        DownlinkCommand.kind == "revocation_list")
                          .order_by(DownlinkCommand.counter)).scalars().all()
        wires = [row.signed.encode() for row in rows]
    keys = keys_of(client, "command")
    now_ms = int(clock.now.timestamp() * 1000)
    return [b64url_decode(verify_command(w, keys, gateway_id=gateway, last_counter=0, now_ms=now_ms)
                          .body.revocation_list) for w in wires]  # type: ignore[union-attr]


def adopts(signed: bytes, issuer: dict, *, lock_id: str, held: RevocationList | None) -> str:
    try:
        verify_revocation_push(signed, issuer_keys=issuer, lock_id=bytes.fromhex(lock_id), current=held)
    except GattError as exc:
        return exc.code
    return "ok"


def test_two_spaces_on_one_gateway_get_lists_scoped_and_versioned_per_space(
        client: TestClient, as_user: Logins, site: Site, clock: Clock, keyring: Keyring, database: Database) -> None:
    other_space = second_space_on_gw_e1(database, site, clock)
    a1 = apply_and_approve(client, as_user, site, clock)
    b1 = apply_and_approve(client, as_user, site, clock, space_id=other_space)
    a2 = apply_and_approve(client, as_user, site, clock)
    revoke(client, as_user, a1)  # SP1: v1
    revoke(client, as_user, b1)  # SP1c: v1, not v2 — its own counter
    revoke(client, as_user, a2)  # SP1: v2
    issuer = keys_of(client, "issuer")
    sent = lists_sent_to(database, client, clock, "gw-e1")
    lists = [verify_revocation_list(signed, issuer) for signed in sent]
    scopes = [(rl.space_id, sorted(lock.hex() for lock in rl.lock_ids), rl.version) for rl in lists]
    assert scopes == [(space_uid(site["SP1"]), [site.lock_id], 1), (space_uid(other_space), [OTHER_LOCK], 1),
                      (space_uid(site["SP1"]), [site.lock_id], 2)]
    assert {t["cti"] for t in a1["tokens"]} <= {c.hex() for c in lists[2].revoked}  # v2 still revokes a1
    assert not {t["cti"] for t in b1["tokens"]} & {c.hex() for c in lists[2].revoked}
    assert lists[0].issued_at < lists[1].issued_at < lists[2].issued_at
    # SP1's padlock: takes its own lists in order, refuses SP1c's whatever its version (the old rollback).
    assert adopts(sent[0], issuer, lock_id=site.lock_id, held=None) == "ok"
    assert adopts(sent[1], issuer, lock_id=site.lock_id, held=lists[0]) == "wrong_lock"
    assert adopts(sent[2], issuer, lock_id=site.lock_id, held=lists[0]) == "ok"
    assert adopts(sent[0], issuer, lock_id=site.lock_id, held=lists[2]) == "stale"
    assert adopts(sent[1], issuer, lock_id=OTHER_LOCK, held=None) == "ok"
    with database.session(write=False) as db:
        stored = db.execute(select(RevocationListRecord.space_id, RevocationListRecord.version,
                                   RevocationListRecord.lock_ids).order_by(RevocationListRecord.id)).all()
    assert [tuple(row) for row in stored] == [(site["SP1"], 1, [site.lock_id]), (other_space, 1, [OTHER_LOCK]),
                                              (site["SP1"], 2, [site.lock_id])]
