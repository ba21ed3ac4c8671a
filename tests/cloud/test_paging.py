"""Page totals: exact whether the total comes from the page itself (a short page) or from a COUNT(*)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cloud.conftest import Logins

SPACES = "/api/v1/confined-spaces"


def page(client: TestClient, headers: dict[str, str], limit: int, offset: int) -> tuple[int, int]:
    r = client.get(SPACES, params={"limit": limit, "offset": offset}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    return len(body["items"]), body["total"]


def test_total_is_the_same_for_every_page_shape(client: TestClient, as_user: Logins) -> None:
    admin = as_user("admin")
    n, total = page(client, admin, 500, 0)  # one short page: the total is read off the page
    assert n == total >= 3
    assert page(client, admin, 1, 0) == (1, total)  # a full page: counted
    assert page(client, admin, total, 0) == (total, total)  # exactly full: counted, not guessed
    assert page(client, admin, 2, total - 1) == (1, total)  # a short last page after an offset
    assert page(client, admin, 10, total) == (0, total)  # past the end: nothing on the page, still counted
    assert page(client, admin, 10, total + 50) == (0, total)


def test_total_is_scoped_like_the_items(client: TestClient, as_user: Logins) -> None:
    admin_total = page(client, as_user("admin"), 500, 0)[1]
    n, total = page(client, as_user("mgr1"), 500, 0)
    assert n == total < admin_total
    assert page(client, as_user("mgr1"), 1, 0)[1] == total
