"""``verify_request``: the receiver checks of wire format v1, in the order of the specification."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .binding import decode_body, is_json_content_type, json_body_digest, parse_json_body, sha256_b64url
from .canonical_json import InvalidJson, NoCanonicalForm, canonical_json
from .claims import claims_to_user, contextforge_meta_user
from .delegated_token import authorization_values, check_delegated_token
from .errors import IdentityError
from .header_codec import (
    ASSERTION_SUFFIX,
    CONTEXTFORGE_SIGNATURE_SUFFIX,
    IDENTITY_HEADER_SUFFIXES,
    user_to_headers,
)
from .jws import parse_jws, verify_signature
from .keys import FirstKeySource, Key, KeySource, RemoteKeySet, StaticKeySource
from .mcp_era import NO_BODY, inspect_mcp_request
from .stores import MemoryStore, ReplayStore

WIRE_FORMAT_VERSION = 1
DEFAULT_BODY_LIMIT = 4 * 1024 * 1024
META_PREFIX = "mcp-identity/"
META_ASSERTION = "mcp-identity/assertion"
META_USER = "mcp-identity/user"
META_CONTEXTFORGE_USER = "user"
_JTI = re.compile(r"[A-Za-z0-9_-]{16,128}\Z")
_KNOWN_SUFFIXES = {*IDENTITY_HEADER_SUFFIXES, ASSERTION_SUFFIX, CONTEXTFORGE_SIGNATURE_SUFFIX}
_MAX_SAFE = 2**53 - 1

Headers = Iterable[tuple[str | bytes, str | bytes]]


def _now_ms() -> float:
    return time.time() * 1000


@dataclass(frozen=True)
class ReceiverConfig:
    """Receiver configuration. Give at least one key source: ``secrets`` (HS256), ``public_keys`` or ``jwks_url``.

    ``clock`` returns milliseconds since the epoch. ``key_source`` replaces the three key options when given.
    ``require_delegated_token`` refuses (``delegated_token_missing``) assertions without ``dtk``; whatever it
    says, an announced delegated token is checked.
    """

    issuer: str
    audience: str
    secrets: Sequence[Key] = ()
    public_keys: Sequence[Key] = ()
    jwks_url: str | None = None
    jwks_options: dict[str, Any] = field(default_factory=dict)
    key_source: KeySource | None = None
    replay_store: ReplayStore | None = None
    clock_tolerance_seconds: int = 5
    max_lifetime_seconds: int = 600
    header_prefix: str = "X-Forwarded-User"
    body_limit: int = DEFAULT_BODY_LIMIT
    bind_request: bool = True
    clock: Callable[[], float] = _now_ms
    require_delegated_token: bool = False

    def __post_init__(self) -> None:
        for name in ("issuer", "audience"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 1024:
                raise ValueError(f"{name} is required: a non-empty string of at most 1024 characters")
        if any(key.alg != "HS256" for key in self.secrets):
            raise ValueError("secrets must be HS256 keys (hs256_secret)")
        if any(key.alg not in ("EdDSA", "ES256") for key in self.public_keys):
            raise ValueError("public_keys must be EdDSA or ES256 keys (public_key)")
        if self.key_source is None:
            sources: list[KeySource] = []
            statics = [*self.secrets, *self.public_keys]
            if statics:
                sources.append(StaticKeySource(statics))
            if self.jwks_url is not None:
                sources.append(RemoteKeySet(self.jwks_url, **self.jwks_options))
            if not sources:
                raise ValueError("the receiver needs keys: secrets (HS256), public_keys (EdDSA/ES256) or jwks_url")
            object.__setattr__(self, "key_source", sources[0] if len(sources) == 1 else FirstKeySource(sources))
        if not isinstance(self.require_delegated_token, bool):
            raise ValueError("require_delegated_token must be a boolean")
        if self.replay_store is None:
            object.__setattr__(self, "replay_store", MemoryStore(clock=self.clock))
        for name in ("clock_tolerance_seconds", "max_lifetime_seconds", "body_limit"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (0 if name == "clock_tolerance_seconds" else 1)
            ):
                raise ValueError(
                    f"{name} must be a {'non-negative' if name == 'clock_tolerance_seconds' else 'positive'} integer"
                )
        prefix = self.header_prefix.strip().lower().replace("_", "-").rstrip("-")
        if not re.fullmatch(r"[a-z0-9-]+", prefix):
            raise ValueError("header_prefix must be a header name")
        object.__setattr__(self, "_prefix", prefix)

    @property
    def prefix(self) -> str:
        return str(self.__dict__["_prefix"])


@dataclass(frozen=True)
class VerifiedRequest:
    """A verified request: the user object, the claims, and the decoded body for the application."""

    user: dict[str, Any]
    claims: dict[str, Any]
    jti: str
    issuer: str
    expires_at: int
    token: str
    in_meta: bool
    body: bytes
    #: The request's MCP protocol era: ``"modern"`` (2026-07-28 and later, checked by check 2b) or ``"legacy"``.
    era: str = "legacy"
    #: The token the gateway exchanged for the user (``Authorization: Bearer``, announced by the assertion's
    #: ``dtk`` and checked against it), else ``None``. Call the API it is meant for with it.
    delegated_token: str | None = None


def _text(value: str | bytes) -> str:
    # HTTP header bytes are read one character per byte, as Node and ASGI servers hand them over.
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _is_time(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not value.is_integer():
        return False
    return 0 <= value <= _MAX_SAFE


def _is_one(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value == WIRE_FORMAT_VERSION


def read_identity_headers(headers: Headers, prefix: str) -> tuple[dict[str, str], dict[str, str]]:
    """Step 1: the identity headers, refusing underscores, unknown names and repeats, in list order.
    Returns (all identity headers by suffix, other headers by lower-case name, first value)."""
    seen: dict[str, str] = {}
    others: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = _text(raw_name)
        value = _text(raw_value).strip(" \t")
        lower = name.lower()
        canonical = lower.replace("_", "-")
        if not canonical.startswith(prefix):
            others.setdefault(lower, value)
            continue
        if lower != canonical:
            raise IdentityError("identity_mismatch", "an identity header is spelled with underscores")
        suffix = canonical[len(prefix) + 1 :]
        if canonical[len(prefix) : len(prefix) + 1] != "-" or suffix not in _KNOWN_SUFFIXES:
            raise IdentityError("identity_mismatch", "an unknown identity header is present")
        if suffix in seen:
            raise IdentityError("identity_invalid", "an identity header is repeated")
        seen[suffix] = value
    return seen, others


def _meta_of(container: Any) -> dict[str, Any] | None:
    if isinstance(container, dict) and isinstance(container.get("_meta"), dict):
        return container["_meta"]
    return None


def _is_identity_key(key: str) -> bool:
    return key == META_CONTEXTFORGE_USER or key.lower().startswith(META_PREFIX)


def _canonical_or_none(value: Any) -> str | None:
    try:
        return canonical_json(value)
    except NoCanonicalForm:
        return None


def verify_request(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    config: ReceiverConfig,
) -> VerifiedRequest:
    """Verifies one request (method, request target as on the request line, raw header list, body bytes as
    received). Raises :class:`IdentityError` with the code of the first check that fails."""
    prefix = config.prefix
    # The list is read twice (identity headers, then MCP headers).
    headers = list(headers)
    # 1. Identity headers.
    identity, others = read_identity_headers(headers, prefix)
    # 2. The body: decoded, bounded.
    decoded = decode_body(body, others.get("content-encoding"), config.body_limit)
    content_type = others.get("content-type")
    parsed: Any = None
    is_json = False
    if decoded and is_json_content_type(content_type):
        try:
            parsed = parse_json_body(decoded)
            is_json = True
        except InvalidJson:
            pass
    # 2b. A modern (2026-07-28) request's MCP headers must say what its body says, before anything else is
    # looked at: the assertion binds the body, so what the checked headers claim is covered by it too.
    era = inspect_mcp_request(parsed if is_json else NO_BODY, headers)
    # 3. Identity in _meta, and the token.
    assertions: list[Any] = []
    users: list[Any] = []
    legacy_users: list[Any] = []
    unknown_keys = False
    if is_json:
        for message in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(message, dict):
                continue
            params_meta, result_meta = _meta_of(message.get("params")), _meta_of(message.get("result"))
            for meta, in_params in ((params_meta, True), (result_meta, False)):
                if meta is None:
                    continue
                for key, value in meta.items():
                    if not _is_identity_key(key):
                        continue
                    if in_params and key == META_ASSERTION:
                        assertions.append(value)
                    elif in_params and key == META_USER:
                        users.append(value)
                    elif in_params and key == META_CONTEXTFORGE_USER:
                        legacy_users.append(value)
                    else:
                        unknown_keys = True
    if any(not isinstance(value, str) for value in assertions):
        raise IdentityError("identity_invalid", "the _meta assertion is not a string")
    if len(set(assertions)) > 1:
        raise IdentityError("identity_mismatch", "the messages carry different assertions")
    header_token = identity.get(ASSERTION_SUFFIX)
    meta_token = assertions[0] if assertions else None
    if header_token is not None and meta_token is not None and header_token != meta_token:
        raise IdentityError("identity_mismatch", "the header and _meta carry different assertions")
    token = header_token if header_token is not None else meta_token
    # 4. An assertion is required.
    if token is None:
        raise IdentityError("identity_missing", "the request carries no identity assertion")
    # 5. Parse.
    jws = parse_jws(token)
    claims = jws.payload
    # 6-7. Issuer and audience, before any key lookup.
    if not isinstance(claims.get("iss"), str) or claims["iss"] != config.issuer:
        raise IdentityError("identity_issuer", "the assertion was not issued by the configured gateway")
    if not isinstance(claims.get("aud"), str) or claims["aud"] != config.audience:
        raise IdentityError("identity_audience", "the assertion is not for this upstream")
    # 8. Keys and signature.
    assert config.key_source is not None
    keys = config.key_source.keys_for(jws.alg, jws.kid)
    if not keys:
        raise IdentityError("identity_invalid", "no configured key matches the assertion")
    if not any(verify_signature(jws, key) for key in keys):
        raise IdentityError("identity_invalid", "the assertion signature does not verify")
    # 9. Version.
    if not _is_one(claims.get("v")):
        raise IdentityError("identity_invalid", "the assertion is not of wire-format version 1 (claim v)")
    # 10-13. Time.
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_time(iat) or not _is_time(exp):
        raise IdentityError("identity_invalid", "the assertion lacks iat or exp")
    now = config.clock() / 1000
    tolerance = config.clock_tolerance_seconds
    if iat > now + tolerance:
        raise IdentityError("identity_invalid", "the assertion is issued in the future")
    if exp <= iat or exp - iat > config.max_lifetime_seconds:
        raise IdentityError("identity_invalid", "the assertion lifetime is not acceptable")
    if now >= exp + tolerance:
        raise IdentityError("identity_expired", "the assertion has expired")
    # 14. nbf.
    if "nbf" in claims and (not _is_time(claims["nbf"]) or claims["nbf"] > now + tolerance):
        raise IdentityError("identity_invalid", "the assertion is not valid yet (nbf)")
    # 15. jti.
    jti = claims.get("jti")
    if not isinstance(jti, str) or not _JTI.match(jti):
        raise IdentityError("identity_invalid", "the assertion jti is missing or malformed")
    # 16. The user.
    user = claims_to_user(claims)
    # 17. The req claim.
    req = claims.get("req")
    if not isinstance(req, dict) or not all(isinstance(req.get(k), str) for k in ("method", "path", "body_sha256")):
        raise IdentityError("identity_invalid", "the assertion has no request binding")
    # 18. Binding.
    if config.bind_request:
        if is_json:
            try:
                digest = json_body_digest(parsed)
            except NoCanonicalForm:
                digest = sha256_b64url(decoded)
        else:
            digest = sha256_b64url(decoded)
        if req["method"] != method or req["path"] != target or req["body_sha256"] != digest:
            raise IdentityError("identity_binding", "the assertion is bound to another request")
    # Extension dtk (a delegated token), where the TypeScript receiver checks it: after the binding.
    delegated_token = check_delegated_token(
        claims,
        user,
        authorization_values((_text(name), _text(value)) for name, value in headers),
        config.require_delegated_token,
    )
    # 19. Plain headers.
    expected = user_to_headers(user, prefix)
    for suffix, value in identity.items():
        if suffix in (ASSERTION_SUFFIX, CONTEXTFORGE_SIGNATURE_SUFFIX):
            continue
        if expected.get(f"{prefix}-{suffix}") != value:
            raise IdentityError("identity_mismatch", "a plain identity header disagrees with the assertion")
    # 20-22. Identity in _meta.
    user_text = canonical_json(user)
    for candidate in users:
        if _canonical_or_none(candidate) != user_text:
            raise IdentityError("identity_mismatch", "the _meta user disagrees with the assertion")
    if unknown_keys:
        raise IdentityError("identity_mismatch", "the _meta carries unverified identity")
    if legacy_users:
        legacy_text = canonical_json(contextforge_meta_user(user))
        for candidate in legacy_users:
            if _canonical_or_none(candidate) != legacy_text:
                raise IdentityError("identity_mismatch", "the _meta user disagrees with the assertion")
    # 23. Replay.
    ttl_ms = exp * 1000 + tolerance * 1000 - config.clock()
    assert config.replay_store is not None
    try:
        fresh = config.replay_store.set_if_absent(f"jti:{jti}", max(ttl_ms, 1000))
    except IdentityError:
        raise
    except Exception as error:
        raise IdentityError("store_unavailable", "the replay store is unavailable") from error
    if not fresh:
        raise IdentityError("identity_replayed", "the assertion was already used")
    return VerifiedRequest(
        user=user,
        claims=claims,
        jti=jti,
        issuer=config.issuer,
        expires_at=int(exp),
        token=token,
        in_meta=bool(assertions),
        body=decoded,
        era=era,
        delegated_token=delegated_token,
    )


def user_json(user: dict[str, Any]) -> str:
    """The user object as JSON text (for logs and tests)."""
    return json.dumps(user, ensure_ascii=False, separators=(",", ":"))


_ = math
