"""The one JSON parser's bounds, and request patterns that mean the same to every reader.

The published schema is read by clients and by schemathesis with Python's or ECMAScript's
regex engines, while pydantic validates with Rust's: the patterns must mean the same to all.
"""

from __future__ import annotations

import re
import time
from typing import Annotated

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, TypeAdapter, ValidationError

from chalicelib.core.config import get_settings
from chalicelib.core.errors import PayloadTooLarge, ValidationFailed
from chalicelib.core.pagination import Cursor
from chalicelib.core.routing import nesting_depth, parse_json
from chalicelib.core.schemas import Email, one_line
from chalicelib.identity.schemas import PASSWORD_PATTERN, Code, NewPassword, _policy
from chalicelib.uploads.schemas import ContentType, Filename


@pytest.mark.parametrize(
    "text, depth",
    [
        (b"1", 0),
        (b"{}", 1),
        (b"[[1], [2, [3]]]", 3),
        (b'{"a": "[[[[[", "b": ["]]]"]}', 2),  # brackets in strings do not count
        (b'["\\"[[["]', 1),  # nor after an escaped quote
        (b'["\\\\", [[]]]', 3),  # an escaped backslash ends before the quote
        (b'[[["unterminated [[[[[', 3),  # an unterminated string runs to the end
        (b"[" * 5000, 5000),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert nesting_depth(text) == depth


@pytest.mark.parametrize(
    "text",
    [b"[" * 65536, b'a\\"' * 21845, b'"' * 65536, b'"\\' * 32768, b'["' + b"x" * 65530 + b'"]'],
)
def test_nesting_depth_takes_linear_time_on_hostile_text(text):
    # WHEN a body-sized pathological text is scanned THEN it takes milliseconds, not seconds
    started = time.perf_counter()
    nesting_depth(text)
    assert time.perf_counter() - started < 0.5


class Anything(BaseModel):
    value: object = None


def test_parse_json_refuses_depth_bombs_and_oversized_text_in_our_errors():
    limit = get_settings().max_json_depth
    # GIVEN JSON nested exactly at the limit THEN it is parsed
    at_limit = '{"value": ' + "[" * (limit - 1) + "]" * (limit - 1) + "}"
    assert parse_json(Anything, at_limit, location="frame").value is not None
    # WHEN it nests one level more, or 5,000 levels, THEN json_too_deep (never RecursionError)
    for bomb in ('{"value": ' + "[" * limit + "]" * limit + "}", "[" * 5000 + "]" * 5000, '{"a":' * 5000):
        with pytest.raises(ValidationFailed) as refused:
            parse_json(Anything, bomb, location="frame")
        assert refused.value.code == "json_too_deep" and refused.value.status == 400
        assert refused.value.details == {"max_depth": limit}
    # WHEN the text is larger than a body may be THEN payload_too_large, bytes or text alike
    too_large = '{"value": "' + "é" * get_settings().max_json_body_bytes + '"}'
    for raw in (too_large, too_large.encode()):
        with pytest.raises(PayloadTooLarge):
            parse_json(Anything, raw, location="frame")


ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=["Cs"]), max_size=70)
EDGES = st.sampled_from(
    [" a", "a ", "a\n", "\u3000", "a\x85b", "\x1ca\x1f", "\u3000a\u2028", " " + "a" * 20 + "\t", "a" * 21]
    + ["Ab3" * 4, " Abcdefgh3", "a@b.co ", "VIDEO/MP4", "video/x-matros\u212aa"]
)
FIELDS = {
    "name": one_line(20),
    "email": Email,
    "filename": Filename,
    "content type": ContentType,
    "code": Code,
    "new password": NewPassword,
    "cursor": Cursor,
}


@pytest.mark.parametrize("name", FIELDS)
def test_a_fields_published_schema_accepts_exactly_what_its_validator_does(name):
    # GIVEN a request field's type and its published JSON schema, read by a validator that
    # follows the JSON Schema spec (ECMAScript regex semantics)
    adapter = TypeAdapter(FIELDS[name])
    schema = adapter.json_schema()
    published = jsonschema_rs.validator_for(schema)
    pattern = schema.get("pattern")
    drawn = ANY_TEXT | EDGES
    if pattern:
        drawn |= st.from_regex(pattern, fullmatch=True)

    @settings(max_examples=1000, database=None)
    @given(drawn)
    def agree(value):
        # THEN any text is valid by the schema exactly when the validator accepts it
        assert published.is_valid(value) == _accepts(adapter, value), repr(value)

    agree()


@settings(max_examples=2000)
@given(ANY_TEXT | st.from_regex(PASSWORD_PATTERN, fullmatch=True))
def test_the_password_pattern_is_the_policy(password):
    # GIVEN any text THEN the published pattern matches it exactly when the policy holds
    assert bool(re.search(PASSWORD_PATTERN, password)) == _accepts(
        TypeAdapter(Annotated[str, AfterValidator(_policy)]), password
    )


def _accepts(adapter: TypeAdapter, value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True
