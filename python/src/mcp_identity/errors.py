"""The one error class: every refusal has a stable code, an HTTP status and a JSON-RPC code."""

from __future__ import annotations

import json
import math
from typing import Any

#: code -> (HTTP status, JSON-RPC error code); the same table as the TypeScript packages.
CODES: dict[str, tuple[int, int]] = {
    "body_too_large": (413, -32600),
    "unsupported_encoding": (415, -32600),
    "parse_error": (400, -32700),
    "mcp_header_mismatch": (400, -32020),
    "mcp_message_refused": (400, -32600),
    "identity_missing": (401, -32001),
    "identity_invalid": (401, -32001),
    "identity_expired": (401, -32001),
    "identity_replayed": (401, -32001),
    "identity_audience": (401, -32001),
    "identity_issuer": (401, -32001),
    "identity_binding": (401, -32001),
    "identity_mismatch": (401, -32001),
    "identity_forbidden": (403, -32003),
    "delegated_token_missing": (401, -32001),
    "delegated_token_mismatch": (401, -32001),
    "keys_unavailable": (503, -32603),
    "store_unavailable": (503, -32603),
}


def _json_rpc_id(value: str | float | None) -> str | int | float | None:
    # JSON numbers are parsed as binary64 (as ECMAScript does): an integral id is echoed as an integer, as
    # JSON.stringify writes it; a non-finite one (only from an overflowing literal) as null, as JSON.stringify does.
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else value
    return value


class IdentityError(Exception):
    """A refusal. Switch on ``code``; ``status`` is the HTTP status, ``rpc_code`` the JSON-RPC code."""

    def __init__(self, code: str, message: str, *, rpc_id: str | float | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.status, self.rpc_code = CODES[code]
        #: The ``id`` of the refused JSON-RPC request, when the refusal answers one (check 2b), else ``None``.
        self.rpc_id = rpc_id

    def to_json_rpc(self) -> dict[str, Any]:
        """The JSON-RPC error body every refusal is answered with (never holds a token or secret)."""
        return {
            "jsonrpc": "2.0",
            "id": _json_rpc_id(self.rpc_id),
            "error": {"code": self.rpc_code, "message": self.message, "data": {"code": self.code}},
        }

    def body(self) -> bytes:
        return json.dumps(self.to_json_rpc(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
