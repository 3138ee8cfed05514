"""RedisStore against a real redis-server: the keys of the TypeScript RedisStore, replay across receivers."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from helpers import AUDIENCE, ISSUER, SECRET, sign

from mcp_identity import IdentityError, ReceiverConfig, RedisStore, hs256_secret, verify_request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def client() -> Iterator[redis.Redis]:
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is required (the CI installs it)"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    connection = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            connection.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield connection
    connection.close()
    process.terminate()
    process.wait(timeout=10)


BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()


def config(store: RedisStore) -> ReceiverConfig:
    return ReceiverConfig(issuer=ISSUER, audience=AUDIENCE, secrets=[hs256_secret(SECRET)], replay_store=store)


def test_records_the_jti_under_the_typescript_key_and_refuses_a_replay_at_another_receiver(client: redis.Redis) -> None:
    token = sign(BODY)
    jti = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "==="))["jti"]
    headers = [(b"content-type", b"application/json"), (b"x-forwarded-user-assertion", token.encode())]
    verify_request("POST", "/mcp", headers, BODY, config(RedisStore(client)))
    # The TypeScript RedisStore: SET <prefix>jti:<jti> "" PX <ms> NX, default prefix "mcp-identity:".
    assert client.get(f"mcp-identity:jti:{jti}") == b""
    assert 1000 <= client.pttl(f"mcp-identity:jti:{jti}") <= 66_000
    with pytest.raises(IdentityError) as raised:
        verify_request("POST", "/mcp", headers, BODY, config(RedisStore(client)))
    assert raised.value.code == "identity_replayed"


def test_answers_503_store_unavailable_when_redis_is_down() -> None:
    down = redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=0.5, socket_connect_timeout=0.5)
    headers = [(b"content-type", b"application/json"), (b"x-forwarded-user-assertion", sign(BODY).encode())]
    with pytest.raises(IdentityError) as raised:
        verify_request("POST", "/mcp", headers, BODY, config(RedisStore(down)))
    assert (raised.value.code, raised.value.status) == ("store_unavailable", 503)
