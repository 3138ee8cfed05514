"""Request binding: the body as received is decoded (gzip, deflate), then digested."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

from .canonical_json import InvalidJson, NoCanonicalForm, canonical_json, parse_json_text
from .errors import IdentityError

META_ASSERTION = "mcp-identity/assertion"


def sha256_b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


EMPTY_BODY_SHA256 = sha256_b64url(b"")


def is_json_content_type(content_type: str | None) -> bool:
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _too_large(limit: int) -> IdentityError:
    return IdentityError("body_too_large", f"the request body is larger than {limit} bytes")


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Decodes ``Content-Encoding`` (gzip, x-gzip, deflate, identity), bounded by ``limit`` before and after."""
    coding = (content_encoding if content_encoding is not None else "identity").strip().lower()
    if coding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise IdentityError(
            "unsupported_encoding", "the request Content-Encoding is not supported (use gzip, deflate or none)"
        )
    if len(body) > limit:
        raise _too_large(limit)
    if coding == "identity":
        return body
    # gzip: one or more members (as Node's gunzip); deflate: the zlib format (RFC 9110).
    out = bytearray()
    data = body
    try:
        while True:
            decoder = zlib.decompressobj(31 if coding != "deflate" else 15)
            out += decoder.decompress(data, limit + 1 - len(out))
            if len(out) > limit or decoder.unconsumed_tail:
                raise _too_large(limit)
            if not decoder.eof:
                raise IdentityError("parse_error", "the compressed request body is truncated")
            data = decoder.unused_data
            if coding == "deflate" or not data:
                break
    except zlib.error:
        raise IdentityError("parse_error", "the compressed request body is corrupt") from None
    if coding == "deflate" and data:
        raise IdentityError("parse_error", "the compressed request body is corrupt")
    return bytes(out)


def _without_assertion(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    params = message.get("params")
    if not isinstance(params, dict):
        return message
    meta = params.get("_meta")
    if not isinstance(meta, dict) or META_ASSERTION not in meta:
        return message
    meta = {key: value for key, value in meta.items() if key != META_ASSERTION}
    params = {key: value for key, value in params.items() if key != "_meta"}
    if meta:
        params["_meta"] = meta
    return {**message, "params": params}


def json_body_digest(value: Any) -> str:
    """Digest of a parsed JSON body (numbers as binary64): JCS without the ``_meta`` assertion members."""
    stripped = [_without_assertion(m) for m in value] if isinstance(value, list) else _without_assertion(value)
    return sha256_b64url(canonical_json(stripped).encode("utf-8"))


def parse_json_body(body: bytes) -> Any:
    """The body parsed as ECMAScript would (numbers as binary64); raises InvalidJson."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("not UTF-8") from None
    return parse_json_text(text)


def request_body_digest(content_type: str | None, body: bytes) -> str:
    """The ``body_sha256`` of a decoded body."""
    if not body:
        return EMPTY_BODY_SHA256
    if is_json_content_type(content_type):
        try:
            return json_body_digest(parse_json_body(body))
        except (InvalidJson, NoCanonicalForm):
            pass
    return sha256_b64url(body)
