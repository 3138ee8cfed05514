"""An official-Python-SDK MCP server behind the mcp-identity receiver.

Configuration from the environment: MCP_IDENTITY_ISSUER, MCP_IDENTITY_AUDIENCE, and the gateway key
(MCP_IDENTITY_SECRET for HS256, or MCP_IDENTITY_PUBLIC_KEY_PEM with MCP_IDENTITY_ALG EdDSA/ES256, or
MCP_IDENTITY_JWKS_URL). Listens on 127.0.0.1, port PORT (0: any free port), and prints one JSON line
{"port": N} once it accepts connections. MCP_PATH (default /mcp) is the MCP endpoint's path.
"""

from __future__ import annotations

import json
import os
import socket
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

from mcp_identity import ReceiverConfig, get_user, hs256_secret, public_key
from mcp_identity.mcp_sdk import protect

server = MCPServer("python-notes")
calls = {"whoami": 0}


@server.tool()
async def whoami(note: str, ctx: Context) -> dict:
    """Returns the verified caller and the note, as received."""
    calls["whoami"] += 1
    return {"user": get_user(ctx), "note": note, "calls": calls["whoami"]}


def config() -> ReceiverConfig:
    env = os.environ
    secrets = [hs256_secret(env["MCP_IDENTITY_SECRET"])] if "MCP_IDENTITY_SECRET" in env else []
    keys = []
    if "MCP_IDENTITY_PUBLIC_KEY_PEM" in env:
        keys.append(public_key(env.get("MCP_IDENTITY_ALG", "EdDSA"), env["MCP_IDENTITY_PUBLIC_KEY_PEM"]))
    return ReceiverConfig(
        issuer=env["MCP_IDENTITY_ISSUER"],
        audience=env["MCP_IDENTITY_AUDIENCE"],
        secrets=secrets,
        public_keys=keys,
        jwks_url=env.get("MCP_IDENTITY_JWKS_URL"),
    )


class _Announcing(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if sockets:
            print(json.dumps({"port": sockets[0].getsockname()[1]}), flush=True)


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", int(os.environ.get("PORT", "0"))))
    app = protect(server, config(), streamable_http_path=os.environ.get("MCP_PATH", "/mcp"))
    _Announcing(uvicorn.Config(app, log_level=os.environ.get("LOG_LEVEL", "warning"))).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
