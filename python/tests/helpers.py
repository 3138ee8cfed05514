"""Signing like the gateway does, and a real HTTP server (uvicorn on 127.0.0.1, a free port) for tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import uvicorn

from mcp_identity.binding import request_body_digest

ISSUER = "https://gateway.test"
AUDIENCE = "urn:mcp:files"
SECRET = "python tests: ünïcødé HS256 secret 0123456789 ABCDEF"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_counter = 0


def sign(
    body: bytes,
    *,
    method: str = "POST",
    path: str = "/mcp",
    user: dict[str, Any] | None = None,
    now: float | None = None,
    content_type: str = "application/json",
) -> str:
    """An HS256 assertion bound to this request, as the gateway signs it."""
    global _counter
    _counter += 1
    iat = int(now if now is not None else time.time())
    claims = {
        "v": 1,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + 60,
        "jti": f"python-test-jti-{_counter:08d}-{int(time.time() * 1000)}",
        **(user or {"sub": "José Núñez", "auth_method": "jwt", "groups": ["équipe,ops"]}),
        "req": {"method": method, "path": path, "body_sha256": request_body_digest(content_type, body)},
    }
    header = b64url(json.dumps({"alg": "HS256", "typ": "user-context+jwt"}).encode())
    payload = b64url(json.dumps(claims, ensure_ascii=False).encode("utf-8"))
    mac = hmac.new(SECRET.encode("utf-8"), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(mac)}"


class Served:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def post(self, body: bytes, headers: dict[str, str], path: str = "/mcp") -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
