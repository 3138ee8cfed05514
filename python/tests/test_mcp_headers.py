"""Check 2b: a modern (2026-07-28) request's MCP headers must say what its body says; legacy requests are not
checked. The same cases as the TypeScript receiver (packages/receiver/test/mcp-headers.test.ts) and core
(packages/core/test/mcp-era.test.ts)."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any

import pytest
from helpers import Served, sign
from test_asgi import Recorder, config, run

from mcp_identity import IdentityError, IdentityMiddleware, verify_request
from mcp_identity.mcp_era import (
    NO_BODY,
    McpRequestHeaders,
    check_modern_request,
    classify_mcp_request,
    decode_mcp_header_value,
    inspect_mcp_request,
    is_modern_protocol_version,
    read_mcp_headers,
)

MODERN = "2026-07-28"
ENVELOPE = "io.modelcontextprotocol/protocolVersion"
MESSAGE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "read", "arguments": {"path": "/docs/a.txt", "limit": 42}, "_meta": {ENVELOPE: MODERN}},
}
BODY = json.dumps(MESSAGE).encode()
MATCHING = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "read"}


def b64(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def headers_for(body: bytes, mcp: dict[str, str] | list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    pairs = mcp.items() if isinstance(mcp, dict) else mcp
    return [
        (b"content-type", b"application/json"),
        (b"x-forwarded-user-assertion", sign(body).encode()),
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs),
    ]


def refusal(body: bytes) -> tuple[Any, int, str]:
    answer = json.loads(body)
    return answer["id"], answer["error"]["code"], answer["error"]["data"]["code"]


def code_of(run_check: Any) -> str:
    try:
        run_check()
    except IdentityError as error:
        return error.code
    return "no error"


# Through the ASGI middleware


def test_accepts_a_modern_request_whose_headers_match_the_body_it_verifies() -> None:
    app = Recorder()
    status, _ = run(IdentityMiddleware(app, config()), BODY, headers_for(BODY, MATCHING))
    assert status == 200
    assert len(app.seen) == 1
    assert app.seen[0]["scope"]["state"]["mcp_identity"].era == "modern"


def test_accepts_a_modern_request_with_mcp_name_and_mcp_param_in_base64_and_a_number_param() -> None:
    app = Recorder()
    mcp = {**MATCHING, "Mcp-Name": b64("read"), "Mcp-Param-Path": b64("/docs/a.txt"), "Mcp-Param-Limit": "42.0"}
    status, _ = run(IdentityMiddleware(app, config()), BODY, headers_for(BODY, mcp))
    assert status == 200
    assert len(app.seen) == 1
    assert app.seen[0]["scope"]["state"]["mcp_identity"].era == "modern"


@pytest.mark.parametrize(
    "mcp",
    [
        pytest.param({**MATCHING, "Mcp-Method": "tools/list"}, id="Mcp-Method"),
        pytest.param({**MATCHING, "Mcp-Name": "delete"}, id="Mcp-Name"),
        pytest.param({**MATCHING, "Mcp-Name": b64("delete")}, id="Mcp-Name in Base64"),
        pytest.param({**MATCHING, "Mcp-Name": "=?base64?SGVsbG8?="}, id="Mcp-Name in non-canonical Base64"),
        pytest.param({**MATCHING, "MCP-Protocol-Version": "2026-09-01"}, id="MCP-Protocol-Version vs _meta"),
        pytest.param({**MATCHING, "Mcp-Param-Path": "/etc/passwd"}, id="Mcp-Param-Path"),
        pytest.param({**MATCHING, "Mcp-Param-Limit": "43"}, id="Mcp-Param-Limit (a number)"),
        pytest.param({"MCP-Protocol-Version": MODERN, "Mcp-Name": "read"}, id="Mcp-Method missing"),
        pytest.param({"Mcp-Method": "tools/call", "Mcp-Name": "read"}, id="MCP-Protocol-Version missing"),
        pytest.param({"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call"}, id="Mcp-Name missing"),
    ],
)
def test_responds_400_mcp_header_mismatch_with_the_request_id_when_a_header_disagrees_with_the_signed_body(
    mcp: dict[str, str],
) -> None:
    app = Recorder()
    status, body = run(IdentityMiddleware(app, config()), BODY, headers_for(BODY, mcp))
    assert status == 400
    assert refusal(body) == (1, -32020, "mcp_header_mismatch")
    assert app.seen == []


def test_echoes_a_string_request_id_in_the_mcp_header_mismatch_body() -> None:
    message = {**MESSAGE, "id": "req-7"}
    body = json.dumps(message).encode()
    app = Recorder()
    status, answer = run(IdentityMiddleware(app, config()), body, headers_for(body, {**MATCHING, "Mcp-Name": "x"}))
    assert status == 400
    assert refusal(answer) == ("req-7", -32020, "mcp_header_mismatch")
    assert app.seen == []


def test_refuses_2b_before_looking_for_the_assertion() -> None:
    # Check 2b runs before checks 3 and 4: without any assertion the answer is still mcp_header_mismatch.
    app = Recorder()
    headers = [(b"content-type", b"application/json"), (b"mcp-protocol-version", MODERN.encode())]
    headers += [(b"mcp-method", b"tools/list"), (b"mcp-name", b"read")]
    status, body = run(IdentityMiddleware(app, config()), BODY, headers)
    assert (status, refusal(body)) == (400, (1, -32020, "mcp_header_mismatch"))
    assert app.seen == []


def test_responds_400_mcp_message_refused_for_a_modern_batch() -> None:
    batch = json.dumps([MESSAGE, {**MESSAGE, "id": 2}]).encode()
    app = Recorder()
    status, body = run(IdentityMiddleware(app, config()), batch, headers_for(batch, MATCHING))
    assert status == 400
    assert refusal(body) == (None, -32600, "mcp_message_refused")
    assert app.seen == []


def test_responds_400_mcp_message_refused_for_a_client_response_with_a_modern_header() -> None:
    response = json.dumps({"jsonrpc": "2.0", "id": 3, "result": {}}).encode()
    app = Recorder()
    status, body = run(
        IdentityMiddleware(app, config()), response, headers_for(response, {"MCP-Protocol-Version": MODERN})
    )
    assert status == 400
    assert refusal(body) == (None, -32600, "mcp_message_refused")
    assert app.seen == []


def test_does_not_check_the_mcp_headers_of_a_legacy_request() -> None:
    legacy = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "read"}}).encode()
    odd = {
        "MCP-Protocol-Version": "2025-11-25",
        "Mcp-Method": "tools/list",
        "Mcp-Name": "delete",
        "Mcp-Param-Path": "/etc/passwd",
    }
    app = Recorder()
    status, _ = run(IdentityMiddleware(app, config()), legacy, headers_for(legacy, odd))
    assert status == 200
    assert len(app.seen) == 1
    assert app.seen[0]["scope"]["state"]["mcp_identity"].era == "legacy"


def test_does_not_check_a_legacy_envelope_with_a_mismatched_method_header() -> None:
    message = {**MESSAGE, "params": {**MESSAGE["params"], "_meta": {ENVELOPE: "2025-11-25"}}}
    body = json.dumps(message).encode()
    app = Recorder()
    status, _ = run(IdentityMiddleware(app, config()), body, headers_for(body, {"Mcp-Method": "tools/list"}))
    assert status == 200
    assert len(app.seen) == 1


@pytest.mark.parametrize(
    ("mcp", "cause"),
    [
        pytest.param(
            [("Mcp-Method", "tools/call"), ("mcp-method", "tools/call")], "more than once", id="Mcp-Method twice"
        ),
        pytest.param([("Mcp-Method", "tools/call"), ("Mcp_Method", "tools/call")], '"_"', id="Mcp_Method"),
        pytest.param([("Mcp-Method", "tools/call"), ("Mcp-Param_Path", "/docs/a.txt")], '"_"', id="Mcp-Param_Path"),
        pytest.param(
            [("Mcp-Method", "tools/call"), ("Mcp-Param-Path", "/docs/a.txt"), ("MCP-PARAM-PATH", "/docs/a.txt")],
            "more than once",
            id="Mcp-Param twice",
        ),
    ],
)
@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_responds_400_mcp_header_mismatch_for_a_hostile_mcp_header_spelling_in_either_era(
    mcp: list[tuple[str, str]], cause: str, era: str
) -> None:
    # As the TypeScript reader: a repeated or "_"-spelled MCP header is hostile whatever the era.
    message = MESSAGE if era == "modern" else {**MESSAGE, "params": {"name": "read", "arguments": {"path": "x"}}}
    body = json.dumps(message).encode()
    base = [("MCP-Protocol-Version", MODERN), ("Mcp-Name", "read")] if era == "modern" else []
    app = Recorder()
    status, answer = run(IdentityMiddleware(app, config()), body, headers_for(body, base + mcp))
    assert status == 400
    assert refusal(answer)[1:] == (-32020, "mcp_header_mismatch")
    assert cause in json.loads(answer)["error"]["message"]
    assert app.seen == []


class Lifespan:
    """Recorder behind uvicorn: answers the lifespan protocol, records HTTP requests."""

    def __init__(self, app: Recorder) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await self.app(scope, receive, send)


def test_refuses_a_duplicate_mcp_method_and_an_underscore_spelling_sent_over_real_http() -> None:
    app = Recorder()
    with Served(IdentityMiddleware(Lifespan(app), config())) as served:
        for extra, cause in (
            ([("Mcp-Method", "tools/call"), ("Mcp-Method", "tools/call")], "mcp-method header is sent more than once"),
            ([("Mcp-Method", "tools/call"), ("Mcp_Method", "tools/call")], 'mcp_method header is spelled with "_"'),
        ):
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
            connection.putrequest("POST", "/mcp")
            for name, value in [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(BODY))),
                ("X-Forwarded-User-Assertion", sign(BODY)),
                ("MCP-Protocol-Version", MODERN),
                ("Mcp-Name", "read"),
                *extra,
            ]:
                connection.putheader(name, value)
            connection.endheaders(BODY)
            response = connection.getresponse()
            answer = response.read()
            connection.close()
            assert response.status == 400
            # The header reader refuses before the body is looked at: no id, as the TypeScript reader.
            assert refusal(answer) == (None, -32020, "mcp_header_mismatch")
            assert cause in json.loads(answer)["error"]["message"].lower()
    assert app.seen == []


def test_verify_request_reports_the_era_and_reads_a_header_iterator_once_per_reader() -> None:
    headers = iter(headers_for(BODY, MATCHING))
    assert verify_request("POST", "/mcp", headers, BODY, config()).era == "modern"


# The checks themselves (mirroring packages/core/test/mcp-era.test.ts)


def envelope(version: Any) -> dict[str, Any]:
    return {ENVELOPE: version}


def call(meta: dict[str, Any] | None = None, method: str = "tools/call") -> dict[str, Any]:
    params: dict[str, Any] = {"name": "echo", "arguments": {}}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2026-07-28", True),
        ("2027-01-01", True),
        ("2025-11-25", False),
        ("2025-06-18", False),
        ("2026-07-27", False),
        ("2026-7-28", False),
        ("9999", False),
        ("2026-07-28\n", False),
        ("\u0662\u0660\u0662\u0666-\u0660\u0667-\u0662\u0668", False),  # Arabic-Indic digits
        (20260728, False),
        (None, False),
    ],
)
def test_is_modern_protocol_version(version: Any, expected: bool) -> None:
    assert is_modern_protocol_version(version) is expected


@pytest.mark.parametrize(
    ("body", "header", "era"),
    [
        pytest.param(call(envelope(MODERN)), None, "modern", id="a request with a modern envelope"),
        pytest.param(call(envelope("2025-11-25")), None, "legacy", id="a request with a legacy envelope"),
        pytest.param(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}},
            None,
            "legacy",
            id="initialize",
        ),
        pytest.param(call({"progressToken": 1}), None, "legacy", id="a request with other _meta keys only"),
        pytest.param(call(), "2025-06-18", "legacy", id="a request without _meta and a legacy header"),
        pytest.param({"jsonrpc": "2.0", "method": "notifications/x"}, MODERN, "modern", id="a notification"),
        pytest.param({"jsonrpc": "2.0", "id": 1, "result": {}}, MODERN, "modern", id="a response"),
        pytest.param([call(), call(envelope(MODERN))], None, "modern", id="a batch with one modern element"),
        pytest.param([call(), call()], None, "legacy", id="an all-legacy batch"),
        pytest.param(NO_BODY, MODERN, "legacy", id="no body"),
        pytest.param(None, MODERN, "modern", id="the JSON value null with a modern header"),
    ],
)
def test_classify_mcp_request(body: Any, header: str | None, era: str) -> None:
    assert classify_mcp_request(body, header) == era


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ("us-west1", "us-west1"),
        ("=?base64?SGVsbG8sIOS4lueVjA==?=", "Hello, 世界"),
        ("=?base64?IHBhZGRlZCA=?=", " padded "),
        ("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", "=?base64?literal?="),
        ("=?base64?SGVsbG8?=", None),
        ("=?base64?not base64?=", None),
        ("=?base64?/w==?=", None),
        ("=?BASE64?SGk=?=", "=?BASE64?SGk=?="),
        ("=?base64?77u/YQ==?=", "a"),
    ],
)
def test_decode_mcp_header_value(value: str, decoded: str | None) -> None:
    assert decode_mcp_header_value(value) == decoded


def test_reads_the_standard_headers_case_insensitively_trimmed_and_mcp_param_by_lower_case_name() -> None:
    raw = [
        ("MCP-Protocol-Version", " 2026-07-28 "),
        ("mcp-method", "tools/call"),
        ("MCP-NAME", "echo"),
        (b"Mcp-Param-my_Field", b"x"),
        ("Mcp-Session-Id", "s"),
        ("Mcp_Session_Id", "s"),
    ]
    assert read_mcp_headers(raw) == McpRequestHeaders(MODERN, "tools/call", "echo", {"my_field": "x"})


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param([("Mcp-Method", "a"), ("mcp-method", "a")], id="a repeated Mcp-Method"),
        pytest.param([("Mcp-Param-X", "1"), ("mcp-param-x", "1")], id="a repeated Mcp-Param-X"),
        pytest.param([("Mcp_Name", "a")], id="Mcp_Name"),
        pytest.param([("MCP_Protocol_Version", MODERN)], id="MCP_Protocol_Version"),
        pytest.param([("Mcp-Param_X", "1")], id="Mcp-Param_X"),
        pytest.param([("Mcp-Name", "a\u0001b")], id="a control character"),
        pytest.param([("Mcp-Name", "h\u00e9llo")], id="a non-ASCII character"),
    ],
)
def test_read_mcp_headers_refuses_with_mcp_header_mismatch(raw: list[tuple[str, str]]) -> None:
    assert code_of(lambda: read_mcp_headers(raw)) == "mcp_header_mismatch"


def modern_headers(**overrides: Any) -> McpRequestHeaders:
    values: dict[str, Any] = {"protocol_version": MODERN, "method": "tools/call", "name": "echo", "params": {}}
    return McpRequestHeaders(**{**values, **overrides})


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        pytest.param(call(envelope(MODERN)), modern_headers(), "no error", id="matching headers"),
        pytest.param(
            {"jsonrpc": "2.0", "id": 1, "result": {}}, modern_headers(), "mcp_message_refused", id="a client response"
        ),
        pytest.param("text", modern_headers(), "mcp_message_refused", id="a JSON string body"),
        pytest.param(
            call(envelope(MODERN)), modern_headers(name="other"), "mcp_header_mismatch", id="a mismatched Mcp-Name"
        ),
        pytest.param(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope(MODERN)}},
            modern_headers(method="tools/list"),
            "mcp_header_mismatch",
            id="an Mcp-Name on a method that has no name",
        ),
        pytest.param(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"_meta": envelope(MODERN)}},
            modern_headers(method=None, name=None, protocol_version=None),
            "no error",
            id="a notification without the headers",
        ),
        pytest.param(
            {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"taskId": "t1", "_meta": envelope(MODERN)}},
            modern_headers(method="tasks/get", name=None),
            "no error",
            id="tasks/get without Mcp-Name",
        ),
        pytest.param(
            {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"taskId": "t1", "_meta": envelope(MODERN)}},
            modern_headers(method="tasks/get", name="t2"),
            "mcp_header_mismatch",
            id="tasks/get with a mismatched Mcp-Name",
        ),
        pytest.param(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "resources/read",
                "params": {"uri": "file:///a", "_meta": envelope(MODERN)},
            },
            modern_headers(method="resources/read", name="file:///a"),
            "no error",
            id="resources/read with Mcp-Name from params.uri",
        ),
        pytest.param(
            {**call(envelope(MODERN)), "params": {"name": "echo", "arguments": {"deep": {"on": True}}}},
            modern_headers(params={"on": "true"}),
            "no error",
            id="an Mcp-Param mirroring a nested boolean",
        ),
        pytest.param(
            {**call(envelope(MODERN)), "params": {"name": "echo", "arguments": {"list": ["x"]}}},
            modern_headers(params={"list": "x"}),
            "mcp_header_mismatch",
            id="an Mcp-Param naming an array element (arrays are not descended)",
        ),
        pytest.param(
            {"jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": {"name": "p", "_meta": envelope(MODERN)}},
            modern_headers(method="prompts/get", name="p", params={"x": "1"}),
            "mcp_header_mismatch",
            id="an Mcp-Param on a method without tool arguments",
        ),
    ],
)
def test_check_modern_request(body: Any, headers: McpRequestHeaders, code: str) -> None:
    assert code_of(lambda: check_modern_request(body, headers)) == code


def test_inspect_mcp_request_refuses_a_hostile_spelling_on_a_legacy_request_too() -> None:
    assert code_of(lambda: inspect_mcp_request(call(), [("Mcp_Method", "tools/call")])) == "mcp_header_mismatch"


def test_inspect_mcp_request_does_not_check_the_headers_of_a_legacy_request() -> None:
    assert inspect_mcp_request(call(), [("Mcp-Method", "tools/list")]) == "legacy"


def test_mcp_header_mismatch_echoes_the_id_as_json_stringify_writes_it() -> None:
    assert IdentityError("mcp_header_mismatch", "m", rpc_id=7.0).to_json_rpc()["id"] == 7
    assert IdentityError("mcp_header_mismatch", "m", rpc_id=1.5).to_json_rpc()["id"] == 1.5
    assert (
        IdentityError("mcp_header_mismatch", "m", rpc_id=float("inf")).body().startswith(b'{"jsonrpc":"2.0","id":null')
    )
    assert IdentityError("mcp_header_mismatch", "m").to_json_rpc()["id"] is None
