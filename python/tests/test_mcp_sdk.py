"""An official-Python-SDK MCP server behind the receiver, over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from helpers import AUDIENCE, ISSUER, SECRET, Served, sign
from mcp.server.mcpserver import Context, MCPServer

from mcp_identity import ReceiverConfig, get_delegated_token, get_user, hs256_secret
from mcp_identity.mcp_sdk import protect

calls: list[dict[str, Any]] = []


def build_server() -> MCPServer:
    server = MCPServer("files")

    @server.tool()
    async def whoami(note: str, ctx: Context) -> str:
        user = get_user(ctx)
        calls.append({"user": user, "note": note})
        return json.dumps({"user": user, "note": note}, ensure_ascii=False)

    @server.tool()
    async def my_tickets(ctx: Context) -> str:
        token = get_delegated_token(ctx)
        calls.append({"user": get_user(ctx), "token": token})
        return json.dumps({"token": token})

    return server


@pytest.fixture(scope="module")
def served() -> Any:
    config = ReceiverConfig(issuer=ISSUER, audience=AUDIENCE, secrets=[hs256_secret(SECRET)])
    app = protect(build_server(), config, json_response=True, stateless_http=True)
    with Served(app) as running:
        yield running


HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def rpc(method: str, params: dict[str, Any], id_: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}, ensure_ascii=False).encode()


def test_a_tool_gets_the_verified_non_ascii_user_and_arguments(served: Served) -> None:
    calls.clear()
    init = rpc(
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    )
    status, _, answer = served.post(init, {**HEADERS, "X-Forwarded-User-Assertion": sign(init)})
    assert status == 200, answer
    body = rpc("tools/call", {"name": "whoami", "arguments": {"note": "Zoë 🚀"}}, 2)
    status, _, answer = served.post(
        body, {**HEADERS, "mcp-protocol-version": "2025-06-18", "X-Forwarded-User-Assertion": sign(body)}
    )
    assert status == 200, answer
    text = json.loads(answer)["result"]["content"][0]["text"]
    result = json.loads(text)
    assert result["note"] == "Zoë 🚀"
    assert result["user"]["id"] == "José Núñez"
    assert result["user"]["groups"] == ["équipe,ops"]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("label", "headers", "code"),
    [
        ("no assertion", {}, "identity_missing"),
        ("a forged assertion", {"X-Forwarded-User-Assertion": "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"}, "identity_invalid"),
        ("a plain identity header alone", {"X-Forwarded-User-Id": "admin"}, "identity_missing"),
    ],
)
def test_a_direct_forged_request_is_refused_before_the_sdk(
    served: Served, label: str, headers: dict, code: str
) -> None:
    calls.clear()
    body = rpc("tools/call", {"name": "whoami", "arguments": {"note": "x"}}, 3)
    status, response_headers, answer = served.post(body, {**HEADERS, "mcp-protocol-version": "2025-06-18", **headers})
    assert status == 401, label
    assert response_headers["content-type"].startswith("application/json")
    refusal = json.loads(answer)
    assert refusal == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32001, "message": refusal["error"]["message"], "data": {"code": code}},
    }
    assert calls == []


def test_an_assertion_bound_to_another_body_is_refused(served: Served) -> None:
    calls.clear()
    signed = rpc("tools/call", {"name": "whoami", "arguments": {"note": "a"}}, 4)
    sent = rpc("tools/call", {"name": "whoami", "arguments": {"note": "b"}}, 4)
    status, _, answer = served.post(sent, {**HEADERS, "X-Forwarded-User-Assertion": sign(signed)})
    assert status == 401
    assert json.loads(answer)["error"]["data"]["code"] == "identity_binding"
    assert calls == []


def test_a_tool_gets_the_delegated_token_the_assertion_announces_and_the_oauth_fields(served: Served) -> None:
    calls.clear()
    token = "exchanged-token-for-the-tickets-api"
    ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
    claims = {
        "sub": "alice",
        "auth_method": "oauth",
        "scope": "tickets:read",
        "client_id": "inspector",
        "dtk": {"ath": ath, "aud": "tickets-api"},
    }
    body = rpc("tools/call", {"name": "my_tickets", "arguments": {}}, 5)
    headers = {**HEADERS, "mcp-protocol-version": "2025-06-18", "X-Forwarded-User-Assertion": sign(body, user=claims)}
    status, _, answer = served.post(body, {**headers, "Authorization": f"Bearer {token}"})
    assert status == 200, answer
    assert json.loads(json.loads(answer)["result"]["content"][0]["text"]) == {"token": token}
    assert (calls[0]["user"]["scopes"], calls[0]["user"]["clientId"]) == (["tickets:read"], "inspector")
    # Without the token the assertion announces, the tool is never called.
    calls.clear()
    headers["X-Forwarded-User-Assertion"] = sign(body, user=claims)
    status, _, answer = served.post(body, headers)
    assert (status, json.loads(answer)["error"]["data"]["code"]) == (401, "delegated_token_missing")
    assert calls == []
