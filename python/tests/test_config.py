"""Configuration mistakes fail at construction, naming the option."""

from __future__ import annotations

import pytest

from mcp_identity import ReceiverConfig, hs256_secret, public_key
from mcp_identity.keys import RemoteKeySet


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"issuer": "", "audience": "a", "secrets": [hs256_secret("x" * 8 + "0123456789abcdefghijklmnopqrstuv")]},
            "issuer",
        ),
        (
            {"issuer": "i", "audience": " ", "secrets": [hs256_secret("x" * 8 + "0123456789abcdefghijklmnopqrstuv")]},
            "audience",
        ),
        ({"issuer": "i", "audience": "a"}, "needs keys"),
        (
            {
                "issuer": "i",
                "audience": "a",
                "secrets": [hs256_secret("0123456789abcdefghijklmnopqrstuvwx")],
                "body_limit": 0,
            },
            "body_limit",
        ),
    ],
)
def test_refuses_a_bad_configuration(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReceiverConfig(**kwargs)


@pytest.mark.parametrize(
    ("secret", "message"),
    [("short", "too short"), ("a" * 40, "placeholder"), ("changeme-0123456789-abcdefghijklmnop", "placeholder")],
)
def test_refuses_weak_secrets(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hs256_secret(secret)


def test_keys_an_hs256_string_secret_as_its_utf8_bytes() -> None:
    assert hs256_secret("ünïcødé secret with enough bytes 0123").key == "ünïcødé secret with enough bytes 0123".encode()


def test_refuses_a_public_key_of_another_algorithm() -> None:
    with pytest.raises(ValueError, match="EdDSA"):
        public_key("EdDSA", {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})


def test_refuses_a_jwks_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="jwks_url"):
        RemoteKeySet("file:///etc/passwd")


def test_a_remote_key_set_answers_keys_unavailable_when_never_fetched_and_refetches_after_the_cooldown() -> None:
    from mcp_identity import IdentityError

    now = [0.0]
    attempts: list[str] = []

    def failing(url: str, timeout: float) -> bytes:
        attempts.append(url)
        raise OSError("down")

    keys = RemoteKeySet("https://gw.test/jwks", fetch=failing, clock=lambda: now[0], cooldown_s=30)
    with pytest.raises(IdentityError) as raised:
        keys.keys_for("EdDSA", "k1")
    assert raised.value.code == "keys_unavailable"
    assert keys.keys_for("HS256", None) == []
    assert len(attempts) == 1
