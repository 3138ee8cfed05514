"""Adapter for the official Python MCP SDK (``mcp``): serve an ``MCPServer`` behind the receiver.

Tools read the verified user with :func:`mcp_identity.get_user` (``get_user(ctx)``).
"""

from __future__ import annotations

from typing import Any

from .asgi import IdentityMiddleware
from .verify import ReceiverConfig


def protect(server: Any, config: ReceiverConfig, **app_options: Any) -> IdentityMiddleware:
    """The server's Streamable HTTP ASGI app (``server.streamable_http_app(**app_options)``) behind
    :class:`IdentityMiddleware`: every request is verified before the SDK sees it."""
    return IdentityMiddleware(server.streamable_http_app(**app_options), config)
