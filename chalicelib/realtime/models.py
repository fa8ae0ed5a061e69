"""Open websocket connections: one item per API Gateway connection id.

Written on $connect, deleted on $disconnect or when the management API says the
connection is gone. `ttl` sweeps items whose $disconnect never ran (API Gateway
closes every connection after 2 hours at most).
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import table_meta, utcnow

# API Gateway's hard limit on a connection's life, plus a margin for clock skew.
CONNECTION_LIFETIME = timedelta(hours=2, minutes=5)


class UserConnectionsIndex(GlobalSecondaryIndex):
    """Every open connection of one user: the fan-out of push_to_user."""

    class Meta:
        index_name = "user-connections"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)


class Connection(Model):
    Meta = table_meta("connections_table_name")

    connection_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    # Where the connection's `@connections` API lives (API Gateway's apiId and stage):
    # lets a sender outside a websocket event reach it, as Chalice does inside one.
    api_id = UnicodeAttribute()
    stage = UnicodeAttribute()
    connected_at = UTCDateTimeAttribute(default=utcnow)
    ttl = TTLAttribute()

    user_connections = UserConnectionsIndex()

    @classmethod
    def open(cls, connection_id: str, user_id: str, *, api_id: str, stage: str) -> Connection:
        return cls(connection_id, user_id=user_id, api_id=api_id, stage=stage, ttl=CONNECTION_LIFETIME)

    @classmethod
    def of_user(cls, user_id: str):
        return cls.user_connections.query(user_id)
