"""Key sources: HS256 secrets, EdDSA/ES256 public keys, and a pinned JWKS URL."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .errors import IdentityError
from .jws import Key, b64url_decode, b64url_encode, is_valid_kid

_PLACEHOLDERS = (
    "changeme",
    "changethis",
    "replaceme",
    "placeholder",
    "yoursecret",
    "secrethere",
    "insertsecret",
    "example",
)
MAX_JWKS_BYTES = 512 * 1024


class KeySource(Protocol):
    """Resolves the candidate keys for a token's ``alg`` and ``kid``; nothing in a token is fetched or trusted."""

    def keys_for(self, alg: str, kid: str | None) -> Sequence[Key]: ...


def secret_bytes(secret: str | bytes) -> bytes:
    """An HS256 secret: a string is keyed as its UTF-8 bytes. At least 32 bytes, not a placeholder."""
    data = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if len(data) < 32:
        raise ValueError(f"secret is too short: HS256 needs at least 32 bytes (got {len(data)})")
    if len(set(data)) < 8:
        raise ValueError("secret looks like a placeholder: it uses fewer than 8 distinct characters")
    letters = "".join(ch for ch in data.decode("latin-1").lower() if ch.isascii() and ch.isalnum())
    if any(word in letters for word in _PLACEHOLDERS):
        raise ValueError("secret looks like a placeholder value")
    return data


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an OKP or EC public JWK."""
    if jwk["kty"] == "EC":
        members = {"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}
    else:
        members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def _public_from_jwk(alg: str, jwk: dict[str, Any]) -> Any:
    if alg == "EdDSA":
        raw = b64url_decode(jwk["x"])
        if len(raw) != 32:
            raise ValueError("an Ed25519 key has 32 bytes")
        return Ed25519PublicKey.from_public_bytes(raw)
    x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
    if len(x) != 32 or len(y) != 32:
        raise ValueError("a P-256 coordinate has 32 bytes")
    return ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    ).public_key()


def import_jwk(jwk: Any) -> Key | None:
    """A JWKS entry as a key, or ``None`` when it must be ignored (private, ``use`` not ``sig``, other curves)."""
    if not isinstance(jwk, dict) or "d" in jwk or "k" in jwk:
        return None
    if "use" in jwk and jwk["use"] != "sig":
        return None
    kty, crv = jwk.get("kty"), jwk.get("crv")
    alg = "EdDSA" if (kty, crv) == ("OKP", "Ed25519") else "ES256" if (kty, crv) == ("EC", "P-256") else None
    if alg is None or ("alg" in jwk and jwk["alg"] != alg):
        return None
    if not isinstance(jwk.get("x"), str) or (alg == "ES256" and not isinstance(jwk.get("y"), str)):
        return None
    try:
        key = _public_from_jwk(alg, jwk)
    except (ValueError, TypeError):
        return None
    kid = jwk.get("kid")
    return Key(alg, kid if isinstance(kid, str) and is_valid_kid(kid) else jwk_thumbprint(jwk), key)


def hs256_secret(secret: str | bytes, kid: str | None = None) -> Key:
    """An HS256 verification secret (a string keys as its UTF-8 bytes)."""
    if kid is not None and not is_valid_kid(kid):
        raise ValueError("kid must be 1-128 characters of A-Z a-z 0-9 _ - . : (no '..')")
    return Key("HS256", kid, secret_bytes(secret))


def public_key(alg: str, key: dict[str, Any] | str | bytes, kid: str | None = None) -> Key:
    """An EdDSA (Ed25519) or ES256 (P-256) public key, from a JWK dict or PEM; ``kid`` defaults to the thumbprint."""
    if alg not in ("EdDSA", "ES256"):
        raise ValueError('alg must be "EdDSA" or "ES256"')
    if isinstance(key, dict):
        imported = import_jwk({k: v for k, v in key.items() if k not in ("kid", "use", "alg")})
        if imported is None or imported.alg != alg:
            raise ValueError(f"publicKey is not a valid {alg} public JWK")
        public = imported.key
    else:
        public = load_pem_public_key(key.encode("ascii") if isinstance(key, str) else key)
        expected = Ed25519PublicKey if alg == "EdDSA" else ec.EllipticCurvePublicKey
        if not isinstance(public, expected) or (alg == "ES256" and public.curve.name != "secp256r1"):
            raise ValueError(f"publicKey is not a {alg} key")
    if kid is None:
        kid = import_jwk(_jwk_of(alg, public)).kid  # type: ignore[union-attr]
    elif not is_valid_kid(kid):
        raise ValueError("kid is malformed")
    return Key(alg, kid, public)


def _jwk_of(alg: str, public: Any) -> dict[str, Any]:
    if alg == "EdDSA":
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }


class StaticKeySource:
    """Fixed keys. A token with a ``kid`` gets the keys with that ``kid`` (else the keys configured without
    one); a token without ``kid`` gets every key of its algorithm."""

    def __init__(self, keys: Sequence[Key]) -> None:
        self._keys = tuple(keys)

    def keys_for(self, alg: str, kid: str | None) -> Sequence[Key]:
        of_alg = [key for key in self._keys if key.alg == alg]
        if kid is None:
            return of_alg
        by_id = [key for key in of_alg if key.kid == kid]
        return by_id or [key for key in of_alg if key.kid is None]


Fetch = Callable[[str, float], bytes]


def _urllib_fetch(url: str, timeout: float) -> bytes:
    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # the URL is pinned: a redirect is a failure

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"accept": "application/json"})  # noqa: S310 (http(s) checked)
    with opener.open(request, timeout=timeout) as response:
        data = response.read(MAX_JWKS_BYTES + 1)
    if len(data) > MAX_JWKS_BYTES:
        raise ValueError("the JWKS is too large")
    return bytes(data)


class RemoteKeySet:
    """Keys from the gateway's JWKS URL, pinned in configuration.

    Fetched on first use with ``timeout_s`` and cached; an unknown ``kid`` re-fetches at most once per
    ``cooldown_s``; after ``max_age_s`` the set is refreshed (a failed refresh keeps the cached keys and waits a
    cool-down). Only a receiver that never got a set answers ``keys_unavailable``. HS256 tokens never fetch.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        cooldown_s: float = 30.0,
        max_age_s: float = 300.0,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        if not (url.startswith("https://") or url.startswith("http://")):
            raise ValueError("jwks_url must be an absolute http(s) URL")
        if timeout_s <= 0 or cooldown_s <= 0 or max_age_s <= 0:
            raise ValueError("timeout_s, cooldown_s and max_age_s must be positive")
        self._url, self._timeout, self._cooldown, self._max_age = url, timeout_s, cooldown_s, max_age_s
        self._fetch = fetch or _urllib_fetch
        self._clock = clock
        self._on_error = on_error
        self._keys: tuple[Key, ...] | None = None
        self._fetched_at = self._attempted_at = self._failed_at = -float("inf")
        self._lock = threading.Lock()

    @property
    def kids(self) -> list[str]:
        return [key.kid for key in self._keys or () if key.kid is not None]

    def refresh(self) -> None:
        with self._lock:
            self._attempted_at = self._clock()
            try:
                document = json.loads(self._fetch(self._url, self._timeout).decode("utf-8"))
                entries = document.get("keys") if isinstance(document, dict) else None
                if not isinstance(entries, list):
                    raise ValueError("the JWKS has no keys array")
                self._keys = tuple(key for key in map(import_jwk, entries) if key is not None)
                self._fetched_at = self._clock()
            except Exception as error:  # any failure keeps the cached keys
                self._failed_at = self._clock()
                if self._on_error is not None:
                    self._on_error(error)

    def _select(self, alg: str, kid: str | None) -> list[Key]:
        return [key for key in self._keys or () if key.alg == alg and (kid is None or key.kid == kid)]

    def keys_for(self, alg: str, kid: str | None) -> Sequence[Key]:
        if alg not in ("EdDSA", "ES256"):
            return []
        now = self._clock()
        if self._keys is None:
            self.refresh()
            if self._keys is None:
                raise IdentityError("keys_unavailable", "the gateway keys could not be fetched")
        elif now - self._fetched_at >= self._max_age and now - self._failed_at >= self._cooldown:
            self.refresh()
        found = self._select(alg, kid)
        if found or kid is None or self._clock() - self._attempted_at < self._cooldown:
            return found
        self.refresh()
        return self._select(alg, kid)


class FirstKeySource:
    """Tries each source in turn; the first non-empty answer wins."""

    def __init__(self, sources: Sequence[KeySource]) -> None:
        self._sources = tuple(sources)

    def keys_for(self, alg: str, kid: str | None) -> Sequence[Key]:
        for source in self._sources:
            keys = source.keys_for(alg, kid)
            if keys:
                return keys
        return []
