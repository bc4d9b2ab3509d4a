"""Limits on JSON that arrives from outside: nesting depth, NUL characters, and an object at the top.

Python's json parser recurses once per nesting level, so a body of a few thousand `[` raises RecursionError (a 500)
in DRF's JSONParser and in every view or form that calls json.loads on input; PostgreSQL refuses NUL in text and
jsonb columns, so a `\\u0000` that reached the ORM answered 500 there and 201 on SQLite. Three places use these
limits: InputLimitsMiddleware (every JSON request body, whichever view or parser reads it, including DRF's token
endpoint with its own parser list and annotation.fast_api), JSONObjectParser (DRF's default parser), and
parse_json_text (forms and uploaded JSON Lines rows).
"""

import codecs
import json
from collections.abc import Callable, Mapping
from typing import IO, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json as drf_json

MAX_JSON_DEPTH = 64  # the deepest document the platform reads is a job config or a row's context: 4 or 5 levels
DEPTH_MESSAGE = f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
NUL_MESSAGE = "Text may not contain NUL characters (\\u0000)."

_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONInputError(ValueError):
    """JSON text that parses but that the platform refuses (too deep, NUL characters), or that does not parse."""


def nesting_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, found without parsing (so without recursion).

    Brackets inside strings do not nest. Escaped backslashes and then escaped quotes are blanked (left to right, as
    JSON pairs them), so every quote left opens or closes a string; the depth after each byte is a running sum of +1
    per opening and -1 per closing bracket outside strings, computed by numpy at C speed (10 MB in a fraction of a
    second). Malformed text may answer either way: the parser that reads it next refuses it.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    import numpy as np  # imported here: most bodies never get this far

    text = np.frombuffer(bytes(data).replace(b"\\\\", b"  ").replace(b'\\"', b"  "), dtype=np.uint8)
    outside = (np.cumsum(text == ord('"'), dtype=np.int32) & 1) == 0
    steps = np.zeros(256, dtype=np.int32)
    for byte, step in _BRACKETS.items():
        steps[byte] = step
    depth = np.cumsum(np.where(outside, steps[text], 0), dtype=np.int32)
    return bool(depth.size) and int(depth.max()) > limit


def holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value has a NUL character in any string or key (walked without recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_json_text(text: str | bytes) -> Any:
    """json.loads for input: JSONInputError (a ValueError) for invalid JSON, too deep a document or NUL in a string."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if nesting_exceeds(data):
        raise JSONInputError(DEPTH_MESSAGE)
    try:
        value = json.loads(text)
    except RecursionError as exc:  # unreachable past nesting_exceeds; kept so no input can recurse into a 500
        raise JSONInputError(DEPTH_MESSAGE) from exc
    except ValueError as exc:
        raise JSONInputError(f"Not JSON: {exc}.") from exc
    if b"\\u0000" in data and holds_nul(value):
        raise JSONInputError(NUL_MESSAGE)
    return value


class JSONObjectParser(JSONParser):
    """DRF's JSONParser, refusing with 400 what would otherwise be a 500 further on.

    Every endpoint takes an object (serializer fields, or `request.data.get(...)`), so a list, string or number at
    the top answers 400 here instead of AttributeError in a view; too deep a document and NUL characters too.
    """

    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> dict:
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        data = stream.read() if stream is not None else b""
        if nesting_exceeds(data):
            raise ParseError(f"JSON parse error - {DEPTH_MESSAGE}")
        try:
            text = codecs.decode(data, encoding)
            parse_constant = drf_json.strict_constant if api_settings.STRICT_JSON else None
            value = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - {DEPTH_MESSAGE}") from exc
        except ValueError as exc:  # UnicodeDecodeError is one
            raise ParseError(f"JSON parse error - {exc}") from exc
        if not isinstance(value, dict):
            raise ParseError(f"JSON parse error - the body must be a JSON object, not {_json_type(value)}.")
        if b"\\u0000" in data and holds_nul(value):
            raise ParseError(NUL_MESSAGE)
        return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class InputLimitsMiddleware:
    """Answer 400 before any view runs to a JSON body nested deeper than MAX_JSON_DEPTH, and to NUL in the URL.

    A NUL in a query parameter reached filters (`?attribute=%00`), which PostgreSQL refuses with an error (a 500).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                          for key, values in request.GET.lists() for value in values):
            return JsonResponse({"detail": NUL_MESSAGE}, status=400)
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and _is_json(request.content_type or ""):
            if nesting_exceeds(request.body):
                return JsonResponse({"detail": f"JSON parse error - {DEPTH_MESSAGE}"}, status=400)
        return self.get_response(request)
