"""Organizations (tenants): one table, every item keyed by its org (pk = ORG#<org_id>).

Item kinds sharing OrgsTable (see docs/data-model.md for the access patterns):

    pk=ORG#<org_id>  sk=ORG                    Organization
    pk=ORG#<org_id>  sk=MEMBER#<user_id>       Membership   (GSI member-orgs: member_user_id, pk)
    pk=ORG#<org_id>  sk=INVITE#<sha256(secret)> Invite      (sparse GSI pending-invites while PENDING)

Key strings are built here and nowhere else.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import KeyedModel, table_meta, utcnow

_ORG = "ORG#"
_ORG_SK = "ORG"
_MEMBER = "MEMBER#"
_INVITE = "INVITE#"

INVITE_PENDING = "PENDING"


def org_pk(org_id: str) -> str:
    return f"{_ORG}{org_id}"


class Organization(KeyedModel, Model):
    Meta = table_meta("orgs_table_name")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    org_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(default=utcnow)
    updated_at = UTCDateTimeAttribute(default=utcnow)
    # Counters change only by atomic ADD inside the transaction that adds/removes/changes
    # a membership; owner_count guards the "never without an owner" rule.
    member_count = NumberAttribute(default=0)
    owner_count = NumberAttribute(default=0)
    # Bumped by every write: an ETag for clients. Counter writes are commutative ADDs and
    # PATCH is a blind SET, so writes do not condition on it (no lost updates possible).
    version = VersionAttribute()

    @classmethod
    def key(cls, org_id: str) -> tuple[str, str]:
        return org_pk(org_id), _ORG_SK

    @classmethod
    def new(cls, org_id: str, **attrs) -> Organization:
        pk, sk = cls.key(org_id)
        return cls(pk, sk, org_id=org_id, **attrs)

    @classmethod
    def ref(cls, org_id: str) -> Organization:
        """A key-only handle for updates made purely of atomic actions (no read first).

        version=0 makes PynamoDB emit `ADD version 1` instead of `SET version = 1`; callers
        pass add_version_condition=False, so the placeholder is never compared.
        """
        pk, sk = cls.key(org_id)
        return cls(pk, sk, version=0)


class MemberOrgsIndex(GlobalSecondaryIndex):
    """A user's memberships, one per org: "list my orgs"."""

    class Meta:
        index_name = "member-orgs"
        projection = AllProjection()

    member_user_id = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class Membership(KeyedModel, Model):
    Meta = table_meta("orgs_table_name")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    org_id = UnicodeAttribute()
    member_user_id = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | admin | member
    # Snapshots taken when the member joined, so listing members needs no user reads.
    display_name = UnicodeAttribute(default="")
    email = UnicodeAttribute(default="")
    joined_at = UTCDateTimeAttribute(default=utcnow)
    added_by = UnicodeAttribute(null=True)

    member_orgs = MemberOrgsIndex()

    @classmethod
    def key(cls, org_id: str, user_id: str) -> tuple[str, str]:
        return org_pk(org_id), f"{_MEMBER}{user_id}"

    @classmethod
    def sort_prefix(cls) -> str:
        """Range-key prefix of every membership in an org's partition."""
        return _MEMBER

    @classmethod
    def new(cls, org_id: str, user_id: str, **attrs) -> Membership:
        pk, sk = cls.key(org_id, user_id)
        return cls(pk, sk, org_id=org_id, member_user_id=user_id, **attrs)

    @property
    def user_id(self) -> str:
        return self.member_user_id


class PendingInvitesIndex(GlobalSecondaryIndex):
    """Sparse: only invites still PENDING carry `invite_state`; ordered by expiry for the sweep."""

    class Meta:
        index_name = "pending-invites"
        projection = KeysOnlyProjection()

    invite_state = UnicodeAttribute(hash_key=True)
    expires_at = NumberAttribute(range_key=True)


class Invite(KeyedModel, Model):
    Meta = table_meta("orgs_table_name")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    org_id = UnicodeAttribute()
    invite_id = UnicodeAttribute()  # sha256 hex of the secret; the secret itself is never stored
    email = UnicodeAttribute()  # lowercased
    role = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(default=utcnow)
    expires_at = NumberAttribute()  # epoch seconds
    # "PENDING" until accepted or revoked; removed then so the item leaves the sparse index.
    invite_state = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=INVITE_PENDING)  # PENDING | ACCEPTED
    accepted_by = UnicodeAttribute(null=True)
    accepted_at = UTCDateTimeAttribute(null=True)
    # Backstop only: DynamoDB TTL may lag by days and the emulator never expires items.
    ttl = TTLAttribute(null=True)

    pending_invites = PendingInvitesIndex()

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def key(cls, org_id: str, invite_id: str) -> tuple[str, str]:
        return org_pk(org_id), f"{_INVITE}{invite_id}"

    @classmethod
    def sort_prefix(cls) -> str:
        return _INVITE

    @classmethod
    def pending_state(cls) -> str:
        return INVITE_PENDING

    @classmethod
    def new(cls, org_id: str, invite_id: str, **attrs) -> Invite:
        pk, sk = cls.key(org_id, invite_id)
        return cls(pk, sk, org_id=org_id, invite_id=invite_id, invite_state=INVITE_PENDING, **attrs)


@lru_cache(maxsize=1)
def _connection() -> Connection:
    # No host: botocore reads AWS_ENDPOINT_URL, as for the models.
    return Connection(region=get_settings().aws_region, max_retry_attempts=3)


def transaction() -> TransactWrite:
    """A TransactWrite on the orgs table's connection (all-or-nothing across items)."""
    return TransactWrite(connection=_connection())
