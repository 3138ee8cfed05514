"""mcp-identity for Python MCP servers: verify the gateway's signed user assertion (wire format v1).

Framework-free :func:`verify_request`, an ASGI middleware (:class:`IdentityMiddleware`), and
:func:`get_user` for tools of the official MCP SDK.
"""

from .asgi import IdentityMiddleware, current_user, get_delegated_token, get_user
from .binding import request_body_digest
from .canonical_json import canonical_json
from .claims import claims_to_user
from .errors import IdentityError
from .header_codec import decode_header_list, decode_header_value, encode_header_list, encode_header_value
from .keys import FirstKeySource, RemoteKeySet, StaticKeySource, hs256_secret, public_key
from .stores import MemoryStore, RedisStore, ReplayStore
from .verify import WIRE_FORMAT_VERSION, ReceiverConfig, VerifiedRequest, verify_request

__all__ = [
    "WIRE_FORMAT_VERSION",
    "FirstKeySource",
    "IdentityError",
    "IdentityMiddleware",
    "MemoryStore",
    "ReceiverConfig",
    "RedisStore",
    "RemoteKeySet",
    "ReplayStore",
    "StaticKeySource",
    "VerifiedRequest",
    "canonical_json",
    "claims_to_user",
    "current_user",
    "decode_header_list",
    "decode_header_value",
    "encode_header_list",
    "encode_header_value",
    "get_delegated_token",
    "get_user",
    "hs256_secret",
    "public_key",
    "request_body_digest",
    "verify_request",
]
