"""Publishing through routing tables that another connection changes meanwhile."""

from __future__ import annotations

from sql_support import Db

from kombu import Connection, Exchange, Queue
from kombu.transport.virtual.contract import Binding, Target


def test_a_publish_through_a_stale_route_is_stored_not_lost(db: Db) -> None:
    # The publisher caches the exchange's routes; another connection's bind changes
    # them.  The next publish must notice (nothing stored) and route again.
    exchange = Exchange("rx", type="direct")
    q1 = Queue("rx.q1", exchange, routing_key="k1")
    q2 = Queue("rx.q2", exchange, routing_key="k2")
    with Connection(db.broker, transport_options=db.options) as publisher, \
            Connection(db.broker, transport_options=db.options) as other:
        producer = publisher.Producer(exchange=exchange)
        producer.publish({"n": 1}, routing_key="k1", declare=[q1])
        q2(other.default_channel).declare()  # a new binding: the route table changes
        producer.publish({"n": 2}, routing_key="k1")
        producer.publish({"n": 3}, routing_key="k2")
        simple1 = publisher.SimpleQueue(q1)
        simple2 = publisher.SimpleQueue(q2)
        assert simple1.qsize() == 2, "a publish through a stale routing table was lost"
        assert simple2.qsize() == 1
        assert sorted(simple1.get(timeout=5).payload["n"] for _ in range(2)) == [1, 2]
        simple1.close()
        simple2.close()


def test_put_with_a_stale_route_version_stores_nothing(db: Db) -> None:
    with Connection(db.broker, transport_options=db.options) as conn:
        storage = conn.default_channel.storage
        storage.declare_exchange("sx", {"type": "direct", "durable": True,
                                        "auto_delete": False, "arguments": {}})
        storage.declare_queue("sx.q", None)
        storage.bind(Binding("sx.q", "sx", "k", None))
        version = storage.route_table("sx").version
        envelope = {"body": "e30=", "content-type": "application/json",
                    "content-encoding": "utf-8", "headers": {},
                    "properties": {"delivery_info": {"exchange": "sx", "routing_key": "k"},
                                   "body_encoding": "base64", "priority": 0}}
        assert storage.put(envelope, [Target("sx.q", 0)], version) is True
        storage.bind(Binding("sx.q", "sx", "other", None))  # a new version
        assert storage.put(envelope, [Target("sx.q", 0)], version) is False
        assert storage.queue_size("sx.q") == 1


def test_declare_exchange_after_a_bind_records_its_type(db: Db) -> None:
    # A bind may create the exchange's row (for its route version) before the
    # exchange is declared; the declaration must still record the type.
    with Connection(db.broker, transport_options=db.options) as conn:
        storage = conn.default_channel.storage
        storage.bind(Binding("bx.q", "bx", "k", None))
        assert storage.route_table("bx").meta is None
        meta = {"type": "topic", "durable": True, "auto_delete": False, "arguments": {}}
        storage.declare_exchange("bx", meta)
        assert storage.route_table("bx").meta == meta
