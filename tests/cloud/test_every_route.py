"""Every route of the cloud API, enumerated from the app the factory builds — nothing here lists paths by hand
except the classification, and a route missing from it fails ``test_every_route_is_classified``.

For every route, parametrized so that a failure names it:

- not public → 401 with a JSON error and ``WWW-Authenticate: Bearer`` without credentials, with another scheme,
  and with unknown user and device tokens; public ones (a commented allow-list) answer without credentials;
- a JSON body → 422 naming the member, for a wrong-typed value of each member in turn, an unknown member and a
  body that is not an object; a raw body (CSV import, uplink batch) → 422 naming the field; stored data unchanged;
- a non-string query parameter → 422 naming ``query.<name>``; a malformed path id → 422 naming ``path.<name>``;
- an id no row can have (past the 32-bit id columns, or below 1) in a path, query or body → 422 naming it, not a
  database error (500); likewise a paging offset or cursor past 64 bits;
- a path id → 404 for an id that does not exist, for a caller allowed to act, with a valid body;
- a path id → 404 for every object of E1 / D1 when the caller is scoped to E2 / D2 (the documented policy,
  ``cloud/errors.py``: an object outside the caller's scope is ``NotFound``; ``Forbidden`` only for what the role
  may never do), for every role of that side, data unchanged; gateway-protocol routes answer 403
  ``wrong_gateway`` to another gateway's device token.

One app and one seeded city per database backend (module scope): every request these tests make is refused, and
the tests check that stored data did not change, so they can share it: some 1,500 requests per backend in
seconds, instead of a migration and a seeding for each of the ~340 tests. Both backends run the whole matrix.
"""

from __future__ import annotations

import functools
import inspect
import secrets
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import DataError

from cloud.app import create_app
from cloud.auth.policy import ALLOWED, Action
from cloud.auth.roles import Role
from cloud.db.engine import Database
from cloud.db.migrate import upgrade
from cloud.keys import service as keys_service
from cloud.keys.service import init_keys, keys_dir
from cloud.metadata import load_metadata
from fwsim.stage.field import make_csr
from fwsim.stage.world import PASSWORD, World, enterprise_body, seed_world, space_body
from protocols import crypto
from tests.cloud.conftest import Clock, Logins, make_settings, throwaway_app
from tests.cloud.ingest.helpers import alarm, batch_bytes, session

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from fastapi.testclient import TestClient

API = "/api/v1"
Route = tuple[str, str]  # (method, path template)
Body = Callable[["Env"], dict[str, Any]]

# -- the classification ------------------------------------------------------------------------------------------------

#: Routes that answer without credentials, each with the reason it may.
PUBLIC: dict[Route, str] = {
    ("GET", "/healthz"): "load balancers' liveness probe; says only that the service and its database answer",
    ("GET", "/openapi.json"): "the API description: documents the API, holds no data",
    ("GET", "/docs"): "Swagger UI page over /openapi.json",
    ("GET", "/docs/oauth2-redirect"): "Swagger UI's static OAuth helper page",
    ("GET", "/redoc"): "ReDoc page over /openapi.json",
    ("POST", f"{API}/auth/login"): "trades a password for a token: nothing to authenticate with yet (throttled)",
    ("POST", f"{API}/enrolment"): "a gateway authenticates with the one-time enrolment code in the body",
    ("GET", f"{API}/keys"): "public keys gateways, padlocks and phones verify with; no secret",
    ("GET", f"{API}/ca/certificate.pem"): "the CA certificate brokers and TLS terminators trust; public by nature",
    ("GET", f"{API}/ca/crl.pem"): "the CA's revocation list: relying parties fetch it without credentials",
}

#: Gateway-protocol routes: the device token of the gateway named in the path (not a user's token).
DEVICE: dict[Route, str] = {
    ("POST", f"{API}/gateways/{{gateway_id}}/batches"): "the gateway's uplink batches",
    ("GET", f"{API}/gateways/{{gateway_id}}/commands"): "the gateway's poll for signed downlink commands",
}


class Caller(NamedTuple):
    """A seeded user allowed to call the route (on E1's objects), and a valid JSON body if the route takes one."""

    user: str
    body: Body | None = None


def _permit_body(e: Env) -> dict[str, Any]:
    start = e.clock.now + timedelta(minutes=30)
    return {"space_id": e["SP1"], "kind": "operation", "work_start": start.isoformat(),
            "work_end": (start + timedelta(hours=4)).isoformat(), "max_continuous_minutes": 45,
            "gas_test_required": True, "attendant_id": e["ATT"], "entrant_ids": [e["W1"]],
            "required_certificates": ["confined_space_operation"],
            "risk_identification": [{"hazard": "toxic_gas", "measures": "通风并连续检测"}],
            "isolation": ["关闭进水阀"], "ventilation": "机械通风 30 分钟", "ppe": ["正压式空气呼吸器"],
            "rescue_plan": "三脚架救援"}


def _pre_entry_body(e: Env) -> dict[str, Any]:
    return {"gas_readings": [{"gas": "O2", "value": 20.9, "unit": "%VOL"}], "tested_at": e.clock.now.isoformat(),
            "isolation_confirmed": True, "ventilation_confirmed": True, "ppe_checked": True,
            "rescue_equipment_ready": True, "entrants_briefed": True}


def _patrol_body(e: Env, **over: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "enterprise_id": e["E1"], "visited_at": e.clock.now.isoformat(),
            "place": "厂区东侧", "checklist": [{"code": "exits", "result": "ok"}], "photos": [], "findings": [],
            **over}


def _public_key(_e: Env) -> str:
    return crypto.public_raw(crypto.generate_private_key()).hex()


def _name(_e: Env) -> dict[str, Any]:
    return {"name": "改名"}


def _reason(_e: Env) -> dict[str, Any]:
    return {"reason": "测试"}


def _note(_e: Env) -> dict[str, Any]:
    return {"note": "测试"}


#: Every route that needs a signed-in user. The caller is the narrowest seeded user allowed to call it, so its
#: counterpart on the E2 / D2 side tests object-level authorization rather than the role check.
CALLERS: dict[Route, Caller] = {
    ("POST", f"{API}/auth/logout"): Caller("worker1"),
    ("GET", f"{API}/users/me"): Caller("worker1"),
    ("PATCH", f"{API}/users/me"): Caller("worker1", lambda e: {"display_name": "我"}),
    ("GET", f"{API}/users"): Caller("admin"),
    ("POST", f"{API}/users"): Caller("admin", lambda e: {
        "username": "new-user", "display_name": "新用户", "password": PASSWORD, "role": "worker",
        "scope": {"kind": "enterprise", "id": e["E1"]}}),
    ("GET", f"{API}/users/{{user_id}}"): Caller("mgr1"),
    ("PATCH", f"{API}/users/{{user_id}}"): Caller("mgr1", lambda e: {"display_name": "改名"}),
    ("GET", f"{API}/audit"): Caller("admin"),
    ("GET", f"{API}/districts"): Caller("admin"),
    ("POST", f"{API}/districts"): Caller("admin", lambda e: {"code": "440399", "name": "新区"}),
    ("GET", f"{API}/districts/{{district_id}}"): Caller("sup1"),
    ("PATCH", f"{API}/districts/{{district_id}}"): Caller("admin", _name),
    ("DELETE", f"{API}/districts/{{district_id}}"): Caller("admin"),
    ("GET", f"{API}/streets"): Caller("admin"),
    ("POST", f"{API}/streets"): Caller("sup1", lambda e: {"district_id": e["D1"], "code": "SX", "name": "新街道"}),
    ("GET", f"{API}/streets/{{street_id}}"): Caller("sup1"),
    ("PATCH", f"{API}/streets/{{street_id}}"): Caller("sup1", _name),
    ("DELETE", f"{API}/streets/{{street_id}}"): Caller("sup1"),
    ("GET", f"{API}/grids"): Caller("admin"),
    ("POST", f"{API}/grids"): Caller("sup1", lambda e: {"street_id": e["S1"], "code": "GX", "name": "新网格"}),
    ("GET", f"{API}/grids/{{grid_id}}"): Caller("officer1"),
    ("PATCH", f"{API}/grids/{{grid_id}}"): Caller("sup1", _name),
    ("DELETE", f"{API}/grids/{{grid_id}}"): Caller("sup1"),
    ("GET", f"{API}/grids/{{grid_id}}/officers"): Caller("officer1"),
    ("POST", f"{API}/grids/{{grid_id}}/bindings"): Caller("sup1", lambda e: {"user_id": e["law1"],
                                                                            "role": "other_force"}),
    ("GET", f"{API}/streets/{{street_id}}/grid-balance"): Caller("sup1"),
    ("POST", f"{API}/grid-bindings/import"): Caller("sup1"),
    ("POST", f"{API}/space-ledger/import"): Caller("mgr1"),
    ("POST", f"{API}/grids/import"): Caller("sup1"),
    ("GET", f"{API}/enterprises/{{enterprise_id}}/history"): Caller("mgr1"),
    ("GET", f"{API}/grids/{{grid_id}}/space-gaps"): Caller("officer1"),
    ("GET", f"{API}/streets/{{street_id}}/space-ledger"): Caller("sup1"),
    ("GET", f"{API}/districts/{{district_id}}/space-ledger"): Caller("sup1"),
    ("POST", f"{API}/confined-spaces/{{space_id}}/rescue-guidance"): Caller("mgr1"),
    ("GET", f"{API}/districts/{{district_id}}/grid-balance"): Caller("sup1"),
    ("GET", f"{API}/enterprises"): Caller("admin"),
    ("POST", f"{API}/enterprises"): Caller("officer1", lambda e: enterprise_body(e["G1"], 90)),
    ("POST", f"{API}/enterprises/import"): Caller("officer1"),
    ("GET", f"{API}/enterprises/{{enterprise_id}}"): Caller("mgr1"),
    ("PATCH", f"{API}/enterprises/{{enterprise_id}}"): Caller("mgr1", _name),
    ("DELETE", f"{API}/enterprises/{{enterprise_id}}"): Caller("officer1"),
    ("GET", f"{API}/confined-spaces"): Caller("admin"),
    ("POST", f"{API}/confined-spaces"): Caller("mgr1", lambda e: space_body(e["E1"], "SPX")),
    ("GET", f"{API}/confined-spaces/{{space_id}}"): Caller("worker1"),
    ("PATCH", f"{API}/confined-spaces/{{space_id}}"): Caller("mgr1", _name),
    ("DELETE", f"{API}/confined-spaces/{{space_id}}"): Caller("mgr1"),
    ("GET", f"{API}/gateways/{{gateway_id}}/streams"): Caller("mgr1"),
    ("GET", f"{API}/alerts"): Caller("admin"),
    ("GET", f"{API}/alerts/feed"): Caller("admin"),
    ("GET", f"{API}/alerts/{{alert_id}}"): Caller("mgr1"),
    ("POST", f"{API}/alerts/{{alert_id}}/acknowledge"): Caller("att1", _note),
    ("POST", f"{API}/alerts/{{alert_id}}/resolve"): Caller("att1", _note),
    ("GET", f"{API}/live/sessions"): Caller("admin"),
    ("GET", f"{API}/gateways"): Caller("admin"),
    ("POST", f"{API}/gateways"): Caller("mgr1", lambda e: {"id": "gw-new", "enterprise_id": e["E1"], "name": "新"}),
    ("GET", f"{API}/gateways/{{gateway_id}}"): Caller("mgr1"),
    ("PATCH", f"{API}/gateways/{{gateway_id}}"): Caller("mgr1", _name),
    ("POST", f"{API}/gateways/{{gateway_id}}/revoke"): Caller("mgr1", _reason),
    ("POST", f"{API}/gateways/{{gateway_id}}/enrolment-codes"): Caller("mgr1", lambda e: {"ttl_minutes": 60}),
    ("GET", f"{API}/gateways/{{gateway_id}}/certificates"): Caller("mgr1"),
    ("POST", f"{API}/gateways/{{gateway_id}}/certificates/{{serial}}/revoke"): Caller("mgr1", _reason),
    ("POST", f"{API}/gateways/{{gateway_id}}/trust-list"): Caller("mgr1"),
    ("GET", f"{API}/gateways/{{gateway_id}}/sent-commands"): Caller("mgr1"),
    ("GET", f"{API}/padlocks"): Caller("admin"),
    ("POST", f"{API}/padlocks"): Caller("mgr1", lambda e: {
        "lock_id": "00112233445566ff", "label": "PL-X", "space_id": e["SP1"], "public_key": _public_key(e)}),
    ("GET", f"{API}/padlocks/{{padlock_id}}"): Caller("mgr1"),
    ("PATCH", f"{API}/padlocks/{{padlock_id}}"): Caller("mgr1", lambda e: {"label": "PL-Y"}),
    ("DELETE", f"{API}/padlocks/{{padlock_id}}"): Caller("mgr1"),
    ("GET", f"{API}/detectors"): Caller("admin"),
    ("POST", f"{API}/detectors"): Caller("mgr1", lambda e: {
        "label": "GD-X", "space_id": e["SP1"], "bus": "rs485-1", "unit_id": 9, "profile": "generic-4gas"}),
    ("GET", f"{API}/detectors/{{detector_id}}"): Caller("mgr1"),
    ("PATCH", f"{API}/detectors/{{detector_id}}"): Caller("mgr1", lambda e: {"label": "GD-Y"}),
    ("DELETE", f"{API}/detectors/{{detector_id}}"): Caller("mgr1"),
    ("GET", f"{API}/workers"): Caller("admin"),
    ("POST", f"{API}/workers"): Caller("mgr1", lambda e: {"enterprise_id": e["E1"], "name": "新工人"}),
    ("GET", f"{API}/workers/me"): Caller("worker1"),
    ("PUT", f"{API}/workers/me/phone-key"): Caller("worker1", lambda e: {"phone_key": _public_key(e)}),
    ("GET", f"{API}/workers/{{worker_id}}"): Caller("mgr1"),
    ("PATCH", f"{API}/workers/{{worker_id}}"): Caller("mgr1", _name),
    ("DELETE", f"{API}/workers/{{worker_id}}"): Caller("mgr1"),
    ("GET", f"{API}/permits"): Caller("admin"),
    ("POST", f"{API}/permits"): Caller("mgr1", _permit_body),
    ("GET", f"{API}/permits/{{permit_id}}"): Caller("worker1"),
    ("POST", f"{API}/permits/{{permit_id}}/approve"): Caller("appr1", _note),
    ("POST", f"{API}/permits/{{permit_id}}/refuse"): Caller("appr1", _reason),
    ("POST", f"{API}/permits/{{permit_id}}/pre-entry"): Caller("att1", _pre_entry_body),
    ("POST", f"{API}/permits/{{permit_id}}/revoke"): Caller("mgr1", _reason),
    ("GET", f"{API}/workers/me/permits/{{permit_id}}/token"): Caller("worker1"),
    ("GET", f"{API}/hazards"): Caller("admin"),
    ("POST", f"{API}/hazards"): Caller("officer1", lambda e: {
        "enterprise_id": e["E1"], "source": "grid_patrol", "description": "测试隐患", "severity": "general"}),
    ("GET", f"{API}/hazards/{{hazard_id}}"): Caller("mgr1"),
    ("GET", f"{API}/hazards/{{hazard_id}}/events"): Caller("mgr1"),
    ("POST", f"{API}/hazards/{{hazard_id}}/steps"): Caller("mgr1", lambda e: {"step": "start"}),
    ("GET", f"{API}/grids/{{grid_id}}/hazard-mode"): Caller("officer1"),
    ("PUT", f"{API}/grids/{{grid_id}}/hazard-mode"): Caller("sup1", lambda e: {"mode": "separated"}),
    ("POST", f"{API}/hazard-photos"): Caller("mgr1"),
    ("POST", f"{API}/schedule/runs"): Caller("sup1", lambda e: {"start": "2026-06-01", "end": "2026-06-30"}),
    ("PUT", f"{API}/enterprises/{{enterprise_id}}/frequency"): Caller("sup1", lambda e: {"frequency": "monthly"}),
    ("GET", f"{API}/patrol-tasks"): Caller("admin"),
    ("POST", f"{API}/patrol-records"): Caller("officer1", lambda e: _patrol_body(e)),
    ("GET", f"{API}/patrol-records"): Caller("admin"),
    ("GET", f"{API}/patrol-records/{{record_id}}"): Caller("mgr1"),
    ("GET", f"{API}/patrol-conflicts"): Caller("admin"),
}

#: Valid bodies of the public routes that take one (for the 422 tests; never sent as they are).
PUBLIC_BODIES: dict[Route, Body] = {
    ("POST", f"{API}/auth/login"): lambda e: {"username": "mgr1", "password": PASSWORD},
    ("POST", f"{API}/enrolment"): lambda e: {"gateway_id": "gw-e1", "code": "sge_not-a-code",
                                             "csr_pem": make_csr("gw-e1")[1], "signing_key": _public_key(e)},
}


#: Routes reading a raw (non-JSON-model) body: an invalid one, and the field the 422 must name.
RAW_BODIES: dict[Route, tuple[bytes, str, str]] = {  # body, content type, field
    ("POST", f"{API}/enterprises/import"): (b"uscc,nonsense\n1,2\n", "text/csv", "name"),
    ("POST", f"{API}/grid-bindings/import"): (b"grid_code,nonsense\n1,2\n", "text/csv", "username"),
    ("POST", f"{API}/space-ledger/import"): (b"uscc,nonsense\n1,2\n", "text/csv", "code"),
    ("POST", f"{API}/grids/import"): (b"street_code,nonsense\n1,2\n", "text/csv", "community"),
    ("POST", f"{API}/gateways/{{gateway_id}}/batches"): (
        b'{"v": 1, "gateway": "gw-e1", "epoch": "one", "sent_at_ms": 0, "records": []}', "application/json", "epoch"),
    ("POST", f"{API}/hazard-photos"): (b"GIF89a, not a JPEG or PNG", "image/gif", "photo"),
}

#: The E1 / D1 object each path parameter names (keys of ``Env.ids``), one that does not exist, a malformed one.
PATH_TARGET = {"user_id": "worker1", "district_id": "D1", "street_id": "S1", "grid_id": "G1", "enterprise_id": "E1",
               "space_id": "SP1", "gateway_id": "gw-e1", "serial": "serial-gw-e1", "alert_id": "alert-e1",
               "padlock_id": "padlock-e1", "detector_id": "detector-e1", "worker_id": "W1", "permit_id": "permit-e1",
               "hazard_id": "hazard-e1", "record_id": "record-e1"}
PATH_MISSING: dict[str, str | int] = {"gateway_id": "gw-missing", "serial": "0badc0de",
                                     "record_id": "00000000-0000-4000-8000-000000000000"}  # other ids are ints
PATH_MALFORMED = {"gateway_id": "bad.id", "serial": "not-hex", "record_id": "not-a-uuid"}  # ints get "abc"
MISSING_INT = 987_654_321

#: The E2 / D2 side: every role that exists there, each tried on every E1 / D1 object.
OUTSIDERS = {"mgr2": "enterprise E2", "appr2": "enterprise E2", "att2": "enterprise E2", "wrk2": "enterprise E2",
             "sup2": "district D2", "reg2": "district D2", "tech2": "district D2"}




class Listing(NamedTuple):
    """A list endpoint: the ids its response shows, and the E1 / D1 objects (keys of ``Env.ids``) that its caller
    (in ``CALLERS``) sees and no user of the E2 / D2 side may."""

    ids: Callable[[Any], set[Any]]
    e1: tuple[str, ...]


def _items(member: str = "id") -> Callable[[Any], set[Any]]:
    return lambda body: {item[member] for item in body["items"]}


#: Every list (an authenticated GET without path parameters): a route missing here and from ``OWN`` fails
#: ``test_every_list_is_classified``, like an unclassified route.
LISTS: dict[Route, Listing] = {
    ("GET", f"{API}/users"): Listing(_items(), ("sup1", "law1", "officer1", "mgr1", "worker1", "appr1", "att1")),
    ("GET", f"{API}/audit"): Listing(_items("entity_id"), ("str-E1", "str-SP1", "str-permit-e1")),
    ("GET", f"{API}/districts"): Listing(_items(), ("D1",)),
    ("GET", f"{API}/streets"): Listing(_items(), ("S1",)),
    ("GET", f"{API}/grids"): Listing(_items(), ("G1", "G1b")),
    ("GET", f"{API}/enterprises"): Listing(_items(), ("E1", "E1b")),
    ("GET", f"{API}/confined-spaces"): Listing(_items(), ("SP1", "SP1b")),
    ("GET", f"{API}/gateways"): Listing(_items(), ("gw-e1",)),
    ("GET", f"{API}/padlocks"): Listing(_items(), ("padlock-e1",)),
    ("GET", f"{API}/detectors"): Listing(_items(), ("detector-e1",)),
    ("GET", f"{API}/workers"): Listing(_items(), ("W1", "ATT")),
    ("GET", f"{API}/permits"): Listing(_items(), ("permit-e1",)),
    ("GET", f"{API}/alerts"): Listing(_items(), ("alert-e1",)),
    ("GET", f"{API}/alerts/feed"): Listing(_items("alert_id"), ("alert-e1",)),
    ("GET", f"{API}/live/sessions"): Listing(_items("gateway_id"), ("gw-e1",)),
    ("GET", f"{API}/hazards"): Listing(_items(), ("hazard-e1",)),
    ("GET", f"{API}/patrol-tasks"): Listing(_items(), ("task-e1", "task-e1b")),
    ("GET", f"{API}/patrol-records"): Listing(_items(), ("record-e1",)),
    ("GET", f"{API}/patrol-conflicts"): Listing(_items(), ("conflict-e1",)),
}

#: Authenticated GETs without path parameters that are not lists of objects in a scope, each with what it shows.
OWN: dict[Route, str] = {
    ("GET", f"{API}/users/me"): "the caller's own account",
    ("GET", f"{API}/workers/me"): "the caller's own worker record",
}

#: Path parameters a route may take as a plain value instead of an object from ``cloud.scope.in_scope``, with why.
UNSCOPED_PATH: dict[tuple[Route, str], str] = {
    (("POST", f"{API}/gateways/{{gateway_id}}/certificates/{{serial}}/revoke"), "serial"):
        "a certificate of the gateway, looked up among that (scope-checked) gateway's certificates",
    (("GET", f"{API}/workers/me/permits/{{permit_id}}/token"), "permit_id"):
        "the caller's own permit: looked up among the permits naming the caller's worker record",
}

#: The E1 / D1 object a list's query parameter may name (keys of ``Env.ids``), to ask for E1's objects outright.
QUERY_TARGET = {"district_id": "D1", "grid_id": "G1", "enterprise_id": "E1", "space_id": "SP1",
                "gateway_id": "gw-e1", "actor_id": "mgr1", "entity_id": "str-E1"}

#: Routes known to misbehave in files this test's author could not change, with the problem: strict xfails of the
#: out-of-range tests below, so a fix turns them into failures until the entry goes.
KNOWN_ISSUES: dict[Route, str] = {}

# -- enumerating the app -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    """What the app says about one (method, path): its parameters, JSON body model and the action it checks."""

    method: str
    path: str
    is_api: bool
    path_params: tuple[str, ...] = ()
    int_path_params: tuple[str, ...] = ()
    query_params: tuple[tuple[str, Any], ...] = ()  # (name, annotation)
    body_model: type[BaseModel] | None = None
    raw_body: bool = False
    action: Action | None = None
    scoped_params: tuple[str, ...] = ()  # path parameters a ``cloud.scope.in_scope`` dependency turns into objects

    @property
    def key(self) -> Route:
        return (self.method, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _action_of(dependant: Dependant) -> Action | None:
    """The action of an ``allowed(action)`` dependency (the role check), if the route has one."""
    for dep in _walk(dependant):
        call = dep.call
        if call is not None and getattr(call, "__qualname__", "") == "allowed.<locals>._check":
            action = inspect.getclosurevars(call).nonlocals["action"]
            assert isinstance(action, Action)
            return action
    return None


def enumerate_routes(app: FastAPI) -> dict[Route, RouteInfo]:
    """Every (method, path) the app serves. FastAPI keeps included routers as lazy entries of ``app.routes``;
    ``iter_route_contexts`` flattens them into the routes as served (prefix applied)."""
    out: dict[Route, RouteInfo] = {}
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        methods = sorted((ctx.methods or {"GET"}) - {"HEAD"})
        path = ctx.path
        assert path is not None
        if not isinstance(route, APIRoute):
            for method in methods:
                out[(method, path)] = RouteInfo(method, path, is_api=False)
            continue
        deps = list(_walk(ctx.dependant))
        path_params = tuple(dict.fromkeys(p.alias for d in deps for p in d.path_params))
        int_path_params = tuple(dict.fromkeys(p.alias for d in deps for p in d.path_params
                                              if p.field_info.annotation is int))
        query_params = tuple(dict.fromkeys((p.alias, p.field_info.annotation) for d in deps for p in d.query_params))
        scoped_params = tuple(dict.fromkeys(p.alias for d in deps for p in d.path_params
                                            if getattr(d.call, "__qualname__", "").startswith("in_scope[")))
        body = ctx.body_field
        extra = ctx.openapi_extra or {}
        for method in methods:
            out[(method, path)] = RouteInfo(
                method, path, is_api=True, path_params=path_params, int_path_params=int_path_params,
                query_params=query_params,
                body_model=body.field_info.annotation if body is not None else None,
                raw_body=body is None and "requestBody" in extra, action=_action_of(ctx.dependant),
                scoped_params=scoped_params)
    return out


@functools.cache
def app_routes() -> dict[Route, RouteInfo]:
    """The routes of an app built by the real factory (``create_app``), once per test session."""
    with throwaway_app() as app:
        return enumerate_routes(app)


def _routes(keep: Callable[[RouteInfo], bool], known: dict[Route, str] | None = None) -> list[Any]:
    """The routes ``keep`` selects, as parameters named after them; those in ``known`` are strict xfails (a fix
    makes them fail until the entry goes)."""
    known = known or {}
    xfail = functools.partial(pytest.mark.xfail, strict=True, raises=(AssertionError, OverflowError, DataError))
    return [pytest.param(info, id=str(info), marks=[xfail(reason=known[info.key])] if info.key in known else [])
            for info in sorted(app_routes().values(), key=str) if keep(info)]


def _authenticated(info: RouteInfo) -> bool:
    return info.key not in PUBLIC


def _non_str(annotation: Any) -> bool:
    return annotation not in (str, str | None)


# -- the shared world --------------------------------------------------------------------------------------------------


@dataclass
class Env:
    client: TestClient
    database: Database
    clock: Clock
    logins: Logins
    ids: dict[str, Any] = field(default_factory=dict)
    device: dict[str, dict[str, str]] = field(default_factory=dict)  # gateway id → device-token header
    roles: dict[str, Role] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.ids[name]

    def headers(self, user: str) -> dict[str, str]:
        return self.logins(user)

    def role(self, user: str) -> Role:
        if user not in self.roles:
            self.roles[user] = Role(self.ok("GET", f"{API}/users/me", user)["role"])
        return self.roles[user]

    def ok(self, method: str, url: str, user: str = "admin", **kw: Any) -> Any:
        r = self.client.request(method, url, headers=self.headers(user), **kw)
        assert r.status_code in (200, 201), f"setup: {method} {url} → {r.status_code} {r.text}"
        return r.json()


def _build_world(env: Env, world: World) -> None:
    """E1 / D1 objects of every type the seeded world lacks, made through the API (as admin; the permit as mgr1
    and approved by appr1, as only those roles may), and the E2 / D2 users of every role."""
    env.ids.update(world.ids)
    for name, role, kind, scope in (
            ("appr1", "approver", "enterprise", "E1"), ("att1", "attendant", "enterprise", "E1"),
            ("appr2", "approver", "enterprise", "E2"), ("att2", "attendant", "enterprise", "E2"),
            ("wrk2", "worker", "enterprise", "E2"), ("reg2", "approver", "district", "D2"),
            ("tech2", "technician", "district", "D2")):
        env.ids[name] = env.ok("POST", f"{API}/users", json={
            "username": name, "display_name": name, "password": PASSWORD, "role": role,
            "scope": {"kind": kind, "id": world[scope]}})["id"]
    for gw, ent in (("gw-e1", "E1"), ("gw-e2", "E2")):
        env.ok("POST", f"{API}/gateways", json={"id": gw, "enterprise_id": world[ent], "name": gw})
        code = env.ok("POST", f"{API}/gateways/{gw}/enrolment-codes", json={})["code"]
        out = env.ok("POST", f"{API}/enrolment", json={"gateway_id": gw, "code": code, "csr_pem": make_csr(gw)[1],
                                                       "signing_key": _public_key(env)})
        env.device[gw] = {"Authorization": f"Bearer {out['device_token']}"}
        env.ids[gw] = gw
        env.ids[f"serial-{gw}"] = env.ok("GET", f"{API}/gateways/{gw}/certificates")[0]["serial"]
    env.ids["padlock-e1"] = env.ok("POST", f"{API}/padlocks", json={
        "lock_id": "a1b2c3d4e5f60718", "label": "PL-SP1", "space_id": world["SP1"], "gateway_id": "gw-e1",
        "public_key": _public_key(env)})["id"]
    env.ids["detector-e1"] = env.ok("POST", f"{API}/detectors", json={
        "label": "GD-SP1", "space_id": world["SP1"], "gateway_id": "gw-e1", "bus": "rs485-1", "unit_id": 1,
        "profile": "generic-4gas"})["id"]
    qualified = {"training_valid_until": "2027-12-31", "certificates": [
        {"kind": "confined_space_operation", "number": "T-1", "valid_until": "2027-12-31"}]}
    for name, user in (("W1", "worker1"), ("ATT", "att1")):
        env.ids[name] = env.ok("POST", f"{API}/workers", json={
            "enterprise_id": world["E1"], "name": name, "user_id": env[user], "phone_key": _public_key(env),
            **qualified})["id"]
    env.ids["permit-e1"] = env.ok("POST", f"{API}/permits", "mgr1", json=_permit_body(env))["id"]
    assert env.ok("POST", f"{API}/permits/{env['permit-e1']}/approve", "appr1", json={})["status"] == "approved"
    r = env.client.post(f"{API}/gateways/gw-e1/batches", content=batch_bytes("gw-e1", [alarm(1, "a1", space="SP1"),
                                                              session(2, "s1", "in_work", space="SP1")]),
                        headers={**env.device["gw-e1"], "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    alerts = env.ok("GET", f"{API}/alerts")["items"]
    assert len(alerts) == 1
    env.ids["alert-e1"] = alerts[0]["id"]
    env.ids["hazard-e1"] = env.ok("POST", f"{API}/hazards", "officer1", json={
        "enterprise_id": world["E1"], "source": "grid_patrol", "description": "入口未设警示标识",
        "severity": "general"})["id"]
    assert env.ok("POST", f"{API}/hazards/{env['hazard-e1']}/steps", "officer1", json={
        "step": "assign", "assignee": "街道应急办",
        "deadline": (env.clock.now + timedelta(days=3)).isoformat()})["state"] == "assigned"
    env.ok("POST", f"{API}/schedule/runs", json={"start": "2026-05-01", "end": "2026-05-31", "seed": 1})
    for task in env.ok("GET", f"{API}/patrol-tasks")["items"]:
        env.ids[{world["E1"]: "task-e1", world["E1b"]: "task-e1b", world["E2"]: "task-e2"}[task["enterprise_id"]]] = \
            task["id"]
    record = _patrol_body(env)
    env.ids["record-e1"] = env.ok("POST", f"{API}/patrol-records", "officer1", json=record)["id"]
    r = env.client.post(f"{API}/patrol-records", headers=env.headers("officer1"), json={**record, "place": "西侧"})
    assert r.status_code == 409, r.text
    env.ids["conflict-e1"] = r.json()["conflict_id"]
    for name in ("E1", "SP1", "permit-e1"):  # audit entries name their entity by a string
        env.ids[f"str-{name}"] = str(env[name])
    for user in {*OUTSIDERS, *(c.user for c in CALLERS.values())}:  # logins write: all of them before any test
        env.role(user)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp(f"every-route-{request.param}")
    postgres = request.getfixturevalue("postgres") if request.param == "postgres" else None
    url = postgres.create_database() if postgres is not None else f"sqlite:///{tmp / 'cloud.db'}"
    settings = make_settings(url).model_copy(update={"data_dir": tmp / "data"})
    database = Database.from_url(settings.database_url())
    previous_store = keys_service._default
    try:
        upgrade(database.engine)
        clock = Clock()
        init_keys(keys_dir(settings.data_dir), now=clock.now)
        world = seed_world(database, settings, now=clock.now)
        with TestClient(create_app(settings, clock=clock)) as client:
            e = Env(client=client, database=database, clock=clock, logins=Logins(client))
            _build_world(e, world)
            yield e
    finally:
        keys_service._default = previous_store
        database.dispose()
        if postgres is not None:
            postgres.drop_database(url.rsplit("/", 1)[1])


# -- helpers -----------------------------------------------------------------------------------------------------------


def caller_of(info: RouteInfo) -> Caller:
    caller = CALLERS.get(info.key)
    if caller is None:
        pytest.fail(f"{info} is not classified: add it to CALLERS, DEVICE or PUBLIC in {__name__}")
    return caller


def url_of(info: RouteInfo, env: Env, **over: Any) -> str:
    values = {name: over.get(name, env[PATH_TARGET[name]]) for name in info.path_params}
    return info.path.format(**values)


def stored(env: Env) -> dict[str, list[str]]:
    """Every row of every table, to show that refused requests changed nothing."""
    with env.database.engine.connect() as conn:
        return {t.name: sorted(repr(tuple(row)) for row in conn.execute(select(t)))
                for t in load_metadata().sorted_tables}


def assert_unchanged(before: dict[str, list[str]], env: Env, info: RouteInfo) -> None:
    after = stored(env)
    changed = [t for t in before if before[t] != after[t]]
    assert not changed, f"{info} changed stored data in {changed}"


def assert_error(r: Any, status: int, what: str) -> dict[str, Any]:
    assert r.status_code == status, f"{what}: expected {status}, got {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/json"), what
    error = r.json()["error"]
    assert {"code", "message", "field"} <= set(error), what
    return error


def request(env: Env, info: RouteInfo, url: str, headers: dict[str, str], body: dict[str, Any] | None) -> Any:
    return env.client.request(info.method, url, headers=headers, json=body)


def auth_of(info: RouteInfo, env: Env) -> tuple[dict[str, str], Caller | None]:
    if info.key in DEVICE:
        return env.device["gw-e1"], None
    caller = caller_of(info)
    return env.headers(caller.user), caller


# -- 5. the classification is complete ---------------------------------------------------------------------------------


def test_every_route_is_classified() -> None:
    served = set(app_routes())
    classified = [set(PUBLIC), set(DEVICE), set(CALLERS)]
    assert not (classified[0] & classified[1] or classified[0] & classified[2] or classified[1] & classified[2])
    unclassified = sorted(served - set().union(*classified))
    stale = sorted(set().union(*classified) - served)
    assert not unclassified, f"routes nobody classified (PUBLIC with a reason, DEVICE or CALLERS): {unclassified}"
    assert not stale, f"classified routes the app no longer serves: {stale}"
    raw = {info.key for info in app_routes().values() if info.raw_body}
    assert raw == set(RAW_BODIES), f"a raw body needs an invalid example in RAW_BODIES: {raw ^ set(RAW_BODIES)}"
    params = {p for info in app_routes().values() for p in info.path_params}
    assert params <= set(PATH_TARGET), f"path parameters with no E1 object in PATH_TARGET: {params - set(PATH_TARGET)}"
    assert set(KNOWN_ISSUES) <= served, f"known issues of routes the app no longer serves: {set(KNOWN_ISSUES) - served}"
    assert any(info.action for info in app_routes().values()), "no allowed(action) role check found: see _action_of"
    lists = {info.key for info in app_routes().values()
             if info.is_api and info.method == "GET" and not info.path_params and _authenticated(info)}
    classified_lists = set(LISTS) | set(OWN)
    assert not set(LISTS) & set(OWN)
    assert not lists - classified_lists, f"lists nobody classified (LISTS or OWN): {sorted(lists - classified_lists)}"
    assert not classified_lists - lists, f"classified lists the app does not serve: {classified_lists - lists}"
    for key, (_user, body) in CALLERS.items():
        info = app_routes()[key]
        assert (body is not None) == (info.body_model is not None), f"{info}: a valid body iff the route takes one"


# -- 1. authentication -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("info", _routes(_authenticated))
def test_without_valid_credentials_is_401(env: Env, info: RouteInfo) -> None:
    url = url_of(info, env)
    before = stored(env)
    for headers in ({}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer"},
                    {"Authorization": f"Bearer sgc_{secrets.token_urlsafe(32)}"},
                    {"Authorization": f"Bearer sgd_{secrets.token_urlsafe(32)}"}):
        error = assert_error(env.client.request(info.method, url, headers=headers), 401, f"{info} with {headers}")
        assert error["code"] == "unauthorized"
    r = env.client.request(info.method, url)
    assert r.headers.get("www-authenticate") == "Bearer", info
    assert_unchanged(before, env, info)


@pytest.mark.parametrize("info", _routes(lambda i: not _authenticated(i)))
def test_public_route_answers_without_credentials(env: Env, info: RouteInfo) -> None:
    r = env.client.request(info.method, info.path, json={} if info.body_model else None)
    assert r.status_code == (422 if info.body_model else 200), f"{info}: {r.status_code} {r.text[:300]}"


# -- 2. input validation -----------------------------------------------------------------------------------------------

WRONG_TYPE = {"wrong": ["type"]}  # a JSON object: wrong for every scalar, list and nested-model member


@pytest.mark.parametrize("info", _routes(lambda i: i.body_model is not None))
def test_wrong_typed_body_member_is_422_naming_it(env: Env, info: RouteInfo) -> None:
    assert info.body_model is not None
    caller = None if info.key in PUBLIC else caller_of(info)
    headers = env.headers(caller.user) if caller else {}
    valid = (caller.body if caller else PUBLIC_BODIES[info.key])(env)  # type: ignore[misc]
    info.body_model.model_validate(valid)  # the base body is valid: each 422 below comes from the one member
    url = url_of(info, env)
    before = stored(env)
    for name, member in info.body_model.model_fields.items():
        key = member.alias or name
        error = assert_error(request(env, info, url, headers, {**valid, key: WRONG_TYPE}), 422, f"{info} {key}")
        assert error["field"] == key or error["field"].startswith(f"{key}."), f"{info}: {key} → {error}"
    error = assert_error(request(env, info, url, headers, {**valid, "no_such_member": 1}), 422, f"{info} extra")
    assert error["field"] == "no_such_member", f"{info}: {error}"
    error = assert_error(request(env, info, url, headers, [valid]), 422, f"{info} array")  # type: ignore[arg-type]
    assert error["field"] == "body", f"{info}: {error}"
    assert_unchanged(before, env, info)


@pytest.mark.parametrize("info", _routes(lambda i: i.raw_body))
def test_invalid_raw_body_is_422_naming_the_field(env: Env, info: RouteInfo) -> None:
    body, content_type, field_name = RAW_BODIES[info.key]
    headers, _ = auth_of(info, env)
    before = stored(env)
    r = env.client.request(info.method, url_of(info, env), headers={**headers, "Content-Type": content_type},
                           content=body)
    assert assert_error(r, 422, str(info))["field"] == field_name
    assert_unchanged(before, env, info)


@pytest.mark.parametrize("info", _routes(lambda i: _authenticated(i) and any(_non_str(a) for _, a in i.query_params)))
def test_malformed_query_parameter_is_422_naming_it(env: Env, info: RouteInfo) -> None:
    headers, _ = auth_of(info, env)
    for name, annotation in info.query_params:
        if _non_str(annotation):
            r = env.client.request(info.method, url_of(info, env), headers=headers, params={name: "not-a-value"})
            assert assert_error(r, 422, f"{info} ?{name}")["field"] == f"query.{name}"


@pytest.mark.parametrize("info", _routes(lambda i: _authenticated(i) and bool(i.path_params)))
def test_malformed_path_parameter_is_422_naming_it(env: Env, info: RouteInfo) -> None:
    headers, caller = auth_of(info, env)
    body = caller.body(env) if caller and caller.body else None
    for name in info.path_params:
        url = url_of(info, env, **{name: PATH_MALFORMED.get(name, "abc")})
        assert assert_error(request(env, info, url, headers, body), 422, f"{info} {name}")["field"] == f"path.{name}"


OUT_OF_RANGE = (2**31, 2**63, -(2**63) - 1)  # past INTEGER on PostgreSQL, past 64 bits (SQLite), below both


def _int_like(annotation: Any) -> bool:
    """``int``, or an optional, annotated or list form of it."""
    if annotation is int:
        return True
    if get_origin(annotation) is Annotated:
        return _int_like(get_args(annotation)[0])
    if get_origin(annotation) in (list, Union, UnionType):
        return any(_int_like(a) for a in get_args(annotation) if a is not type(None))
    return False


def _id_members(model: type[BaseModel] | None) -> list[str]:
    """Top-level members of a body that hold ids (``*_id`` / ``*_ids`` integers)."""
    if model is None:
        return []
    return [m.alias or n for n, m in model.model_fields.items()
            if (n.endswith("_id") or n.endswith("_ids")) and _int_like(m.annotation)]


def _id_queries(info: RouteInfo) -> list[str]:
    return [n for n, a in info.query_params if n.endswith("_id") and _int_like(a)]


def _nested_ids(body: Any, path: str = "") -> Iterator[str]:
    """Paths of ids nested in objects of a valid body (``scope.id``)."""
    if isinstance(body, dict):
        for key, value in body.items():
            here = f"{path}.{key}" if path else key
            if path and (key == "id" or key.endswith("_id")) and isinstance(value, int) and not isinstance(value, bool):
                yield here
            yield from _nested_ids(value, here)


def _with(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {**body, head: _with(body[head], rest, value) if rest else value}


@pytest.mark.parametrize("info", _routes(
    lambda i: _authenticated(i) and bool(i.int_path_params or _id_queries(i) or _id_members(i.body_model)),
    known=KNOWN_ISSUES))
def test_out_of_range_id_is_422_naming_it(env: Env, info: RouteInfo) -> None:
    """An id no row can have (the columns are 32-bit) is invalid input, not a database error."""
    headers, caller = auth_of(info, env)
    body = caller.body(env) if caller and caller.body else None
    before = stored(env)
    for value in OUT_OF_RANGE:
        for name in info.int_path_params:
            r = request(env, info, url_of(info, env, **{name: value}), headers, body)
            assert assert_error(r, 422, f"{info} {name}={value}")["field"] == f"path.{name}"
        for name in _id_queries(info):
            r = env.client.request(info.method, url_of(info, env), headers=headers, params={name: value})
            assert assert_error(r, 422, f"{info} ?{name}={value}")["field"] == f"query.{name}"
        if body is not None:
            for name in _id_members(info.body_model):
                bad = [value] if name.endswith("_ids") else value
                error = assert_error(request(env, info, url_of(info, env), headers, {**body, name: bad}), 422,
                                     f"{info} {name}={value}")
                assert error["field"].split(".")[0] == name, f"{info}: {name} → {error}"
            for dotted in _nested_ids(body):
                error = assert_error(request(env, info, url_of(info, env), headers, _with(body, dotted, value)), 422,
                                     f"{info} {dotted}={value}")
                assert error["field"] == dotted, f"{info}: {dotted} → {error}"
    assert_unchanged(before, env, info)


@pytest.mark.parametrize("info", _routes(
    lambda i: _authenticated(i) and any(n in ("offset", "after") for n, _ in i.query_params)))
def test_out_of_range_paging_is_422_naming_it(env: Env, info: RouteInfo) -> None:
    headers, _ = auth_of(info, env)
    for name in (n for n, _ in info.query_params if n in ("offset", "after")):
        r = env.client.request(info.method, url_of(info, env), headers=headers, params={name: 2**63})
        assert assert_error(r, 422, f"{info} ?{name}")["field"] == f"query.{name}"


# -- 3. a nonexistent id -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("info", _routes(lambda i: i.key in CALLERS and bool(i.path_params)))
def test_nonexistent_id_is_404(env: Env, info: RouteInfo) -> None:
    caller = caller_of(info)
    body = caller.body(env) if caller.body else None
    before = stored(env)
    for name in info.path_params:
        url = url_of(info, env, **{name: PATH_MISSING.get(name, MISSING_INT)})
        error = assert_error(request(env, info, url, env.headers(caller.user), body), 404, f"{info} {name}")
        assert error["code"] == "not_found"
    assert_unchanged(before, env, info)


# -- 4. object-level authorization -------------------------------------------------------------------------------------


def test_path_ids_become_objects_through_the_scope_layer() -> None:
    """A route naming an object in its path gets the object from a ``cloud.scope.in_scope`` dependency, which has
    checked scope already: the signature shows it, and no route can forget the check."""
    plain = sorted((str(info), name) for info in app_routes().values() if info.key in CALLERS
                   for name in info.path_params
                   if name not in info.scoped_params and (info.key, name) not in UNSCOPED_PATH)
    assert not plain, f"path ids taken as plain values (use cloud.scope.in_scope, or say why in UNSCOPED_PATH): {plain}"
    stale = [k for k in UNSCOPED_PATH if k[0] not in app_routes() or k[1] not in app_routes()[k[0]].path_params
             or k[1] in app_routes()[k[0]].scoped_params]
    assert not stale, f"UNSCOPED_PATH entries that no longer apply: {stale}"



@pytest.mark.parametrize("info", _routes(lambda i: i.key in CALLERS and bool(i.path_params)))
def test_objects_outside_the_callers_scope_are_404(env: Env, info: RouteInfo) -> None:
    """Every user on the E2 / D2 side, whatever its role, on E1's (D1's) object: 404 when its role may do this at
    all, else 403 — never the object, never a change."""
    caller = caller_of(info)
    url = url_of(info, env)
    body = caller.body(env) if caller.body else None
    if info.method == "GET":  # the object exists and its own side sees it: the 404s below are about scope
        r = request(env, info, url, env.headers(caller.user), None)
        assert r.status_code == 200, f"{info} as {caller.user}: {r.status_code} {r.text[:300]}"
    before = stored(env)
    statuses = {}
    for user, side in OUTSIDERS.items():
        role = env.role(user)
        expected = 403 if info.action is not None and role not in ALLOWED[info.action] else 404
        r = request(env, info, url, env.headers(user), body)
        statuses[user] = r.status_code
        error = assert_error(r, expected, f"{info} as {user} ({role}, {side})")
        assert error["code"] == ("forbidden" if expected == 403 else "not_found")
    assert_unchanged(before, env, info)
    if 404 not in statuses.values():  # no outsider's role may do this: it must be the city administrators' alone
        assert info.action is not None and ALLOWED[info.action] == {Role.CITY_ADMIN}, f"{info}: {statuses}"


@pytest.mark.parametrize("info", _routes(lambda i: i.key in LISTS))
def test_lists_show_nothing_outside_the_callers_scope(env: Env, info: RouteInfo) -> None:
    """Every user on the E2 / D2 side, whatever its role, reads every list — plain and with each query parameter
    naming an E1 / D1 object: none of E1's (D1's) objects, when its role may read the list at all (else 403).
    The list's own caller does see them, so an empty list cannot pass for a filtered one."""
    listing = LISTS[info.key]
    e1 = {env[name] for name in listing.e1}
    shown = listing.ids(env.ok("GET", info.path, caller_of(info).user))
    assert e1 <= shown, f"{info}: its caller does not see {e1 - shown}: the test would prove nothing"
    queries = [{}] + [{name: env[QUERY_TARGET[name]]} for name, _ in info.query_params if name in QUERY_TARGET]
    statuses = {}
    for user, side in OUTSIDERS.items():
        role = env.role(user)
        for params in queries:
            r = env.client.get(info.path, headers=env.headers(user), params=params)
            statuses[user] = r.status_code
            if info.action is not None and role not in ALLOWED[info.action]:
                assert assert_error(r, 403, f"{info} as {user}")["code"] == "forbidden"
                continue
            assert r.status_code == 200, f"{info} {params} as {user} ({role}, {side}): {r.status_code} {r.text[:300]}"
            leaked = e1 & listing.ids(r.json())
            assert not leaked, f"{info} {params} shows {user} ({role}, {side}) E1 / D1 objects {leaked}"
    if 200 not in statuses.values():  # no outsider's role may read it: it must be the city administrators' alone
        assert info.action is not None and ALLOWED[info.action] == {Role.CITY_ADMIN}, f"{info}: {statuses}"


@pytest.mark.parametrize("info", _routes(lambda i: i.key in DEVICE))
def test_gateway_routes_take_only_the_paths_gateways_token(env: Env, info: RouteInfo) -> None:
    body = batch_bytes("gw-e1", []) if info.method == "POST" else None
    headers = {"Content-Type": "application/json"}
    before = stored(env)
    for token, gateway, status, code in ((env.device["gw-e2"], "gw-e1", 403, "wrong_gateway"),
                                         (env.device["gw-e1"], "gw-missing", 403, "wrong_gateway"),
                                         (env.headers("admin"), "gw-e1", 401, "unauthorized"),
                                         (env.headers("mgr1"), "gw-e1", 401, "unauthorized")):
        r = env.client.request(info.method, info.path.format(gateway_id=gateway), headers={**headers, **token},
                               content=body)
        assert assert_error(r, status, f"{info} on {gateway}")["code"] == code
    assert_unchanged(before, env, info)
