"""The OpenAPI document's JSON request bodies all carry examples, and every example is one the API accepts.

Walks ``app.openapi()`` of an app built by the real factory (``create_app``); nothing lists routes by hand except
the raw bodies' decoders. Parametrized per route, so that a failure names it:

- every ``application/json`` request body is parsed by something the test can run: the pydantic model of the
  route's body field, or (a raw body the route reads itself) a decoder listed in ``RAW_BODIES``;
- it has at least one whole-body example, on the media type or on the component schema it references;
- every such example validates against that model (or decoder), after a JSON round trip as from the wire, so an
  example cannot drift from the model;
- every property example of the schemas the body reaches, nested ones included, validates against the type of
  that field of the model behind the schema.

Request bodies only: response schemas (2xx response models) are not checked here, and most have no examples.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, get_args

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError

from protocols.errors import EnvelopeError
from protocols.uplink import decode_envelope
from tests.cloud.conftest import throwaway_app

API = "/api/v1"
JSON = "application/json"
Route = tuple[str, str]  # (method, path template)
COMPONENTS = "#/components/schemas/"

#: JSON bodies a route reads raw (no body model): what parses them, raising on a body the route refuses.
RAW_BODIES: dict[Route, Callable[[bytes], object]] = {
    ("POST", f"{API}/gateways/{{gateway_id}}/batches"): decode_envelope,  # what cloud.ingest.doors.decode_batch runs
}


@dataclass(frozen=True)
class Body:
    """A JSON request body as the document describes it, and what the route parses it with."""

    method: str
    path: str
    media: dict[str, Any]  # the OpenAPI media type object of application/json
    model: Any | None  # the annotation of the route's body field (a pydantic model), None for a raw body

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Document:
    bodies: dict[Route, Body]
    components: dict[str, Any]


@functools.cache
def document() -> Document:
    """The OpenAPI document of an app built by the real factory, and the body model of each route, once."""
    with throwaway_app() as app:
        doc = app.openapi()
        models: dict[Route, Any] = {}
        for ctx in iter_route_contexts(app.routes):
            if isinstance(ctx.original_route, APIRoute) and ctx.body_field is not None:
                assert ctx.path is not None
                for method in ctx.methods or ():
                    models[(method, ctx.path)] = ctx.body_field.field_info.annotation
    bodies: dict[Route, Body] = {}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            media = operation.get("requestBody", {}).get("content", {}).get(JSON)
            if media is not None:
                route = (method.upper(), path)
                bodies[route] = Body(route[0], path, media, models.get(route))
    return Document(bodies, doc.get("components", {}).get("schemas", {}))


def _bodies(*, with_model: bool = False) -> list[Any]:
    return [pytest.param(body, id=str(body)) for body in document().bodies.values()
            if body.model is not None or not with_model]


def _component(ref: str) -> str:
    assert ref.startswith(COMPONENTS), ref
    return ref.removeprefix(COMPONENTS)


def body_examples(body: Body) -> list[tuple[str, Any]]:
    """The whole-body examples of a JSON body: the media type's ``example`` / ``examples`` (Example Objects), and
    the ``example`` / ``examples`` of its schema (the referenced component's when it is a ``$ref``)."""
    out: list[tuple[str, Any]] = []
    if "example" in body.media:
        out.append(("media example", body.media["example"]))
    for name, example in body.media.get("examples", {}).items():
        if "value" in example:  # an externalValue cannot be checked here
            out.append((f"media examples[{name}]", example["value"]))
    schema = body.media.get("schema", {})
    if "$ref" in schema:
        where = _component(schema["$ref"])
        schema = document().components[where]
    else:
        where = "inline schema"
    if "example" in schema:
        out.append((f"{where} example", schema["example"]))
    out.extend((f"{where} examples[{i}]", example) for i, example in enumerate(schema.get("examples", [])))
    return out


def _refs(node: Any) -> Iterator[str]:
    """The component names a schema fragment references, directly."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield _component(node["$ref"])
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def reached_components(schema: dict[str, Any]) -> list[str]:
    """The component schemas a body schema reaches, through any depth of ``$ref``."""
    components = document().components
    seen: list[str] = []
    todo = list(_refs(schema))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.append(name)
            todo.extend(_refs(components[name]))
    return seen


def _models_in(annotation: Any, seen: set[type[BaseModel]]) -> None:
    """Add to ``seen`` the pydantic models an annotation is made of (``X | None``, ``list[X]``, ``Annotated[X,
    ...]``, their fields' models...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            for field in annotation.model_fields.values():
                _models_in(field.annotation, seen)
    else:
        for arg in get_args(annotation):
            _models_in(arg, seen)


def models_by_component(model: Any) -> dict[str, type[BaseModel]]:
    """The models a body model is made of, under the component names FastAPI gives them (the class name, with
    ``-Input`` when the model is also a response's)."""
    seen: set[type[BaseModel]] = set()
    _models_in(model, seen)
    return {name: m for m in seen for name in (m.__name__, f"{m.__name__}-Input")}


def _validates(validate: Callable[[], object]) -> str | None:
    try:
        validate()
    except (ValidationError, EnvelopeError) as exc:
        return str(exc)
    return None


def _wire(example: Any) -> Any:
    """The example as the route receives it: serialized to JSON and parsed back (dates are strings...)."""
    return json.loads(json.dumps(example))


def _field_adapter(model: type[BaseModel], prop: str) -> TypeAdapter[Any]:
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    assert prop in fields, f"{model.__name__} has no field {prop!r}, which its schema documents"
    field = fields[prop]
    return TypeAdapter(Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation)


# -- the tests ---------------------------------------------------------------------------------------------------------


def test_the_document_has_json_bodies_and_raw_bodies_are_current() -> None:
    """The walk finds the API's JSON bodies (a walk that finds none would pass everything below), and every
    ``RAW_BODIES`` entry is still a JSON body without a body model."""
    bodies = document().bodies
    assert len([b for b in bodies.values() if b.model is not None]) >= 30
    for route in RAW_BODIES:
        assert route in bodies, f"{route}: no such JSON body any more"
        assert bodies[route].model is None, f"{route}: has a body model now: drop it from RAW_BODIES"


@pytest.mark.parametrize("body", _bodies())
def test_json_body_is_parsed_by_a_model_or_a_listed_decoder(body: Body) -> None:
    assert body.model is not None or (body.method, body.path) in RAW_BODIES, (
        f"{body}: a JSON body without a body model: list its decoder in RAW_BODIES")


@pytest.mark.parametrize("body", _bodies())
def test_json_body_has_an_example(body: Body) -> None:
    assert body_examples(body), (
        f"{body}: no example on the media type nor on its schema "
        "(give the model `model_config = body_examples(...)`, cloud/schemas.py)")


def _parser(body: Body) -> Callable[[Any], object]:
    """What the route parses the body with, taking an example as a JSON value."""
    if body.model is not None:
        adapter: TypeAdapter[Any] = TypeAdapter(body.model)
        return lambda example: adapter.validate_python(_wire(example))
    decode = RAW_BODIES[(body.method, body.path)]
    return lambda example: decode(json.dumps(example).encode())


@pytest.mark.parametrize("body", _bodies())
def test_body_examples_validate(body: Body) -> None:
    parse = _parser(body)
    problems = {where: problem for where, example in body_examples(body)
                if (problem := _validates(functools.partial(parse, example))) is not None}
    assert not problems, f"{body}: examples the route would refuse: {problems}"


@pytest.mark.parametrize("body", _bodies(with_model=True))
def test_property_examples_validate(body: Body) -> None:
    models = models_by_component(body.model)
    components = document().components
    problems: dict[str, str] = {}
    for name in reached_components(body.media["schema"]):
        properties = components[name].get("properties")
        if properties is None:  # an enum: no fields
            continue
        assert name in models, f"{body}: its schema reaches component {name!r}, which is none of its models"
        for prop, schema in properties.items():
            examples = list(schema.get("examples", [])) + ([schema["example"]] if "example" in schema else [])
            if not examples:
                continue
            adapter = _field_adapter(models[name], prop)
            for i, example in enumerate(examples):
                problem = _validates(functools.partial(adapter.validate_python, _wire(example)))
                if problem is not None:
                    problems[f"{name}.{prop} examples[{i}]"] = problem
    assert not problems, f"{body}: property examples the field refuses: {problems}"
