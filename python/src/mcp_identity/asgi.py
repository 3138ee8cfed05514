"""The ASGI middleware: buffers the body (bounded), verifies it, restores it for the app, and answers
refusals with the JSON-RPC error body. The verified user is in ``scope["state"]["mcp_identity_user"]``,
in ``scope["user"]`` and, for the request's task, in :func:`current_user`."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from .errors import IdentityError
from .verify import ReceiverConfig, VerifiedRequest, verify_request

_current: contextvars.ContextVar[VerifiedRequest | None] = contextvars.ContextVar("mcp_identity_request", default=None)

Scope = dict[str, Any]
Receive = Any
Send = Any


def current_user() -> dict[str, Any] | None:
    """The verified user of the request being handled (in the task the middleware runs the app in)."""
    verified = _current.get()
    return None if verified is None else verified.user


def _verified_of(ctx: Any) -> VerifiedRequest | None:
    request = None
    try:
        request = ctx.request_context.request  # type: ignore[union-attr]
    except (AttributeError, LookupError, ValueError):
        request = None
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        verified = scope.get("state", {}).get("mcp_identity")
        if isinstance(verified, VerifiedRequest):
            return verified
    return _current.get()


def get_user(ctx: Any = None) -> dict[str, Any] | None:
    """The verified user inside a tool of the official MCP SDK.

    Pass the tool's ``Context`` (FastMCP ``ctx``) or nothing: the user is read from the HTTP request the
    SDK exposes (``ctx.request_context.request.scope``) when there is one, else from the current task.
    Returns ``None`` when nothing was verified: never trusts unverified input.
    """
    verified = _verified_of(ctx)
    return None if verified is None else verified.user


def get_delegated_token(ctx: Any = None) -> str | None:
    """The token the gateway exchanged for the user (the request's ``Authorization: Bearer`` token, checked
    against the assertion's ``dtk``) inside a tool, as :func:`get_user` finds the request; ``None`` when the
    assertion announced none. The TypeScript receiver's ``authInfo.token``: call the API it is meant for."""
    verified = _verified_of(ctx)
    return None if verified is None else verified.delegated_token


async def _send_refusal(send: Send, error: IdentityError) -> None:
    body = error.body()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class IdentityMiddleware:
    """Verifies every HTTP request before the app sees it. ``paths`` (default: all) limits which paths."""

    def __init__(self, app: Any, config: ReceiverConfig, paths: tuple[str, ...] | None = None) -> None:
        if not isinstance(config, ReceiverConfig):
            raise TypeError("config must be a ReceiverConfig")
        self.app = app
        self.config = config
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.paths is not None and scope["path"] not in self.paths):
            await self.app(scope, receive, send)
            return
        limit = self.config.body_limit
        chunks: list[bytes] = []
        size = 0
        declared = next((v for k, v in scope["headers"] if k.lower() == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_refusal(send, IdentityError("body_too_large", f"the request body is larger than {limit} bytes"))
            return
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_refusal(
                    send, IdentityError("body_too_large", f"the request body is larger than {limit} bytes")
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        try:
            verified = await asyncio.to_thread(
                verify_request, scope["method"], target, scope["headers"], body, self.config
            )
        except IdentityError as error:
            await _send_refusal(send, error)
            return
        # The app gets the decoded body, without Content-Encoding, with a matching Content-Length.
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-encoding", b"content-length")]
        if verified.body or scope["method"] in ("POST", "PUT", "PATCH"):
            headers.append((b"content-length", str(len(verified.body)).encode("ascii")))
        state = dict(scope.get("state") or {})
        state["mcp_identity"] = verified
        state["mcp_identity_user"] = verified.user
        inner = {**scope, "headers": headers, "state": state, "user": verified.user}
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": verified.body, "more_body": False}
            return await receive()

        token = _current.set(verified)
        try:
            await self.app(inner, replay, send)
        finally:
            _current.reset(token)
