"""MCP protocol eras and check 2b: a 2026-07-28 ("modern") request's metadata headers must say what its body says.

The same rules as the TypeScript packages (``@mcp-identity/core``, ``mcp-era.ts``), so both receivers refuse the
same requests with the same codes. Classification is body-primary: the envelope key
``params._meta["io.modelcontextprotocol/protocolVersion"]`` decides; the ``MCP-Protocol-Version`` header decides
only for a message without the envelope (a posted notification or response, a batch).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from .canonical_json import number_to_string
from .errors import IdentityError

#: The ``_meta`` key naming a modern request's protocol revision.
PROTOCOL_VERSION_META_KEY: Final = "io.modelcontextprotocol/protocolVersion"
#: The first modern protocol revision. Revisions are ISO dates, so they compare as strings.
FIRST_MODERN_PROTOCOL_VERSION: Final = "2026-07-28"

MCP_PROTOCOL_VERSION_HEADER: Final = "mcp-protocol-version"
MCP_METHOD_HEADER: Final = "mcp-method"
MCP_NAME_HEADER: Final = "mcp-name"
MCP_PARAM_HEADER_PREFIX: Final = "mcp-param-"

#: Stands for "no JSON body" (none, not JSON, or not parsed), as opposed to the JSON value ``null``.
NO_BODY: Final = object()

_REVISION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SENTINEL_PREFIX = "=?base64?"
_SENTINEL_SUFFIX = "?="
_CANONICAL_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_CANONICAL_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# RFC 9110 field values: visible ASCII, space and tab.
_FIELD_VALUE = re.compile(r"[\x20-\x7e\t]*")
_STANDARD = (MCP_PROTOCOL_VERSION_HEADER, MCP_METHOD_HEADER, MCP_NAME_HEADER)
#: Which body field ``Mcp-Name`` mirrors, per method, and whether the header is required.
_NAME_SOURCE: Final = {
    "tools/call": ("name", True),
    "prompts/get": ("name", True),
    "resources/read": ("uri", True),
    "tasks/get": ("taskId", False),
    "tasks/update": ("taskId", False),
    "tasks/cancel": ("taskId", False),
}


@dataclass(frozen=True)
class McpRequestHeaders:
    """The MCP request metadata headers of one request (values trimmed; ``params`` by lower-case name)."""

    protocol_version: str | None = None
    method: str | None = None
    name: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def is_modern_protocol_version(version: Any) -> bool:
    """Tells whether a protocol revision string belongs to the modern era (2026-07-28 and later)."""
    return (
        isinstance(version, str)
        and _REVISION.fullmatch(version) is not None
        and version >= FIRST_MODERN_PROTOCOL_VERSION
    )


def _mismatch(message: str, rpc_id: str | float | None = None) -> IdentityError:
    return IdentityError("mcp_header_mismatch", message, rpc_id=rpc_id)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def read_mcp_headers(headers: Iterable[tuple[str | bytes, str | bytes]]) -> McpRequestHeaders:
    """Reads ``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name`` and ``Mcp-Param-*`` from the raw header list.

    A spelling a proxy or server could read differently (the header sent twice, its name spelled with ``_``) and
    a value with characters outside visible ASCII, space and tab raise ``mcp_header_mismatch``, in either era.
    """
    single: dict[str, str] = {}
    params: dict[str, str] = {}
    for raw_name, raw_value in headers:
        raw = _text(raw_name)
        # Every header read here starts with "mcp" (any case): the others are passed over unread.
        if raw[:1] not in ("m", "M"):
            continue
        name = raw.lower()
        dashed = name.replace("_", "-")
        is_param = dashed.startswith(MCP_PARAM_HEADER_PREFIX)
        if not is_param and dashed not in _STANDARD:
            continue
        # "_" may appear inside a parameter's own name (Mcp-Param-my_field), never in the fixed part.
        fixed = name[: len(MCP_PARAM_HEADER_PREFIX)] if is_param else name
        if fixed != (MCP_PARAM_HEADER_PREFIX if is_param else dashed):
            raise _mismatch(f'the {raw} header is spelled with "_"')
        value = _text(raw_value)
        if _FIELD_VALUE.fullmatch(value) is None:
            raise _mismatch(f"the {raw} header has invalid characters")
        target = params if is_param else single
        key = name[len(MCP_PARAM_HEADER_PREFIX) :] if is_param else name
        if key in target:
            raise _mismatch(f"the {raw} header is sent more than once")
        target[key] = value.strip(" \t")
    return McpRequestHeaders(
        protocol_version=single.get(MCP_PROTOCOL_VERSION_HEADER),
        method=single.get(MCP_METHOD_HEADER),
        name=single.get(MCP_NAME_HEADER),
        params=params,
    )


def decode_mcp_header_value(value: str) -> str | None:
    """Decodes an ``Mcp-Name`` or ``Mcp-Param-*`` value: ``=?base64?...?=`` is canonical Base64 of UTF-8;
    anything else is the value itself. Returns ``None`` for a sentinel that does not decode."""
    if not (value.startswith(_SENTINEL_PREFIX) and value.endswith(_SENTINEL_SUFFIX) and len(value) >= 11):
        return value
    encoded = value[len(_SENTINEL_PREFIX) : len(value) - len(_SENTINEL_SUFFIX)]
    if _CANONICAL_BASE64.fullmatch(encoded) is None:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    # As a WHATWG TextDecoder (the TypeScript side): a leading byte order mark is not part of the text.
    return decoded[1:] if decoded.startswith("\ufeff") else decoded


def envelope_version(message: Any) -> tuple[bool, Any]:
    """(claimed, version): whether a message's ``params._meta`` carries the envelope key, and its value."""
    params = message.get("params") if isinstance(message, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict) or PROTOCOL_VERSION_META_KEY not in meta:
        return False, None
    return True, meta[PROTOCOL_VERSION_META_KEY]


def classify_mcp_request(body: Any, protocol_version_header: str | None) -> str:
    """``"modern"`` or ``"legacy"``, from the parsed JSON body (:data:`NO_BODY` for none) and the
    ``MCP-Protocol-Version`` header. A request without a JSON body is legacy."""
    header_modern = is_modern_protocol_version(protocol_version_header)
    if body is NO_BODY:
        return "legacy"
    if isinstance(body, list):
        modern = header_modern or any(is_modern_protocol_version(envelope_version(m)[1]) for m in body)
        return "modern" if modern else "legacy"
    return "modern" if header_modern or is_modern_protocol_version(envelope_version(body)[1]) else "legacy"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _argument_values(arguments: dict[str, Any]) -> tuple[set[str], list[float]]:
    # Strings, booleans ("true"/"false") and finite numbers (as ECMAScript writes them) of the arguments and of
    # nested objects: only "properties" chains can carry x-mcp-header values, so arrays are not descended.
    strings: set[str] = set()
    numbers: list[float] = []
    pending: list[Any] = list(arguments.values())
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            strings.add(value)
        elif isinstance(value, bool):
            strings.add("true" if value else "false")
        elif _is_number(value) and math.isfinite(value):
            strings.add(number_to_string(float(value)))
            numbers.append(float(value))
        elif isinstance(value, dict):
            pending.extend(value.values())
    return strings, numbers


def _check_param_headers(message: dict[str, Any], headers: McpRequestHeaders, rpc_id: str | float | None) -> None:
    if not headers.params:
        return
    params = message.get("params")
    if (
        message.get("method") != "tools/call"
        or not isinstance(params, dict)
        or not isinstance(params.get("arguments"), dict)
    ):
        raise _mismatch("Mcp-Param-* headers are sent, but the body has no tool arguments for them to mirror", rpc_id)
    strings, numbers = _argument_values(params["arguments"])
    for name, raw in headers.params.items():
        decoded = decode_mcp_header_value(raw)
        if decoded is None:
            raise _mismatch(f"the Mcp-Param-{name} header carries an invalid Base64 value", rpc_id)
        matches = decoded in strings or (
            _CANONICAL_DECIMAL.fullmatch(decoded) is not None and float(decoded) in numbers
        )
        if not matches:
            raise _mismatch(f"the Mcp-Param-{name} header names a value the tool arguments do not carry", rpc_id)


def check_modern_request(body: Any, headers: McpRequestHeaders) -> None:
    """Checks a modern request: one JSON-RPC request or notification (``mcp_message_refused``), and every
    metadata header saying what the body says (``mcp_header_mismatch``, echoing the request's ``id``)."""
    if isinstance(body, list):
        raise IdentityError("mcp_message_refused", "a modern MCP request body must be one message, not a batch")
    if not isinstance(body, dict):
        raise IdentityError("mcp_message_refused", "a modern MCP request body must be one JSON-RPC message")
    if "method" not in body:
        raise IdentityError("mcp_message_refused", "a modern MCP client must not send JSON-RPC responses")
    method = body["method"]
    is_request = "id" in body
    # The error answers this request: it carries the request's id.
    request_id = body.get("id")
    rpc_id = request_id if isinstance(request_id, str) or _is_number(request_id) else None
    claimed, version = envelope_version(body)
    if headers.protocol_version is None:
        if is_request:
            raise _mismatch("the MCP-Protocol-Version header is missing", rpc_id)
    elif claimed and not (isinstance(version, str) and headers.protocol_version == version):
        raise _mismatch("the MCP-Protocol-Version header does not match the request body", rpc_id)
    if headers.method is None:
        if is_request:
            raise _mismatch("the Mcp-Method header is missing", rpc_id)
    elif not (isinstance(method, str) and headers.method == method):
        raise _mismatch("the Mcp-Method header does not match the request body", rpc_id)
    source = _NAME_SOURCE.get(method) if isinstance(method, str) else None
    if source is None:
        if headers.name is not None:
            raise _mismatch("the Mcp-Name header is sent with a method that has no name", rpc_id)
    else:
        source_field, required = source
        params = body.get("params")
        body_value = params.get(source_field) if isinstance(params, dict) else None
        if headers.name is None:
            if is_request and required and isinstance(body_value, str):
                raise _mismatch("the Mcp-Name header is missing", rpc_id)
        else:
            decoded = decode_mcp_header_value(headers.name)
            if decoded is None:
                raise _mismatch("the Mcp-Name header carries an invalid Base64 value", rpc_id)
            if not (isinstance(body_value, str) and decoded == body_value):
                raise _mismatch("the Mcp-Name header does not match the request body", rpc_id)
    _check_param_headers(body, headers, rpc_id)


def inspect_mcp_request(body: Any, headers: Iterable[tuple[str | bytes, str | bytes]]) -> str:
    """Check 2b: classifies a request and, when it is modern, checks it with :func:`check_modern_request`.
    Hostile header spellings are refused in either era. Returns the era."""
    mcp_headers = read_mcp_headers(headers)
    era = classify_mcp_request(body, mcp_headers.protocol_version)
    if era == "modern":
        check_modern_request(body, mcp_headers)
    return era
