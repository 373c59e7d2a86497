"""The demo's REST API ("Example API Requests") served on the registry core.

Every endpoint calls the same `Registry` operation as the CLI and the TUI, and every answer is
built by `documents.answer`: this module only translates HTTP to those calls and back. Query
parameters reach the core as the text the client sent, so invalid input is refused by the
core's rules with the core's 422 document (FastAPI only refuses a missing required parameter).
"""

import hmac
import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response

from registry_tui import __version__
from registry_tui.core.config import Settings
from registry_tui.core.documents import answer, registration_doc, unavailable_doc
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.failures import needs_adoption_doc
from registry_tui.core.logs import quiet_driver_logs
from registry_tui.core.outcomes import Invalid, Page
from registry_tui.core.registry import Registry
from registry_tui.core.schema import NeedsAdoption
from registry_tui.core.session import Connect, Database
from registry_tui.core.store import open_connection
from registry_tui.core.validation import (
    BIO_MAX,
    EMAIL_MAX,
    LABEL_MAX,
    PAGE_SIZE_MAX,
    STATUSES,
    VERSION_MAX,
    ValidationError,
    parse_page_size,
    parse_user_id,
)

log = logging.getLogger("uvicorn.error")  # printed by uvicorn alongside its own lines

DEFAULT_LIMIT = 100
# After a failed connection attempt, requests are answered 503 at once for this long instead of
# each waiting for its own connect timeout while the database is down.
RECONNECT_INTERVAL_S = 1.0
RETRY_AFTER_HEADER = {"Retry-After": "1"}
# Open without the token: a browser cannot send one for a page, and neither reveals data.
PUBLIC_PATHS = frozenset({"/docs", "/openapi.json"})
BEARER_SCHEME = "bearer"
# The docs page loads nothing (no scripts, no CDN): many servers have no internet.
DOCS_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def _documented_as(schema: dict[str, Any]) -> Any:
    """Show a parameter in OpenAPI as `schema` while FastAPI passes the raw text on to the core.

    Typing it (int, UUID) would make FastAPI refuse bad values with its own 422 document and
    its own rules; the core is the one place that validates. Returns pydantic's callable form
    of `json_schema_extra` (replace, not merge: an optional str is an `anyOf` otherwise), which
    FastAPI passes through although its signature only names the dict form: hence `Any`.
    """

    def replace(generated: dict[str, Any]) -> None:
        generated.clear()
        generated.update(schema)

    return replace


def _json(document: object, status: int, headers: dict[str, str] | None = None) -> Response:
    if status == 204:  # No Content: the document (if any) cannot travel in the body
        return Response(status_code=204, headers=headers)
    return JSONResponse(document, status_code=status, headers=headers)


USERNAME_IN_PATH = frozenset({"username"})
USER_ID_IN_PATH = frozenset({"user_id"})


def _respond(outcome: object, path_fields: frozenset[str] = frozenset()) -> Response:
    result = answer(outcome, path_fields)
    headers: dict[str, str] = {}
    leftovers = result.document.get("leftovers") if isinstance(result.document, dict) else None
    if result.status == 204 and leftovers:
        # Deleted, but some clean-up could not be confirmed: say so without a body.
        headers["X-Registry-Leftovers"] = ", ".join(leftovers)
    return _json(result.document, result.status, headers)


def _example(description: str, example: object, **links: dict[str, str]) -> dict[str, Any]:
    """A documented response; `links` (operation id -> parameter expressions) tell clients and
    schemathesis' stateful phase which call can follow, e.g. GET a user just registered."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"example": example}},
    }
    if links:
        response["links"] = {
            name: {"operationId": name, "parameters": parameters}
            for name, parameters in links.items()
        }
    return response


BY_USERNAME = {"username": "$response.body#/username"}
BY_USER_ID = {"user_id": "$response.body#/user_id"}


INVALID_EXAMPLE = {
    "detail": [
        {
            "loc": ["query", "username"],
            "msg": "must be 3-32 characters (got 2)",
            "type": "value_error",
        }
    ]
}
UNAVAILABLE = _example(
    "The database cannot be reached; nothing was done.",
    unavailable_doc("cannot connect to 127.0.0.1:9042 (keyspace registry): no host answered"),
)
UNKNOWN = _example(
    "The write may or may not have applied, and a SERIAL read could not tell.",
    {
        "detail": {
            "error": "outcome_unknown",
            "operation": "register",
            "key": "agent-cipher-007",
            "reason": "the registration kept timing out",
            "user_id": "6f1c3e5a-2b4d-4c8e-9f00-123456789abc",
        }
    },
)
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: _example("Invalid input, refused by the registry's rules.", INVALID_EXAMPLE),
    503: UNAVAILABLE,
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {**COMMON_RESPONSES, 504: UNKNOWN}
USER_EXAMPLE = {
    "username": "agent-cipher-007",
    "email": "cipher@registry.galaxy",
    "display_name": "Agent Cipher",
    "dimension": "Dimension-6",
    "registered_at": "2025-01-01T12:00:00+00:00",
    "user_id": "6f1c3e5a-2b4d-4c8e-9f00-123456789abc",
}
PROFILE_EXAMPLE = {
    "user_id": "6f1c3e5a-2b4d-4c8e-9f00-123456789abc",
    "username": "agent-cipher-007",
    "bio": "Counter-clone specialist",
    "status": "active",
    "version": 2,
    "updated_at": "2025-01-01T12:05:00+00:00",
}
USER_NOT_FOUND = _example("No such user.", {"detail": "User not found"})
PROFILE_NOT_FOUND = _example("No such profile.", {"detail": "Profile not found"})

# Documented constraints describe the usual accepted form, for clients and generated tests;
# they are not enforced here: the core's rules decide (and also fold case, full-width forms).
USERNAME_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$"}
LABEL_SCHEMA = {"type": "string", "minLength": 1, "maxLength": LABEL_MAX}
EMAIL_SCHEMA = {
    "type": "string",
    "maxLength": EMAIL_MAX,
    "pattern": r"^[A-Za-z0-9]+([._+-][A-Za-z0-9]+)*@[A-Za-z0-9]+(\.[A-Za-z0-9]+)*\.[A-Za-z]{2,}$",
}

UsernamePath = Annotated[
    str,
    Path(
        description="Case-insensitive: NFKC-normalised and lower-cased before the lookup.",
        json_schema_extra=_documented_as(USERNAME_SCHEMA),
    ),
]
UserIdPath = Annotated[
    str,
    Path(
        description="The user's UUID (`user_id` of the registration).",
        json_schema_extra=_documented_as({"type": "string", "format": "uuid"}),
    ),
]


def _docs_page(schema: dict[str, Any], base_url: str, needs_token: bool) -> str:
    """The API's endpoints as one page with no scripts: the interactive Swagger UI needs
    scripts from a CDN, so the full schema is linked for any OpenAPI tool instead."""
    e = html.escape
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = ", ".join(
                f"{p['name']}{'' if p.get('required') else '?'}"
                for p in operation.get("parameters", [])
            )
            rows.append(
                f"<tr><td><code>{e(method.upper())}</code></td><td><code>{e(path)}</code></td>"
                f"<td>{e(operation.get('summary', ''))}</td><td><code>{e(parameters)}</code>"
                "</td></tr>"
            )
    base = base_url.rstrip("/")
    auth = '-H "Authorization: Bearer $REGISTRY_API_TOKEN" ' if needs_token else ""
    token_note = (
        "<p>This server needs a token: send <code>Authorization: Bearer &lt;token&gt;</code> "
        "with every request (this page and the schema are open). The schema declares the "
        "bearer scheme, so an OpenAPI tool offers to authorize with it.</p>"
        if needs_token
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(schema["info"]["title"])}: API</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}
td,th{{text-align:left;padding:.3em .8em .3em 0;vertical-align:top}}</style></head>
<body><h1>{e(schema["info"]["title"])} <small>{e(schema["info"]["version"])}</small></h1>
<p>{e(schema["info"].get("description", ""))}</p>
<p><strong>The interactive docs (Swagger UI) are not served here</strong>: they load their
scripts from the internet, which many servers cannot reach. The full OpenAPI schema is at
<a href="/openapi.json">/openapi.json</a>: open it in any OpenAPI tool, or read it as JSON.</p>
{token_note}
<table><tr><th>method</th><th>path</th><th>what it does</th><th>parameters</th></tr>
{"".join(rows)}</table>
<p>For example: <code>curl {e(auth)}{e(base)}/api/users?limit=10</code></p>
</body></html>
"""


def create_app(
    settings: Settings, *, connect: Connect = open_connection, token: str | None = None
) -> FastAPI:
    """The REST API on one connection to the database described by `settings`. With `token`,
    every request (the docs too) needs `Authorization: Bearer <token>`."""
    quiet_driver_logs()
    database = Database(settings, connect, reconnect_interval=RECONNECT_INTERVAL_S, log=log)

    async def open_registry() -> Registry:
        try:
            return await database.connect()
        except ValidationError as exc:  # e.g. the TLS files vanished since start-up
            raise DatabaseUnavailable(f"invalid {exc.field}: {exc.message}") from None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await database.start()
        try:
            yield
        finally:
            await database.close()

    app = FastAPI(
        title="LWT User Registry",
        version=__version__,
        description=(
            "The coodie LWT User Registry demo's JSON API: usernames and e-mails registered "
            "with `INSERT ... IF NOT EXISTS`, users deleted with `IF` conditions, profiles "
            "updated under optimistic locking (`UPDATE ... IF version = n`)."
        ),
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: see /docs below
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.database = database

    def openapi() -> dict[str, Any]:
        """The schema; with a token, the bearer scheme every operation needs (OpenAPI tools
        offer an Authorize button for it)."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            if token is not None:
                schema.setdefault("components", {})["securitySchemes"] = {
                    BEARER_SCHEME: {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "The token `registry serve` was started with "
                        "(--token or REGISTRY_API_TOKEN).",
                    }
                }
                schema["security"] = [{BEARER_SCHEME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        return HTMLResponse(
            _docs_page(openapi(), str(request.base_url), token is not None),
            headers=DOCS_HEADERS,
        )  # `registry serve` checks the settings on it before serving

    if token is not None:
        expected = f"Bearer {token}".encode()

        @app.middleware("http")
        async def require_token(request: Request, call_next: Any) -> Response:
            if request.url.path in PUBLIC_PATHS and request.method in ("GET", "HEAD"):
                public: Response = await call_next(request)
                return public
            given = request.headers.get("authorization", "").encode()
            # Constant time: the comparison says nothing about how much of a guess was right.
            if not hmac.compare_digest(given, expected):
                return JSONResponse(
                    {
                        "detail": {
                            "error": "unauthorized",
                            "message": "send Authorization: Bearer <token>",
                        }
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="registry"'},
                )
            response: Response = await call_next(request)
            return response

    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(_: Request, exc: DatabaseUnavailable) -> Response:
        return JSONResponse(
            unavailable_doc(exc.message), status_code=503, headers=RETRY_AFTER_HEADER
        )

    @app.exception_handler(NeedsAdoption)
    async def needs_adoption(_: Request, exc: NeedsAdoption) -> Response:
        return JSONResponse(needs_adoption_doc(exc.message), status_code=409)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        # Last resort, for a bug: Starlette re-raises after answering, so uvicorn logs the
        # traceback on the server while the client gets JSON without one.
        document = {"detail": {"error": "internal_error", "message": "see the server log"}}
        return JSONResponse(document, status_code=500)

    @app.post(
        "/api/users",
        status_code=201,
        summary="Register a user (INSERT IF NOT EXISTS)",
        operation_id="register_user",
        responses={
            201: _example(
                "Registered.",
                {"applied": True, "username": USER_EXAMPLE["username"]},
                get_user=BY_USERNAME,
                delete_user=BY_USERNAME,
            ),
            409: _example(
                "The username (error `username_taken`, with the registration holding it) or "
                "the e-mail (error `email_taken`, with its owner) is taken.",
                {"detail": {"error": "username_taken", "existing": USER_EXAMPLE}},
            ),
            **WRITE_RESPONSES,
        },
    )
    async def register_user(
        username: Annotated[
            str,
            Query(
                description="3-32 of a-z 0-9 - _ . (case-insensitive).",
                json_schema_extra=_documented_as(USERNAME_SCHEMA),
            ),
        ],
        email: Annotated[
            str,
            Query(
                description="An ASCII address that can be registered once.",
                json_schema_extra=_documented_as(EMAIL_SCHEMA),
            ),
        ],
        display_name: Annotated[
            str,
            Query(
                description=f"1-{LABEL_MAX} printable characters.",
                json_schema_extra=_documented_as(LABEL_SCHEMA),
            ),
        ],
        dimension: Annotated[
            str,
            Query(
                description=f"1-{LABEL_MAX} printable characters.",
                json_schema_extra=_documented_as(LABEL_SCHEMA),
            ),
        ],
        user_id: Annotated[
            str | None,
            Query(
                description="Continue a registration whose outcome was unknown (504): send "
                "the same fields again with the `user_id` its 504 carried. Omitted: a new "
                "identity.",
                json_schema_extra=_documented_as({"type": "string", "format": "uuid"}),
            ),
        ] = None,
    ) -> Response:
        try:
            identity = parse_user_id(user_id) if user_id is not None else None
        except ValidationError as exc:
            return _respond(Invalid(exc.field, exc.message))
        registry = await open_registry()
        outcome = await registry.register(
            username, email, display_name, dimension, user_id=identity
        )
        return _respond(outcome)

    @app.get(
        "/api/users",
        summary="List registrations, one page at a time",
        operation_id="list_users",
        description=(
            "A JSON array, as in the demo. When more users remain, the response carries "
            '`X-Next-Cursor` and `Link: <...>; rel="next"`: pass the cursor back (with the '
            "same `dimension`) for the next page. No header: this was the last page."
        ),
        responses={
            200: {
                **_example("One page of registrations.", [USER_EXAMPLE]),
                "headers": {
                    "X-Next-Cursor": {
                        "description": "The `cursor` of the next page (absent on the last).",
                        "schema": {"type": "string"},
                    },
                    "Link": {
                        "description": 'The next page\'s URL, rel="next".',
                        "schema": {"type": "string"},
                    },
                },
            },
            **COMMON_RESPONSES,
        },
    )
    async def list_users(
        dimension: Annotated[
            str | None, Query(description="Only this dimension (empty: every dimension).")
        ] = None,
        limit: Annotated[
            str | None,
            Query(
                description=f"Users per page, 1-{PAGE_SIZE_MAX}.",
                json_schema_extra=_documented_as(
                    {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": PAGE_SIZE_MAX,
                        "default": DEFAULT_LIMIT,
                    }
                ),
            ),
        ] = None,
        cursor: Annotated[
            str | None, Query(description="`X-Next-Cursor` of the previous page.")
        ] = None,
    ) -> Response:
        # The demo filtered only on a non-empty dimension; scripts that pass an empty one
        # expect every user.
        dimension = dimension or None
        try:
            size = parse_page_size(DEFAULT_LIMIT if limit is None else limit)
        except ValidationError as exc:
            return _respond(Invalid(exc.field, exc.message))
        registry = await open_registry()
        # Cursors are signed by the core: a forged one never reaches the database.
        page = await registry.list_users(dimension, size, cursor or None)
        if isinstance(page, Invalid):
            return _respond(page)
        assert isinstance(page, Page)
        headers: dict[str, str] = {}
        if page.cursor is not None:
            token = page.cursor
            params = {"dimension": dimension} if dimension is not None else {}
            # A relative reference (RFC 8288 allows it): no trust in the Host header needed.
            query = urlencode({**params, "limit": size, "cursor": token})
            headers["X-Next-Cursor"] = token
            headers["Link"] = f'</api/users?{query}>; rel="next"'
        return JSONResponse([registration_doc(u) for u in page.users], headers=headers)

    @app.get(
        "/api/users/{username}",
        summary="Get one registration",
        operation_id="get_user",
        responses={
            200: _example(
                "The registration.",
                USER_EXAMPLE,
                get_profile=BY_USER_ID,
                update_profile=BY_USER_ID,
                delete_user=BY_USERNAME,
            ),
            404: USER_NOT_FOUND,
            **COMMON_RESPONSES,
        },
    )
    async def get_user(username: UsernamePath) -> Response:
        registry = await open_registry()
        return _respond(await registry.get_user(username), USERNAME_IN_PATH)

    @app.delete(
        "/api/users/{username}",
        status_code=204,
        summary="Delete a user (IF user_id = ..., with its profile and e-mail claim)",
        operation_id="delete_user",
        responses={
            204: {
                "description": "Deleted. `X-Registry-Leftovers` names any clean-up step that "
                "could not be confirmed: the same delete with `user_id` finishes it (204 again "
                "once its profile is removed, 404 when nothing is left).",
            },
            404: USER_NOT_FOUND,
            **WRITE_RESPONSES,
        },
    )
    async def delete_user(
        username: UsernamePath,
        user_id: Annotated[
            str | None,
            Query(
                description="Only this identity: a name held by anyone else is left alone "
                "(404). Also removes a case variant `registry adopt` listed as a conflict.",
                json_schema_extra=_documented_as({"type": "string", "format": "uuid"}),
            ),
        ] = None,
    ) -> Response:
        try:
            identity = parse_user_id(user_id) if user_id is not None else None
        except ValidationError as exc:
            return _respond(Invalid(exc.field, exc.message))
        registry = await open_registry()
        return _respond(await registry.delete_user(username, user_id=identity), USERNAME_IN_PATH)

    @app.get(
        "/api/profiles/{user_id}",
        summary="Get one profile with its version",
        operation_id="get_profile",
        responses={
            200: _example("The profile.", PROFILE_EXAMPLE, update_profile=BY_USER_ID),
            404: PROFILE_NOT_FOUND,
            **COMMON_RESPONSES,
        },
    )
    async def get_profile(user_id: UserIdPath) -> Response:
        registry = await open_registry()
        return _respond(await registry.get_profile(user_id), USER_ID_IN_PATH)

    @app.put(
        "/api/profiles/{user_id}",
        summary="Update a profile under optimistic locking (UPDATE IF version = n)",
        operation_id="update_profile",
        responses={
            200: _example(
                "Applied: the profile is now at `version`.",
                {"applied": True, "user_id": PROFILE_EXAMPLE["user_id"], "version": 2},
                get_profile=BY_USER_ID,
            ),
            409: _example(
                "The profile is no longer at `expected_version`: here is what it holds.",
                {"detail": {"error": "version_conflict", "existing": PROFILE_EXAMPLE}},
            ),
            404: PROFILE_NOT_FOUND,
            **WRITE_RESPONSES,
        },
    )
    async def update_profile(
        user_id: UserIdPath,
        bio: Annotated[
            str | None,
            Query(
                description=f"At most {BIO_MAX} printable characters.",
                json_schema_extra=_documented_as({"type": "string", "maxLength": BIO_MAX}),
            ),
        ] = None,
        status: Annotated[
            str | None,
            Query(
                description="The new status.",
                json_schema_extra=_documented_as({"type": "string", "enum": list(STATUSES)}),
            ),
        ] = None,
        expected_version: Annotated[
            str | None,
            Query(
                description=(
                    "Write only if the profile is still at this version; without it the "
                    "current version is read first (the write is conditional either way)."
                ),
                json_schema_extra=_documented_as(
                    {"type": "integer", "minimum": 1, "maximum": VERSION_MAX}
                ),
            ),
        ] = None,
    ) -> Response:
        registry = await open_registry()
        outcome = await registry.update_profile(user_id, bio, status, expected_version)
        return _respond(outcome, USER_ID_IN_PATH)

    return app
