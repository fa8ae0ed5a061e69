"""core/pagination.py: one opaque cursor format, checked before it reaches DynamoDB.

A cursor round-trips to the exact LastEvaluatedKey; anything that is not a key of *this*
listing (another partition, other or missing attributes, non-scalar or oversized values,
not base64 JSON at all) is refused with 400 `invalid_cursor`, never followed.
Pure functions: no stack needed.
"""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from chalicelib.core import pagination
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.pagination import PageQuery

# A members listing: Query on the org's partition, sorted by sk.
KEYS = ("sk",)
PARTITION = {"pk": "ORG#a"}
KEY = {"pk": {"S": "ORG#a"}, "sk": {"S": "MEMBER#u-1"}}

# A "my orgs" listing: Query on a GSI; its key has the table's keys and the index's.
INDEX_KEYS = ("pk", "sk")
INDEX_PARTITION = {"member_user_id": "u-1"}
INDEX_KEY = {"member_user_id": {"S": "u-1"}, "pk": {"S": "ORG#a"}, "sk": {"S": "MEMBER#u-1"}}

# A key with a number attribute.
NUMBER_KEY = {"owner_id": {"S": "u-1"}, "created_at": {"S": "2024-01-01T00:00:00+00:00"}, "n": {"N": "12"}}


def cursor_of(value: object) -> str:
    """Any JSON value packed the way `encode` packs a key (base64url, unpadded)."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(cursor: str, keys=KEYS, partition=PARTITION):
    return pagination.decode(cursor, keys=keys, partition=partition)


def assert_refused(cursor: str, keys=KEYS, partition=PARTITION) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode(cursor, keys, partition)
    assert raised.value.code == "invalid_cursor"
    assert raised.value.status == 400
    assert raised.value.details[0]["field"] == "query.cursor"


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize(
    ("key", "keys", "partition"),
    [
        (KEY, KEYS, PARTITION),
        (INDEX_KEY, INDEX_KEYS, INDEX_PARTITION),
        (NUMBER_KEY, ("created_at", "n"), {"owner_id": "u-1"}),
    ],
    ids=["table", "index", "number"],
)
def test_a_cursor_decodes_to_exactly_the_key_it_was_made_from(key, keys, partition):
    # GIVEN a LastEvaluatedKey of a listing WHEN it is encoded
    cursor = pagination.encode(key)

    # THEN the cursor is URL-safe, unpadded and a valid `?cursor=`, and decodes to the same key
    assert cursor is not None and "=" not in cursor
    assert PageQuery(cursor=cursor).cursor == cursor
    assert decode(cursor, keys, partition) == key


def test_the_last_page_has_no_cursor_and_no_cursor_is_the_first_page():
    # WHEN a Query returned no LastEvaluatedKey THEN there is no next cursor
    assert pagination.encode(None) is None
    assert pagination.encode({}) is None
    # AND no cursor means "start at the beginning"
    assert decode(None) is None


def test_the_same_key_always_encodes_to_the_same_cursor():
    # GIVEN one key with its attributes in two orders WHEN both are encoded
    reordered = {"sk": KEY["sk"], "pk": KEY["pk"]}

    # THEN the cursors are identical (sorted keys): a cursor is a stable name for a position
    assert pagination.encode(KEY) == pagination.encode(reordered)


# ---------------------------------------------------------------- refusals


def test_a_cursor_of_another_partition_is_refused():
    # GIVEN a valid cursor of org b's members
    other_org = pagination.encode({"pk": {"S": "ORG#b"}, "sk": {"S": "MEMBER#u-1"}})

    # WHEN it is used on org a's members THEN it is refused
    assert_refused(other_org)


def test_a_cursor_of_another_users_index_listing_is_refused():
    # GIVEN a valid "my orgs" cursor of user u-2
    theirs = pagination.encode({**INDEX_KEY, "member_user_id": {"S": "u-2"}})

    # WHEN user u-1 passes it THEN it is refused
    assert_refused(theirs, INDEX_KEYS, INDEX_PARTITION)


def test_a_partition_value_of_another_type_is_refused():
    # GIVEN the right partition value, but typed as a number
    assert_refused(cursor_of({"pk": {"N": "ORG#a"}, "sk": {"S": "MEMBER#u-1"}}))


@pytest.mark.parametrize(
    "key",
    [
        {"pk": {"S": "ORG#a"}},  # missing the sort key
        {"sk": {"S": "MEMBER#u-1"}},  # missing the partition
        {**KEY, "extra": {"S": "x"}},  # an attribute the listing does not have
        {"pk": {"S": "ORG#a"}, "other": {"S": "MEMBER#u-1"}},  # another attribute instead
        {},
    ],
    ids=["no-sort-key", "no-partition", "extra-key", "wrong-key", "empty"],
)
def test_a_cursor_with_other_attributes_than_the_listings_keys_is_refused(key):
    assert_refused(cursor_of(key))


@pytest.mark.parametrize(
    "sk",
    [
        "MEMBER#u-1",  # not a typed value
        {"S": 5},  # the scalar is not a string
        {"N": 5},
        {"S": ""},  # empty
        {"S": "x" * 1025},  # longer than a key attribute may be
        {"B": "AAAA"},  # binary
        {"BOOL": True},
        {"NULL": True},
        {"M": {"S": {"S": "x"}}},
        {"L": [{"S": "x"}]},
        {"SS": ["x"]},
        {"S": "a", "N": "1"},  # two types
        {},
        None,
        ["S", "x"],
    ],
    ids=lambda v: json.dumps(v)[:20],
)
def test_a_cursor_with_a_value_that_is_not_one_string_or_number_is_refused(sk):
    assert_refused(cursor_of({"pk": {"S": "ORG#a"}, "sk": sk}))


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        "a",  # impossible base64 length
        base64.urlsafe_b64encode(b"{not json").decode().rstrip("="),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode().rstrip("="),  # not UTF-8
        cursor_of([KEY]),  # JSON, but not an object
        cursor_of("ORG#a"),
        cursor_of(7),
        cursor_of(None),
    ],
    ids=["bad-chars", "bad-length", "not-json", "not-utf8", "list", "string", "number", "null"],
)
def test_a_cursor_that_is_not_base64_json_of_an_object_is_refused(cursor):
    assert_refused(cursor)


def test_a_deeply_nested_cursor_within_the_length_limit_is_refused():
    # GIVEN a cursor PageQuery accepts (<= 2048 characters) that is 1,500 nested JSON arrays
    cursor = base64.urlsafe_b64encode(b"[" * 1500).decode().rstrip("=")
    assert PageQuery(cursor=cursor).cursor == cursor

    # WHEN it is decoded THEN it is refused like any other bad cursor, not a server error
    assert_refused(cursor)


def test_page_query_refuses_cursors_outside_the_cursor_alphabet_or_length():
    # A cursor only ever holds base64url characters and is at most 2048 long
    for bad in ("", "has space", "a/b", "a+b", "x" * 2049):
        with pytest.raises(ValidationError):
            PageQuery(cursor=bad)
