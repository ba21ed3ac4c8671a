"""HTTP behaviour shared by every endpoint: body size limit, JSON errors, OpenAPI, health."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from fwsim.stage.world import World
from tests.cloud.conftest import Logins


def test_oversized_body_is_413(client: TestClient, as_user: Logins, world: World) -> None:
    big = b'{"code": "x", "name": "' + b"x" * (70 * 1024) + b'"}'
    r = client.post("/api/v1/districts", content=big, headers={**as_user("admin"), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_oversized_chunked_body_is_413(client: TestClient, as_user: Logins, world: World) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    r = client.post("/api/v1/districts", content=chunks(),
                    headers={**as_user("admin"), "Content-Type": "application/json"})
    assert r.status_code == 413


def test_malformed_json_is_422(client: TestClient, as_user: Logins, world: World) -> None:
    r = client.post("/api/v1/districts", content=b"{not json", headers={**as_user("admin"),
                                                                         "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_documents_every_endpoint_with_bearer_auth(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/audit",
                 "/api/v1/districts", "/api/v1/streets/{street_id}", "/api/v1/grids/{grid_id}/officers",
                 "/api/v1/enterprises", "/api/v1/enterprises/import", "/api/v1/confined-spaces/{space_id}"):
        assert path in paths, path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "text/csv" in paths["/api/v1/enterprises/import"]["post"]["requestBody"]["content"]
    assert "404" in paths["/api/v1/enterprises/{enterprise_id}"]["get"]["responses"]
