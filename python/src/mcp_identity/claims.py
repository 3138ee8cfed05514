"""The claim model: claims -> the user object (the receiver's view of a ``UserContext``)."""

from __future__ import annotations

import re
from typing import Any

from .errors import IdentityError

MAX_STRING_LENGTH = 1024
MAX_LIST_LENGTH = 256
MAX_ATTRIBUTES = 64
MAX_ATTRIBUTE_NAME_LENGTH = 128
MAX_DELEGATION_DEPTH = 16
_AUTH_METHOD = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")
# RFC 6749 section 3.3 scope-token: printable ASCII except space, '"' and '\\'.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")


def _invalid(message: str) -> IdentityError:
    return IdentityError("identity_invalid", f"the assertion does not describe a valid user: {message}")


def utf16_length(value: str) -> int:
    """Length in UTF-16 code units, the unit of every limit of the wire format."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _well_formed(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{field} must be a string")
    if value == "":
        raise _invalid(f"{field} must not be empty")
    if utf16_length(value) > MAX_STRING_LENGTH or not _well_formed(value):
        raise _invalid(f"{field} is too long or not well-formed")
    return value


def _optional_string(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    return _string(value, field)


def _optional_list(value: Any, field: str, limit: int = MAX_LIST_LENGTH) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _invalid(f"{field} must be an array of strings")
    if len(value) > limit:
        raise _invalid(f"{field} has more than {limit} entries")
    return [_string(entry, f"{field}[{index}]") for index, entry in enumerate(value)]


def _attributes(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("attrs must be an object of strings")
    if not value:
        return None
    if len(value) > MAX_ATTRIBUTES:
        raise _invalid("attrs has too many entries")
    out: dict[str, str] = {}
    for key, entry in value.items():
        if key == "" or utf16_length(key) > MAX_ATTRIBUTE_NAME_LENGTH or not _well_formed(key):
            raise _invalid("attribute names must be 1-128 characters")
        if not isinstance(entry, str) or utf16_length(entry) > MAX_STRING_LENGTH or not _well_formed(entry):
            raise _invalid("attribute values must be strings of at most 1024 characters")
        out[key] = entry
    return out


_NO_ACT = object()


def actor_to_chain(act: Any) -> list[str] | None:
    """Flattens an RFC 8693 ``act`` claim, earliest actor first; ``None`` when malformed or too deep.

    Only a missing ``act`` member ends the chain: ``"act": null`` is malformed, as in TypeScript.
    """
    chain: list[str] = []
    current = act
    while current is not _NO_ACT:
        if (
            not isinstance(current, dict)
            or not isinstance(current.get("sub"), str)
            or len(chain) >= MAX_DELEGATION_DEPTH
        ):
            return None
        chain.append(current["sub"])
        current = current.get("act", _NO_ACT)
    chain.reverse()
    return chain


def claims_to_user(claims: dict[str, Any]) -> dict[str, Any]:
    """Reads the user object from verified claims. Raises ``identity_invalid``."""
    chain = None
    if "act" in claims:
        chain = actor_to_chain(claims["act"])
        if chain is None:
            raise _invalid("the act claim is malformed")
    admin = claims.get("admin")
    if "admin" in claims and not isinstance(admin, bool):
        raise _invalid("admin is not a boolean")
    auth_method = claims.get("auth_method")
    if not isinstance(auth_method, str):
        raise _invalid("no auth_method claim")
    # Present means present: a null scope is refused, as any scope that is not a string.
    if "scope" in claims and not isinstance(claims["scope"], str):
        raise _invalid("the scope claim is not a string")
    user_id = _string(claims.get("sub"), "id")
    auth_method = _string(auth_method, "authMethod")
    if not _AUTH_METHOD.match(auth_method):
        raise _invalid("authMethod must be 1-64 characters of A-Z a-z 0-9 _ . : -")
    delegation = _optional_list(chain, "delegationChain", MAX_DELEGATION_DEPTH)
    email = _optional_string(claims.get("email"), "email")
    name = _optional_string(claims.get("name"), "name")
    issuer = _optional_string(claims.get("idp"), "issuer")
    attributes = _attributes(claims.get("attrs"))
    # Space-separated (RFC 8693): empty entries (runs of spaces) are dropped; "" is a token without scopes.
    scopes = (
        _optional_list([scope for scope in claims["scope"].split(" ") if scope], "scopes")
        if "scope" in claims
        else None
    )
    if scopes is not None and not all(_SCOPE_TOKEN.match(scope) for scope in scopes):
        raise _invalid("scopes must be RFC 6749 scope tokens (no spaces or quotes)")
    client_id = _optional_string(claims.get("client_id"), "clientId")
    resource = _optional_string(claims.get("resource"), "resource")
    user: dict[str, Any] = {"id": user_id}
    if email is not None:
        user["email"] = email
    if name is not None:
        user["name"] = name
    user["groups"] = _optional_list(claims.get("groups"), "groups") or []
    user["teams"] = _optional_list(claims.get("teams"), "teams") or []
    user["roles"] = _optional_list(claims.get("roles"), "roles") or []
    user["isAdmin"] = admin is True
    user["authMethod"] = auth_method
    if delegation:
        user["serviceAccount"] = delegation[-1]
        user["delegationChain"] = delegation
    if issuer is not None:
        user["issuer"] = issuer
    if attributes is not None:
        user["attributes"] = attributes
    if scopes is not None:
        user["scopes"] = scopes
    if client_id is not None:
        user["clientId"] = client_id
    if resource is not None:
        user["resource"] = resource
    return user


def contextforge_meta_user(user: dict[str, Any]) -> dict[str, Any]:
    """The ContextForge ``_meta.user`` projection of a user object."""
    out: dict[str, Any] = {"id": user["id"]}
    if "email" in user:
        out["email"] = user["email"]
    if "name" in user:
        out["full_name"] = user["name"]
    for field in ("groups", "teams", "roles"):
        if user[field]:
            out[field] = list(user[field])
    out["is_admin"] = user["isAdmin"]
    out["auth_method"] = user["authMethod"]
    if "serviceAccount" in user:
        out["service_account"] = user["serviceAccount"]
    if user.get("delegationChain"):
        out["delegation_chain"] = list(user["delegationChain"])
    return out
