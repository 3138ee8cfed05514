"""IdentityMiddleware on a plain ASGI app: buffering, restoring the body, refusals."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

from helpers import AUDIENCE, ISSUER, SECRET, sign

from mcp_identity import IdentityMiddleware, ReceiverConfig, current_user, hs256_secret


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        message = await receive()
        self.seen.append({"scope": scope, "body": message["body"], "user": current_user()})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run(app: Any, body: bytes, headers: list[tuple[bytes, bytes]], chunks: int = 1) -> tuple[int, bytes]:
    sent: list[dict] = []
    parts = [body[i * len(body) // chunks : (i + 1) * len(body) // chunks] for i in range(chunks)]

    async def receive() -> dict:
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "headers": headers,
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def config(**overrides: Any) -> ReceiverConfig:
    return ReceiverConfig(issuer=ISSUER, audience=AUDIENCE, secrets=[hs256_secret(SECRET)], **overrides)


BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}}).encode()


def test_passes_the_buffered_body_and_the_user_to_the_app() -> None:
    app = Recorder()
    headers = [(b"content-type", b"application/json"), (b"x-forwarded-user-assertion", sign(BODY).encode())]
    status, _ = run(IdentityMiddleware(app, config()), BODY, headers, chunks=3)
    assert status == 200
    assert app.seen[0]["body"] == BODY
    assert app.seen[0]["user"]["id"] == "José Núñez"
    assert app.seen[0]["scope"]["state"]["mcp_identity_user"]["groups"] == ["équipe,ops"]


def test_hands_the_app_a_gzip_body_decoded_without_content_encoding() -> None:
    app = Recorder()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-encoding", b"gzip"),
        (b"x-forwarded-user-assertion", sign(BODY).encode()),
    ]
    status, _ = run(IdentityMiddleware(app, config()), gzip.compress(BODY), headers)
    assert status == 200
    assert app.seen[0]["body"] == BODY
    names = [name for name, _ in app.seen[0]["scope"]["headers"]]
    assert b"content-encoding" not in names
    assert (b"content-length", str(len(BODY)).encode()) in app.seen[0]["scope"]["headers"]


def test_answers_413_body_too_large_over_the_limit_and_never_calls_the_app() -> None:
    app = Recorder()
    headers = [(b"content-type", b"application/json"), (b"x-forwarded-user-assertion", sign(BODY).encode())]
    status, body = run(IdentityMiddleware(app, config(body_limit=16)), BODY, headers, chunks=4)
    assert status == 413
    assert json.loads(body)["error"] == {
        "code": -32600,
        "message": json.loads(body)["error"]["message"],
        "data": {"code": "body_too_large"},
    }
    assert app.seen == []


def test_answers_401_identity_replayed_for_a_second_use_of_an_assertion() -> None:
    app = Recorder()
    middleware = IdentityMiddleware(app, config())
    headers = [(b"content-type", b"application/json"), (b"x-forwarded-user-assertion", sign(BODY).encode())]
    assert run(middleware, BODY, headers)[0] == 200
    status, body = run(middleware, BODY, headers)
    assert (status, json.loads(body)["error"]["data"]["code"]) == (401, "identity_replayed")
    assert len(app.seen) == 1


def test_passes_lifespan_and_websocket_scopes_through() -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(IdentityMiddleware(app, config())({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
