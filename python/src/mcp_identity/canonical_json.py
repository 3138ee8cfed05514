"""RFC 8785 (JCS) canonical JSON, as the wire format digests JSON bodies.

Numbers are IEEE 754 binary64 values (integers beyond 2**53 round, as in ECMAScript), written the
way ECMAScript's ``Number::toString`` writes them; object members are sorted by UTF-16 code units.
"""

from __future__ import annotations

import json
import math
from typing import Any


class NoCanonicalForm(ValueError):
    """The value has no canonical form: a lone surrogate, or a number beyond binary64."""


class InvalidJson(ValueError):
    """The text is not JSON (RFC 8259) as ECMAScript's ``JSON.parse`` reads it."""


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not JSON")


def _int_as_double(text: str) -> float:
    try:
        return float(int(text))
    except OverflowError:
        return math.inf


def parse_json_text(text: str) -> Any:
    """Parses JSON text with every number as a binary64 float (as ECMAScript does)."""
    try:
        return json.loads(text, parse_int=_int_as_double, parse_float=float, parse_constant=_reject_constant)
    except InvalidJson:
        raise
    except (ValueError, RecursionError) as error:
        raise InvalidJson(str(error)) from None


def number_to_string(value: float) -> str:
    """ECMAScript ``Number::toString`` of a finite binary64 value (shortest round-trip digits)."""
    if math.isnan(value) or math.isinf(value):
        raise NoCanonicalForm("a number is not finite")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(float(value)))
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    integer, _, fraction = mantissa.partition(".")
    digits = integer + fraction
    point = len(integer) + exponent
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp = ("+" if e >= 0 else "-") + str(abs(e))
        out = (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + exp
    return sign + out


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NoCanonicalForm("a string holds a lone surrogate") from None
    out = ['"']
    for char in value:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a parsed JSON value. Raises :class:`NoCanonicalForm`."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return number_to_string(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(entry) for entry in value) + "]"
    if isinstance(value, dict):
        members = []
        for key in sorted(value, key=_utf16_key):
            members.append(_string(key) + ":" + canonical_json(value[key]))
        return "{" + ",".join(members) + "}"
    raise NoCanonicalForm(f"a {type(value).__name__} has no JSON form")
