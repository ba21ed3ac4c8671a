"""Migration 0004_revocation_scope on real SQLite and PostgreSQL: lists issued under the shared counter keep their
versions, each space's counter continues from its own highest version, and the downgrade goes back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from cloud.db.engine import Database, writer
from cloud.db.migrate import alembic_config, current_revisions, head_revisions, upgrade
from cloud.downlink.counters import read
from cloud.permits.revocation import revocation_counter
from fwsim.stage.world import World


def _to(database: Database, revision: str, *, down: bool = False) -> None:
    with writer(database.engine).connect() as conn, conn.begin():
        (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)


def test_per_space_counters_continue_from_the_shared_counter_s_versions(database: Database, world: World) -> None:
    _to(database, "0003", down=True)
    sp1, sp2 = world["SP1"], world["SP2"]
    with writer(database.engine).connect() as conn, conn.begin():
        for version, space in ((1, sp1), (2, sp2), (3, sp1)):  # the shared counter across the spaces
            conn.execute(text("INSERT INTO revocation_lists (version, space_id, issued_at, min_iat, revoked, signed) "
                              "VALUES (:v, :s, 100, 0, '[]', :b)"), {"v": version, "s": space, "b": b"x"})
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('revocation_list', 3)"))
    assert upgrade(database.engine) == head_revisions()
    with database.session(write=True) as db:
        assert read(db, revocation_counter(sp1)) == 3 and read(db, revocation_counter(sp2)) == 2
        rows = db.execute(text("SELECT space_id, version, lock_ids FROM revocation_lists ORDER BY version")).all()
        assert [(r[0], r[1]) for r in rows] == [(sp1, 1), (sp2, 2), (sp1, 3)]
        assert all(r[2] in ([], "[]") for r in rows)  # not known for old lists: none named
        # Versions are unique per space now, no longer across spaces.
        db.execute(text("INSERT INTO revocation_lists (version, space_id, issued_at, min_iat, revoked, lock_ids, "
                        "signed) VALUES (1, :s, 200, 0, '[]', '[]', :b)"), {"s": sp2, "b": b"y"})
        db.commit()
    with database.session(write=True) as db:
        db.execute(text("DELETE FROM revocation_lists WHERE issued_at = 200"))
        db.commit()
    _to(database, "0003", down=True)
    assert current_revisions(database.engine) == {"0003"}
    with database.session(write=False) as db:
        assert read(db, revocation_counter(sp1)) is None
