"""Loads the shared vectors (spec/vectors) and runs them through this package."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from mcp_identity import IdentityError, MemoryStore, ReceiverConfig, verify_request
from mcp_identity.binding import decode_body, request_body_digest
from mcp_identity.canonical_json import InvalidJson, NoCanonicalForm, canonical_json, parse_json_text
from mcp_identity.keys import hs256_secret, public_key

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def canonical_outcome(case: dict[str, Any]) -> dict[str, Any]:
    try:
        value = parse_json_text(case["input"])
    except InvalidJson:
        return {"error": "invalid_json"}
    try:
        text = canonical_json(value)
    except NoCanonicalForm:
        return {"error": "no_canonical_form"}
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode("utf-8")).digest()).rstrip(b"=").decode()
    return {"canonical": text, "sha256": digest}


def canonical_expected(case: dict[str, Any]) -> dict[str, Any]:
    return {"error": case["error"]} if "error" in case else {"canonical": case["canonical"], "sha256": case["sha256"]}


def binding_outcome(case: dict[str, Any]) -> dict[str, Any]:
    try:
        body = decode_body(base64.b64decode(case["body_base64"]), case["content_encoding"], 1024 * 1024)
    except IdentityError as error:
        return {"refusal": {"status": error.status, "code": error.code}}
    digest = request_body_digest(case["content_type"], body)
    return {"req": {"method": case["method"], "path": case["target"], "body_sha256": digest}}


def binding_expected(case: dict[str, Any]) -> dict[str, Any]:
    return {"refusal": case["refusal"]} if "refusal" in case else {"req": case["req"]}


def request_config(vectors: dict[str, Any], seen: list[str], options: dict[str, Any] | None = None) -> ReceiverConfig:
    config, keys = vectors["config"], vectors["keys"]
    clock = lambda: float(config["clock_ms"])  # noqa: E731
    store = MemoryStore(clock=clock)
    for jti in seen:
        store.set_if_absent(f"jti:{jti}", 60_000)
    document = json.dumps(keys["jwks"]).encode("utf-8")
    return ReceiverConfig(
        issuer=config["issuer"],
        audience=config["audience"],
        secrets=[hs256_secret(s["secret"], s.get("kid")) for s in keys["secrets"]],
        public_keys=[public_key(k["alg"], k["jwk"], k.get("kid")) for k in keys["public_keys"]],
        jwks_url="https://gateway.test/.well-known/mcp-identity/jwks.json",
        jwks_options={"fetch": lambda _url, _timeout: document},
        replay_store=store,
        clock_tolerance_seconds=config["clock_tolerance_seconds"],
        max_lifetime_seconds=config["max_lifetime_seconds"],
        header_prefix=config["header_prefix"],
        body_limit=config["body_limit"],
        clock=clock,
        # The case's receiver options (spec "Extensions"), under the names of ReceiverConfig.
        **(options or {}),
    )


def request_outcome(vectors: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    config = request_config(vectors, case.get("seen_jtis", []), case.get("options"))
    # Header lines travel as UTF-8 bytes on the wire; a server hands them over as bytes.
    headers = [(name.encode("utf-8"), value.encode("utf-8")) for name, value in case["headers"]]
    try:
        verified = verify_request(
            case["method"], case["target"], headers, base64.b64decode(case["body_base64"]), config
        )
    except IdentityError as error:
        return {"status": error.status, "code": error.code}
    return {"status": 200, "user": verified.user}


def request_expected(case: dict[str, Any]) -> dict[str, Any]:
    expect = case["expect"]
    return {"status": 200, "user": expect["user"]} if "user" in expect else expect
