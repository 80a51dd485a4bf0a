"""The tables: queues, messages, exchanges and bindings.

``<queue_tablename>`` (default ``kombu_queue``)
    ``id``, ``name`` (unique), ``arguments`` (JSON text).
``<message_tablename>`` (default ``kombu_message``)
    ``id`` (the publish order), ``queue``, ``state`` (0 waiting, 1 leased),
    ``rank`` (255 - priority level: lower is served first), ``seq`` (0, or
    negative for entries given back to the head), ``token`` (the lease's receipt,
    unique, NULL while waiting), ``lease_until`` (epoch seconds),
    ``redelivered``, ``payload`` (the envelope as JSON text).
    Indexes: ``(queue, state, rank, seq, id)`` for fetch, ``token`` (unique) for
    ack/renew/requeue, ``lease_until`` for the restore of lapsed leases.
``<message_tablename>_exchange`` / ``<message_tablename>_binding``
    Exchange declarations with their route ``version`` (random 62 bits, new on every
    change, indexed: a publish stores only if the version it routed with still
    exists), and bindings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

__all__ = ("Schema",)

#: Longest queue / exchange name (kombu's SQLAlchemy transport: 200).
NAME_LENGTH = 200
#: Longest routing key (AMQP's limit: 255 bytes).
KEY_LENGTH = 255

#: MySQL/MariaDB TEXT holds 64 KiB: messages and arguments are LONGTEXT there.
LongText: Any = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
#: A 64-bit key that SQLite still makes its rowid (INTEGER PRIMARY KEY).
BigId: Any = BigInteger().with_variant(Integer(), "sqlite")


class Schema:
    """The four tables for one pair of table names."""

    def __init__(self, queue_tablename: str = "kombu_queue",
                 message_tablename: str = "kombu_message") -> None:
        self.metadata = MetaData()
        self.queues = Table(
            queue_tablename, self.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("name", String(NAME_LENGTH), nullable=False, unique=True),
            Column("arguments", LongText, nullable=True),
        )
        self.messages = Table(
            message_tablename, self.metadata,
            Column("id", BigId, primary_key=True, autoincrement=True),
            Column("queue", String(NAME_LENGTH), nullable=False),
            Column("state", SmallInteger, nullable=False, default=0),
            Column("rank", SmallInteger, nullable=False, default=255),
            Column("seq", BigInteger, nullable=False, default=0),
            Column("token", String(48), nullable=True),
            Column("lease_until", Double, nullable=True),
            Column("redelivered", SmallInteger, nullable=False, default=0),
            Column("payload", LongText, nullable=False),
            Index(f"ix_{message_tablename}_fetch", "queue", "state", "rank", "seq", "id"),
            Index(f"ix_{message_tablename}_token", "token", unique=True),
            Index(f"ix_{message_tablename}_lease", "lease_until"),
        )
        self.exchanges = Table(
            f"{message_tablename}_exchange", self.metadata,
            Column("name", String(NAME_LENGTH), primary_key=True),
            Column("meta", LongText, nullable=True),
            Column("version", BigInteger, nullable=False),
            Index(f"ix_{message_tablename}_exchange_version", "version"),
        )
        self.bindings = Table(
            f"{message_tablename}_binding", self.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("exchange", String(NAME_LENGTH), nullable=False),
            Column("queue", String(NAME_LENGTH), nullable=False),
            Column("routing_key", String(KEY_LENGTH), nullable=False),
            Column("args_key", String(40), nullable=False),
            Column("arguments", LongText, nullable=True),
            UniqueConstraint("exchange", "queue", "routing_key", "args_key",
                             name=f"uq_{message_tablename}_binding"),
            Index(f"ix_{message_tablename}_binding_queue", "queue"),
        )
