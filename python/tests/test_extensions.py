"""The spec's Extensions, as the TypeScript receiver implements them: the OAuth claims (scope, client_id,
resource) and the delegated-token check (dtk), over real HTTP and framework-free. The shared vectors
(ext-*, dtk-*, claims "extensions: ...") cover the rules; these tests cover what only Python has."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from helpers import AUDIENCE, ISSUER, SECRET, Served, sign

from mcp_identity import IdentityError, IdentityMiddleware, ReceiverConfig, hs256_secret, verify_request
from mcp_identity.delegated_token import check_delegated_token

BODY = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "tickets"}}).encode()
DELEGATED = "delegated-opaque-token-for-alice"
OAUTH_CLAIMS = {
    "sub": "alice",
    "auth_method": "oauth",
    "scope": "tickets:read files:write",
    "client_id": "mcp-inspector",
    "resource": "https://mcp.example.com/mcp",
}


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def dtk(token: str) -> dict[str, Any]:
    return {"dtk": {"ath": ath(token), "aud": "tickets-api"}}


def config(**overrides: Any) -> ReceiverConfig:
    return ReceiverConfig(issuer=ISSUER, audience=AUDIENCE, secrets=[hs256_secret(SECRET)], **overrides)


class App:
    """Records what reaches it: the user and the delegated token the middleware verified."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # uvicorn's start and stop
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await receive()
        verified = scope["state"]["mcp_identity"]
        self.seen.append({"user": scope["user"], "delegated_token": verified.delegated_token})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def refusal(body: bytes) -> tuple[int, str]:
    error = json.loads(body)["error"]
    return error["code"], error["data"]["code"]


def headers_for(claims: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Forwarded-User-Assertion": sign(BODY, user=claims), **extra}


def test_over_http_an_oauth_user_with_its_delegated_token_reaches_the_app_with_scopes_and_the_token() -> None:
    app = App()
    with Served(IdentityMiddleware(app, config(require_delegated_token=True))) as served:
        status, _, _ = served.post(
            BODY,
            headers_for(
                {**OAUTH_CLAIMS, **dtk(DELEGATED)},
                **{
                    "Authorization": f"Bearer {DELEGATED}",
                    "X-Forwarded-User-Scopes": "tickets:read,files:write",
                    "X-Forwarded-User-Client-Id": "mcp-inspector",
                    "X-Forwarded-User-Resource": "https://mcp.example.com/mcp",
                },
            ),
        )
    assert status == 200
    assert app.seen[0]["delegated_token"] == DELEGATED
    user = app.seen[0]["user"]
    assert (user["scopes"], user["clientId"], user["resource"]) == (
        ["tickets:read", "files:write"],
        "mcp-inspector",
        "https://mcp.example.com/mcp",
    )


@pytest.mark.parametrize(
    ("claims", "extra", "options", "code"),
    [
        pytest.param(
            {**OAUTH_CLAIMS, **dtk(DELEGATED)},
            {"Authorization": "Bearer another-token"},
            {},
            "delegated_token_mismatch",
            id="another bearer token",
        ),
        pytest.param(
            {**OAUTH_CLAIMS, **dtk(DELEGATED)}, {}, {}, "delegated_token_missing", id="the announced token not sent"
        ),
        pytest.param(
            OAUTH_CLAIMS,
            {"Authorization": f"Bearer {DELEGATED}"},
            {"require_delegated_token": True},
            "delegated_token_missing",
            id="required, none announced",
        ),
        pytest.param(
            OAUTH_CLAIMS,
            {"X-Forwarded-User-Scopes": "tickets:read"},
            {},
            "identity_mismatch",
            id="a -Scopes header that disagrees",
        ),
    ],
)
def test_over_http_answers_401_and_never_reaches_the_app_when(
    claims: dict[str, Any], extra: dict[str, str], options: dict[str, Any], code: str
) -> None:
    app = App()
    with Served(IdentityMiddleware(app, config(**options))) as served:
        status, headers, body = served.post(BODY, headers_for(claims, **extra))
    assert (status, refusal(body)) == (401, (-32001, code))
    assert json.loads(body)["id"] is None
    assert headers["cache-control"] == "no-store"
    assert DELEGATED.encode() not in body
    assert app.seen == []


def verify(claims: dict[str, Any], headers: list[tuple[str, str]], **options: Any) -> Any:
    raw = [("content-type", "application/json"), ("x-forwarded-user-assertion", sign(BODY, user=claims)), *headers]
    return verify_request("POST", "/mcp", raw, BODY, config(**options))


def test_verified_request_holds_no_delegated_token_when_the_assertion_announces_none() -> None:
    verified = verify(OAUTH_CLAIMS, [("authorization", "Bearer client-token")])
    assert verified.delegated_token is None
    assert verified.user["scopes"] == ["tickets:read", "files:write"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("Authorization", f"Bearer {DELEGATED}"), ("authorization", f"Bearer {DELEGATED}")], id="twice"),
        pytest.param([("Authorization", f"Bearer {DELEGATED}\n")], id="a trailing newline"),
        pytest.param([("Authorization", f"Bearer\t{DELEGATED}")], id="a tab after the scheme"),
        pytest.param([("Authorization", f"Bearer {DELEGATED}, Bearer {DELEGATED}")], id="two tokens in one value"),
    ],
)
def test_refuses_delegated_token_mismatch_for_anything_but_one_bearer_token(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(IdentityError) as raised:
        verify({**OAUTH_CLAIMS, **dtk(DELEGATED)}, headers)
    assert (raised.value.status, raised.value.code) == (401, "delegated_token_mismatch")


@pytest.mark.parametrize(
    "announced", [pytest.param("é" * 43, id="non-ASCII"), pytest.param("\ud800" * 43, id="lone surrogates")]
)
def test_an_ath_that_is_not_ascii_is_a_mismatch_not_a_crash_of_the_constant_time_comparison(announced: str) -> None:
    # A lone surrogate cannot be signed as UTF-8 text here; it arrives from a "\\ud800" escape in the payload.
    with pytest.raises(IdentityError) as raised:
        check_delegated_token({"dtk": {"ath": announced}}, {"id": "alice"}, [f"Bearer {DELEGATED}"], False)
    assert raised.value.code == "delegated_token_mismatch"


def test_a_jwt_payload_with_nan_is_not_json_as_javascript_reads_it_so_a_mismatch() -> None:
    payload = base64.urlsafe_b64encode(b'{"sub":"alice","n":NaN}').rstrip(b"=").decode()
    token = f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"
    with pytest.raises(IdentityError) as raised:
        verify({**OAUTH_CLAIMS, **dtk(token)}, [("Authorization", f"Bearer {token}")])
    assert raised.value.code == "delegated_token_mismatch"


def test_refuses_a_require_delegated_token_that_is_not_a_boolean() -> None:
    with pytest.raises(ValueError, match="require_delegated_token"):
        config(require_delegated_token="yes")
