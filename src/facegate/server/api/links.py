"""OpenAPI links in the served schema: which field of a created object's answer the
follow-up operations take as their path parameter (POST /residents answers `id`, which
GET/PATCH/DELETE /residents/{resident_id} and the photo operations take).

A client generator follows them, and so does schemathesis' stateful phase
(tests/server/test_schemathesis.py): create a resident, then fetch, change, export and
delete that resident, upload to it, and so on, instead of guessing ids that 404. Written as
a table here, not in each router's decorator, so the routers stay thin and one test can
check that every create has its follow-ups.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

P = "/api/v1"

#: (path of the create, path of the follow-up, its methods, {parameter: where it comes from})
LINKS: list[tuple[str, str, tuple[str, ...], dict[str, str]]] = [
    (
        f"{P}/residents",
        f"{P}/residents/{{resident_id}}",
        ("get", "patch", "delete"),
        {"resident_id": "$response.body#/id"},
    ),
    (
        f"{P}/residents",
        f"{P}/residents/{{resident_id}}/photos",
        ("get", "post"),
        {"resident_id": "$response.body#/id"},
    ),
    (
        f"{P}/residents",
        f"{P}/residents/{{resident_id}}/export",
        ("get",),
        {"resident_id": "$response.body#/id"},
    ),
    (
        f"{P}/residents/{{resident_id}}/photos",
        f"{P}/residents/{{resident_id}}/photos/{{photo_id}}/image",
        ("get",),
        {"resident_id": "$request.path.resident_id", "photo_id": "$response.body#/photo/id"},
    ),
    (
        f"{P}/residents/{{resident_id}}/photos",
        f"{P}/residents/{{resident_id}}/photos/{{photo_id}}",
        ("delete",),
        {"resident_id": "$request.path.resident_id", "photo_id": "$response.body#/photo/id"},
    ),
    (
        f"{P}/users",
        f"{P}/users/{{user_id}}",
        ("patch", "delete"),
        {"user_id": "$response.body#/id"},
    ),
    (
        f"{P}/api-keys",
        f"{P}/api-keys/{{key_id}}",
        ("delete",),
        {"key_id": "$response.body#/id"},
    ),
    (
        f"{P}/entrances",
        f"{P}/entrances/{{entrance_id}}",
        ("get", "patch", "delete"),
        {"entrance_id": "$response.body#/id"},
    ),
    (
        f"{P}/entrances",
        f"{P}/entrances/{{entrance_id}}/restart",
        ("post",),
        {"entrance_id": "$response.body#/id"},
    ),
    (
        f"{P}/entrances",
        f"{P}/entrances/{{entrance_id}}/open",
        ("post",),
        {"entrance_id": "$response.body#/id"},
    ),
    (
        f"{P}/entrances",
        f"{P}/entrances/{{entrance_id}}/frame.jpg",
        ("get",),
        {"entrance_id": "$response.body#/id"},
    ),
    (
        f"{P}/rules",
        f"{P}/rules/{{rule_id}}",
        ("get", "put", "delete"),
        {"rule_id": "$response.body#/id"},
    ),
]


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Add `LINKS` to the 201 answers of the creates, by the targets' operationIds; a route
    that is not served (yet) is skipped, so the table never breaks the schema."""
    paths = schema.get("paths", {})
    for source, target, methods, params in LINKS:
        created = paths.get(source, {}).get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = created.setdefault("links", {})
        for method in methods:
            op = paths.get(target, {}).get(method)
            if op is None or "operationId" not in op:
                continue
            links[op["operationId"]] = {"operationId": op["operationId"], "parameters": params}
    return schema


def install(app: FastAPI) -> None:
    """Serve the schema with its links (built once, on the first request for it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_links(build())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]
