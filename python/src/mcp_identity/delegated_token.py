"""The delegated-token check (spec "Extensions", claim ``dtk``), as the TypeScript receiver makes it.

When the assertion carries ``dtk`` (the gateway exchanged a token for the user and forwards it), the
request's ``Authorization: Bearer`` token must be exactly that token (its base64url SHA-256 is
``dtk.ath``) and, when it is JWT-shaped, be about the assertion's subject. The token's signature,
issuer, audience and expiry are the business of the API it is meant for: they are not verified here.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any

from .binding import sha256_b64url
from .canonical_json import InvalidJson, parse_json_text
from .errors import IdentityError

# One bearer token (RFC 6750 b64token); the scheme in any case, as TypeScript's /^bearer +(...) *$/i.
_BEARER = re.compile(r"bearer +([A-Za-z0-9\-._~+/]+=*) *\Z", re.IGNORECASE | re.ASCII)
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")}
_B64.update({"-": 62, "+": 62, "_": 63, "/": 63})
_NO_SUBJECT = object()


def _lenient_b64_decode(text: str) -> bytes:
    """Node's ``Buffer.from(text, "base64url")``: both alphabets, other characters skipped, stops at ``=``,
    trailing bits dropped."""
    out = bytearray()
    bits = 0
    count = 0
    for char in text:
        if char == "=":
            break
        value = _B64.get(char)
        if value is None:
            continue
        bits = (bits << 6) | value
        count += 6
        if count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
            bits &= (1 << count) - 1
    return bytes(out)


def _subject_of(token: str) -> Any:
    """``_NO_SUBJECT`` for a token that is not JWT-shaped (three segments) or a JWT payload without ``sub``;
    else the payload's ``sub``, or ``None`` when the payload is not a JSON object."""
    parts = token.split(".")
    if len(parts) != 3:
        return _NO_SUBJECT
    try:
        payload = parse_json_text(_lenient_b64_decode(parts[1]).decode("utf-8", "replace"))
    except InvalidJson:
        return None
    if not isinstance(payload, dict):
        return None
    return payload.get("sub", _NO_SUBJECT)


def authorization_values(headers: Iterable[tuple[str, str]]) -> list[str]:
    """Every ``Authorization`` value of a header list (names and values as text), in order."""
    return [value.strip(" \t") for name, value in headers if name.lower() == "authorization"]


def check_delegated_token(
    claims: dict[str, Any], user: dict[str, Any], authorization: list[str], required: bool
) -> str | None:
    """Checks the delegated token of a verified request; returns it, or ``None`` when the assertion announces
    none. Raises ``delegated_token_missing`` (none announced and ``required``, or announced but not sent) or
    ``delegated_token_mismatch``."""
    if "dtk" not in claims:
        if required:
            raise IdentityError("delegated_token_missing", "this server needs a token delegated by the gateway")
        return None
    claim = claims["dtk"]
    if not isinstance(claim, dict) or not isinstance(claim.get("ath"), str):
        raise IdentityError("delegated_token_mismatch", "the dtk claim is malformed")
    if not authorization:
        raise IdentityError("delegated_token_missing", "the delegated token the assertion announces is missing")
    match = _BEARER.match(authorization[0]) if len(authorization) == 1 else None
    if match is None:
        raise IdentityError("delegated_token_mismatch", "the Authorization header is not one bearer token")
    token = match.group(1)
    digest = sha256_b64url(token.encode("ascii"))
    if not hmac.compare_digest(digest.encode("ascii"), claim["ath"].encode("utf-8", "surrogatepass")):
        raise IdentityError("delegated_token_mismatch", "the bearer token is not the one the assertion announces")
    # A JWT must be about the assertion's subject; an opaque token is bound by ath alone.
    subject = _subject_of(token)
    if subject is not _NO_SUBJECT and subject != user["id"]:
        raise IdentityError("delegated_token_mismatch", "the delegated token is about another subject")
    return token
