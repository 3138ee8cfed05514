"""Compact JWS parsing and signature verification for ``user-context+jwt`` assertions."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .errors import IdentityError

MAX_TOKEN_LENGTH = 16 * 1024
ALGORITHMS = ("HS256", "EdDSA", "ES256")
_SIGNATURE_LENGTH = {"HS256": 32, "EdDSA": 64, "ES256": 64}
_B64URL = re.compile(r"[A-Za-z0-9_-]+\Z")
_TYP = re.compile(r"(application/)?user-context\+jwt\Z", re.IGNORECASE)
_KID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.:-]{0,127}\Z")
_ALLOWED_HEADER = {"alg", "kid", "typ"}


def is_valid_kid(kid: str) -> bool:
    return bool(_KID.match(kid)) and ".." not in kid


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Key:
    """A verification key: ``alg`` HS256 (``key`` bytes), EdDSA or ES256 (a cryptography public key)."""

    alg: str
    kid: str | None
    key: Any


@dataclass(frozen=True)
class ParsedJws:
    alg: str
    kid: str | None
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _invalid(message: str) -> IdentityError:
    return IdentityError("identity_invalid", message)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _segment(segment: str, what: str) -> Any:
    if not _B64URL.match(segment) or len(segment) % 4 == 1:
        raise _invalid(f"the assertion {what} is not base64url")
    try:
        return json.loads(b64url_decode(segment).decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, binascii.Error, RecursionError):
        raise _invalid(f"the assertion {what} is not JSON") from None


def parse_jws(token: str) -> ParsedJws:
    """Parses a compact JWS without trusting it. Raises ``identity_invalid``."""
    if token == "":
        raise _invalid("the assertion is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise _invalid("the assertion is too long")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] == "" or parts[1] == "" or parts[2] == "":
        raise _invalid("the assertion is not a compact JWS")
    header = _segment(parts[0], "header")
    if not isinstance(header, dict):
        raise _invalid("the assertion header is not an object")
    for name in header:
        if name not in _ALLOWED_HEADER:
            raise _invalid("the assertion header carries a forbidden parameter")
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise _invalid("the assertion algorithm is not allowed")
    if not isinstance(typ, str) or not _TYP.match(typ):
        raise _invalid("the assertion typ is not user-context+jwt")
    if "kid" in header and (not isinstance(kid, str) or not is_valid_kid(kid)):
        raise _invalid("the assertion kid is malformed")
    payload = _segment(parts[1], "payload")
    if not isinstance(payload, dict):
        raise _invalid("the assertion payload is not an object")
    if not _B64URL.match(parts[2]) or len(parts[2]) % 4 == 1:
        raise _invalid("the assertion signature is not canonical base64url")
    signature = b64url_decode(parts[2])
    if b64url_encode(signature) != parts[2]:
        raise _invalid("the assertion signature is not canonical base64url")
    return ParsedJws(
        alg, kid if isinstance(kid, str) else None, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature
    )


def verify_signature(jws: ParsedJws, key: Key) -> bool:
    if key.alg != jws.alg or len(jws.signature) != _SIGNATURE_LENGTH[key.alg]:
        return False
    try:
        if key.alg == "HS256":
            expected = hmac.new(key.key, jws.signing_input, "sha256").digest()
            return hmac.compare_digest(expected, jws.signature)
        if key.alg == "EdDSA":
            key.key.verify(jws.signature, jws.signing_input)
            return True
        r = int.from_bytes(jws.signature[:32], "big")
        s = int.from_bytes(jws.signature[32:], "big")
        key.key.verify(encode_dss_signature(r, s), jws.signing_input, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


__all__ = ["ALGORITHMS", "Ed25519PublicKey", "Key", "ParsedJws", "is_valid_kid", "parse_jws", "verify_signature"]
