"""The header codec: UTF-8, then every byte outside 0x21-0x7E, and ``%`` and ``,``, as ``%XX`` (upper-case hex).

Lists are the encoded elements joined with a bare ``,``. The decoder refuses every spelling the encoder
could not have produced, so comparing encodings is comparing values.
"""

from __future__ import annotations

_HEX = "0123456789ABCDEF"


def _plain(byte: int) -> bool:
    return 0x21 <= byte <= 0x7E and byte not in (0x25, 0x2C)


def encode_header_value(value: str) -> str:
    out = []
    for byte in value.encode("utf-8"):
        out.append(chr(byte) if _plain(byte) else f"%{_HEX[byte >> 4]}{_HEX[byte & 15]}")
    return "".join(out)


def decode_header_value(encoded: str) -> str | None:
    """The value, or ``None`` for a spelling the encoder never produces."""
    if encoded == "":
        return None
    data = bytearray()
    i = 0
    while i < len(encoded):
        code = ord(encoded[i])
        if code == 0x25:
            if i + 2 >= len(encoded):
                return None
            hi, lo = _HEX.find(encoded[i + 1]), _HEX.find(encoded[i + 2])
            if hi < 0 or lo < 0:
                return None
            byte = hi * 16 + lo
            if _plain(byte):
                return None
            data.append(byte)
            i += 3
        elif _plain(code):
            data.append(code)
            i += 1
        else:
            return None
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return None


def encode_header_list(values: list[str]) -> str:
    return ",".join(encode_header_value(value) for value in values)


def decode_header_list(encoded: str) -> list[str] | None:
    out = []
    for part in encoded.split(","):
        value = decode_header_value(part)
        if value is None:
            return None
        out.append(value)
    return out


#: Suffixes of the plain convenience headers.
IDENTITY_HEADER_SUFFIXES = (
    "id",
    "email",
    "full-name",
    "groups",
    "teams",
    "roles",
    "admin",
    "auth-method",
    "service-account",
    "delegation-chain",
    "scopes",
    "client-id",
    "resource",
)
ASSERTION_SUFFIX = "assertion"
CONTEXTFORGE_SIGNATURE_SUFFIX = "claims-signature"


def user_to_headers(user: dict, prefix: str) -> dict[str, str]:
    """The plain header values for a user object, keyed by lower-case name ``<prefix>-<suffix>``."""
    h: dict[str, str] = {f"{prefix}-id": encode_header_value(user["id"])}
    if "email" in user:
        h[f"{prefix}-email"] = encode_header_value(user["email"])
    if "name" in user:
        h[f"{prefix}-full-name"] = encode_header_value(user["name"])
    for field in ("groups", "teams", "roles"):
        if user[field]:
            h[f"{prefix}-{field}"] = encode_header_list(user[field])
    h[f"{prefix}-admin"] = "true" if user["isAdmin"] else "false"
    h[f"{prefix}-auth-method"] = encode_header_value(user["authMethod"])
    if "serviceAccount" in user:
        h[f"{prefix}-service-account"] = encode_header_value(user["serviceAccount"])
    if user.get("delegationChain"):
        h[f"{prefix}-delegation-chain"] = encode_header_list(user["delegationChain"])
    # An empty scope list has no header: a -scopes header then disagrees with the user.
    if user.get("scopes"):
        h[f"{prefix}-scopes"] = encode_header_list(user["scopes"])
    if "clientId" in user:
        h[f"{prefix}-client-id"] = encode_header_value(user["clientId"])
    if "resource" in user:
        h[f"{prefix}-resource"] = encode_header_value(user["resource"])
    return h
