"""Open websocket connections, and the slots that cap them. One table, two item kinds:

    connection_id=<API Gateway connection id>   Connection       (GSI user-connections: user_id)
    connection_id=SLOTS#USER#<user_id>          ConnectionSlots  the user's open connection ids
    connection_id=SLOTS#IP#<source ip>          ConnectionSlots  the source IP's open connection ids

A Connection is written on $connect and deleted on $disconnect, when the management API
says it is gone, or when its user's sessions are revoked (sign-out, password reset,
suspension): a frame is served only while its Connection exists. `ttl` sweeps items whose
$disconnect never ran (API Gateway closes every connection after 2 hours at most).

API Gateway connection ids are base64-like and never contain '#', so slot keys cannot
collide with them. Key strings are built here and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import KeyedModel, table_meta, utcnow

# API Gateway's hard limit on a connection's life, plus a margin for clock skew.
CONNECTION_LIFETIME = timedelta(hours=2, minutes=5)

_USER_SLOTS = "SLOTS#USER#"
_IP_SLOTS = "SLOTS#IP#"


class UserConnectionsIndex(GlobalSecondaryIndex):
    """Every open connection of one user: the fan-out of push_to_user."""

    class Meta:
        index_name = "user-connections"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)


class Connection(KeyedModel, Model):
    Meta = table_meta("connections_table_name")

    connection_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    # Where the connection's `@connections` API lives (API Gateway's apiId and stage):
    # lets a sender outside a websocket event reach it, as Chalice does inside one.
    api_id = UnicodeAttribute()
    stage = UnicodeAttribute()
    # The $connect request's source IP (requestContext.identity.sourceIp): which IP slot it holds.
    source_ip = UnicodeAttribute(null=True)
    connected_at = UTCDateTimeAttribute(default=utcnow)
    ttl = TTLAttribute()

    user_connections = UserConnectionsIndex()

    @classmethod
    def key(cls, connection_id: str) -> tuple[str]:
        return (connection_id,)

    @classmethod
    def open(
        cls, connection_id: str, user_id: str, *, api_id: str, stage: str, source_ip: str | None = None
    ) -> Connection:
        return cls(
            connection_id,
            user_id=user_id,
            api_id=api_id,
            stage=stage,
            source_ip=source_ip,
            connected_at=utcnow(),
            ttl=CONNECTION_LIFETIME,
        )

    @classmethod
    def of_user(cls, user_id: str):
        return cls.user_connections.query(user_id)


class ConnectionSlots(KeyedModel, Model):
    """The ids of the open connections counted against one cap (a user's, a source IP's).

    A connection takes its slot with one conditional `ADD members {id}` (granted while
    `size(members)` is below the cap) and gives it back with `DELETE members {id}`: both are
    idempotent, so a repeated $connect or $disconnect never miscounts. Ids whose $disconnect
    was lost are found and freed when the cap is reached (chalicelib/realtime/service.py).
    """

    Meta = table_meta("connections_table_name")

    connection_id = UnicodeAttribute(hash_key=True)  # the table's key: SLOTS#USER#<id> / SLOTS#IP#<ip>
    members = UnicodeSetAttribute(null=True)  # absent when empty (DynamoDB stores no empty sets)
    # Refreshed by every claim: once it passes, every member is older than a connection can live.
    ttl = TTLAttribute(null=True)

    @classmethod
    def key(cls, slots_key: str) -> tuple[str]:
        return (slots_key,)

    @classmethod
    def user_key(cls, user_id: str) -> str:
        return f"{_USER_SLOTS}{user_id}"

    @classmethod
    def ip_key(cls, source_ip: str) -> str:
        return f"{_IP_SLOTS}{source_ip}"

    @classmethod
    def ref(cls, slots_key: str) -> ConnectionSlots:
        """A key-only handle for the conditional ADD/DELETE updates (no read first)."""
        return cls(slots_key)
