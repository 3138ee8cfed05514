"""Every shared vector (spec/vectors/*.json), and vectors changed by one byte failing."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from vectors import (
    binding_expected,
    binding_outcome,
    canonical_expected,
    canonical_outcome,
    load,
    request_expected,
    request_outcome,
)

from mcp_identity import IdentityError, claims_to_user
from mcp_identity.claims import contextforge_meta_user
from mcp_identity.header_codec import decode_header_list, decode_header_value, encode_header_list, encode_header_value

CANONICAL = load("canonical-json.json")["cases"]
BINDING = load("binding.json")["cases"]
CODEC = load("header-codec.json")
CLAIMS = load("claims.json")
REQUESTS = load("requests.json")
DECISIONS = load("decisions.json")["decisions"]


def names(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


@pytest.mark.parametrize("case", CANONICAL, ids=names(CANONICAL))
def test_canonical_json(case: dict[str, Any]) -> None:
    assert canonical_outcome(case) == canonical_expected(case)


@pytest.mark.parametrize("case", BINDING, ids=names(BINDING))
def test_binding(case: dict[str, Any]) -> None:
    assert binding_outcome(case) == binding_expected(case)


@pytest.mark.parametrize("case", CODEC["values"], ids=[c["encoded"] for c in CODEC["values"]])
def test_header_codec_values(case: dict[str, str]) -> None:
    assert encode_header_value(case["value"]) == case["encoded"]
    assert decode_header_value(case["encoded"]) == case["value"]


@pytest.mark.parametrize("encoded", CODEC["refused"])
def test_header_codec_refused(encoded: str) -> None:
    assert decode_header_value(encoded) is None


@pytest.mark.parametrize("case", CODEC["lists"], ids=[c["encoded"] for c in CODEC["lists"]])
def test_header_codec_lists(case: dict[str, Any]) -> None:
    assert encode_header_list(case["values"]) == case["encoded"]
    assert decode_header_list(case["encoded"]) == case["values"]


@pytest.mark.parametrize("encoded", CODEC["refused_lists"])
def test_header_codec_refused_lists(encoded: str) -> None:
    assert decode_header_list(encoded) is None


@pytest.mark.parametrize("case", CLAIMS["users"], ids=names(CLAIMS["users"]))
def test_claims_round_trip(case: dict[str, Any]) -> None:
    assert claims_to_user(case["claims"]) == case["user"]
    assert contextforge_meta_user(case["user"]) == case["contextforge_meta_user"]


@pytest.mark.parametrize("case", CLAIMS["from_claims"], ids=names(CLAIMS["from_claims"]))
def test_claims_read(case: dict[str, Any]) -> None:
    assert claims_to_user(case["claims"]) == case["user"]


@pytest.mark.parametrize("case", CLAIMS["refused"], ids=names(CLAIMS["refused"]))
def test_claims_refused(case: dict[str, Any]) -> None:
    with pytest.raises(IdentityError) as raised:
        claims_to_user(case["claims"])
    assert raised.value.code == "identity_invalid"


@pytest.mark.parametrize("case", REQUESTS["cases"], ids=names(REQUESTS["cases"]))
def test_request(case: dict[str, Any]) -> None:
    assert request_outcome(REQUESTS, case) == request_expected(case)


def test_requests_cover_every_decision() -> None:
    decided = {d for case in REQUESTS["cases"] for d in case["decides"]}
    assert decided == {str(n) for n in range(1, 18)}


@pytest.mark.parametrize("number", list(DECISIONS), ids=[f"decision {n}: {t}" for n, t in DECISIONS.items()])
def test_spec_decision(number: str) -> None:
    cases = [case for case in REQUESTS["cases"] if number in case["decides"]]
    assert cases
    for case in cases:
        assert (case["name"], request_outcome(REQUESTS, case)) == (case["name"], request_expected(case))


def flip(text: str, at: int) -> str:
    return text[:at] + chr(ord(text[at]) ^ 1) + text[at + 1 :]


def test_a_canonical_vector_changed_by_one_byte_fails() -> None:
    case = next(c for c in CANONICAL if c["name"] == "a JSON-RPC request")
    mutated = {**case, "canonical": flip(case["canonical"], 20)}
    assert canonical_outcome(mutated) == canonical_expected(case)
    assert canonical_outcome(mutated) != canonical_expected(mutated)


def test_a_binding_vector_changed_by_one_byte_fails() -> None:
    case = next(c for c in BINDING if c["name"] == "JSON body")
    body = bytearray(base64.b64decode(case["body_base64"]))
    body[body.index(b"echo")] ^= 1
    mutated = {**case, "body_base64": base64.b64encode(bytes(body)).decode()}
    assert binding_outcome(mutated) != binding_expected(case)


def test_an_accepted_request_vector_whose_body_changed_by_one_byte_fails() -> None:
    case = REQUESTS["cases"][0]
    assert "user" in case["expect"]
    body = bytearray(base64.b64decode(case["body_base64"]))
    body[body.index(b"read_file")] ^= 1
    mutated = {**case, "body_base64": base64.b64encode(bytes(body)).decode()}
    assert request_outcome(REQUESTS, mutated) == {"status": 401, "code": "identity_binding"}


def test_an_accepted_request_vector_whose_token_changed_by_one_byte_fails() -> None:
    case = copy.deepcopy(REQUESTS["cases"][0])
    for header in case["headers"]:
        if header[0] == "X-Forwarded-User-Assertion":
            header[1] = flip(header[1], len(header[1]) - 10)
    assert request_outcome(REQUESTS, case) == {"status": 401, "code": "identity_invalid"}
