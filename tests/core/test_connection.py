"""Connection: URL forms, failover lists, masking, life cycle, error tuples."""

from __future__ import annotations

import pickle
import socket

import pytest

from kombu import Connection
from kombu.exceptions import ChannelError, ConnectionError, TransportNotInstalled
from kombu.transport.memory import Transport as MemoryTransport


def test_url_parts_override_defaults():
    conn = Connection("memory://user:secret@broker.example:1234/vhost?x=1")
    assert conn.hostname == "broker.example"
    assert conn.userid == "user"
    assert conn.password == "secret"
    assert conn.port == 1234
    assert conn.virtual_host == "vhost"
    assert conn.transport_cls == "memory"


def test_keyword_arguments_and_defaults():
    conn = Connection("memory://", userid="u", password="p", virtual_host="/v",
                      connect_timeout=2.5, heartbeat=10, ssl={"cert_reqs": 0},
                      login_method="PLAIN", transport_options={"polling_interval": 0.01})
    assert (conn.userid, conn.password, conn.virtual_host) == ("u", "p", "/v")
    assert conn.connect_timeout == 2.5
    assert conn.heartbeat == 10
    assert conn.ssl == {"cert_reqs": 0}
    assert conn.login_method == "PLAIN"
    assert conn.transport_options == {"polling_interval": 0.01}


def test_default_virtual_host_and_connect_timeout():
    conn = Connection("memory://localhost")
    assert conn.virtual_host == "/"
    assert conn.connect_timeout == 5


def test_as_uri_masks_password_and_repr_never_shows_it():
    conn = Connection("memory://user:s3cret@host:99//")
    assert "s3cret" not in conn.as_uri()
    assert "**" in conn.as_uri()
    assert "s3cret" in conn.as_uri(include_password=True)
    assert "s3cret" not in repr(conn)


def test_info_and_clone():
    conn = Connection("memory://u:p@h:5/vh", transport_options={"a": 1}, heartbeat=3)
    info = conn.info()
    assert info["hostname"] == "h"
    assert info["port"] == 5
    assert info["userid"] == "u"
    assert info["virtual_host"] == "vh"
    assert info["transport_options"] == {"a": 1}
    assert info["heartbeat"] == 3
    clone = conn.clone()
    assert clone is not conn
    assert clone.info() == info
    assert clone.clone(heartbeat=7).heartbeat == 7


def test_failover_list_and_alternates():
    conn = Connection("memory://a;memory://b;memory://c")
    assert conn.hostname == "a"
    assert conn.alt == ["memory://a", "memory://b", "memory://c"]
    conn.maybe_switch_next()
    assert conn.hostname == "b"
    conn.maybe_switch_next()
    assert conn.hostname == "c"
    conn.maybe_switch_next()
    assert conn.hostname == "a"
    conn2 = Connection(["memory://x", "memory://y"])
    assert conn2.alt == ["memory://x", "memory://y"]
    conn3 = Connection("memory://x", alternates=["memory://z"])
    assert conn3.alt == ["memory://x", "memory://z"]
    assert conn3.completes_cycle(1) and not conn3.completes_cycle(0)


def test_shuffle_strategy_visits_all_and_unknown_strategy_fails():
    conn = Connection("memory://a;memory://b;memory://c", failover_strategy="shuffle")
    seen = set()
    for _ in range(12):
        conn.maybe_switch_next()
        seen.add(conn.hostname)
    assert seen == {"a", "b", "c"}
    with pytest.raises(ValueError, match="failover_strategy"):
        Connection("memory://a;memory://b", failover_strategy="nope")


@pytest.mark.parametrize("url", ["://nohost", "nosuchscheme://host"])
def test_malformed_and_unknown_urls(url):
    with pytest.raises((ValueError, TransportNotInstalled)) as excinfo:
        Connection(url)
    assert str(excinfo.value)


def test_plus_scheme_keeps_rest_as_hostname():
    from kombu.transport import register_transport, unregister_transport

    register_transport("sqlfake", "kombu.transport.memory:Transport")
    try:
        conn = Connection("sqlfake+postgresql://user:pw@db/test")
        assert conn.transport_cls == "sqlfake"
        assert conn.hostname == "postgresql://user:pw@db/test"
        assert conn.uri_prefix == "sqlfake"
        assert "pw" not in conn.as_uri()
        clone = conn.clone().clone()
        assert clone.hostname == "postgresql://user:pw@db/test"
        assert clone.as_uri() == conn.as_uri() == "sqlfake+postgresql://user:**@db/test"
    finally:
        unregister_transport("sqlfake")


def test_lifecycle_connect_channel_default_channel_close():
    conn = Connection("memory://")
    assert not conn.connected
    conn.connect()
    assert conn.connected
    chan = conn.channel()
    assert chan is not conn.default_channel
    assert conn.default_channel is conn.default_channel
    chan.close()
    conn.close()
    assert not conn.connected
    # A closed connection can be used again: default_channel reconnects.
    assert conn.default_channel is not None
    conn.release()


def test_context_manager_closes():
    with Connection("memory://") as conn:
        conn.connect()
        assert conn.connected
    assert not conn.connected


def test_drain_events_timeout_raises_socket_timeout():
    with Connection("memory://") as conn:
        conn.default_channel.queue_declare("drain-timeout-q")
        consumer = conn.Consumer(["drain-timeout-q"], callbacks=[lambda b, m: None])
        consumer.consume()
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.05)


def test_error_tuples_and_transport_class():
    conn = Connection("memory://")
    assert isinstance(conn.transport, MemoryTransport)
    assert conn.get_transport_cls() is MemoryTransport
    assert all(issubclass(e, BaseException) for e in conn.connection_errors)
    assert all(issubclass(e, BaseException) for e in conn.channel_errors)
    assert issubclass(ConnectionError, Exception) and issubclass(ChannelError, Exception)
    assert conn.recoverable_connection_errors
    assert conn.supports_exchange_type("topic")


def test_pickle_round_trip():
    conn = Connection("memory://u:p@h:1/v", heartbeat=5)
    clone = pickle.loads(pickle.dumps(conn))
    assert clone.info() == conn.info()


def test_producer_and_consumer_factories():
    from kombu import Queue

    with Connection("memory://") as conn:
        queue = Queue("factory-q", routing_key="factory-q")
        producer = conn.Producer()
        got = []
        consumer = conn.Consumer([queue], callbacks=[lambda b, m: (got.append(b), m.ack())])
        producer.publish({"n": 1}, routing_key="factory-q", declare=[queue])
        with consumer:
            conn.drain_events(timeout=2)
        assert got == [{"n": 1}]


def test_default_transport_is_amqp():
    conn = Connection()
    assert conn.transport_cls == "amqp"
    assert conn.hostname == "localhost"


def test_url_query_options_become_transport_options_and_ssl():
    conn = Connection("memory://h/?polling_interval=0.5&flag=true&name=x&ssl=1")
    assert conn.transport_options["polling_interval"] == 0.5
    assert conn.transport_options["flag"] is True
    assert conn.transport_options["name"] == "x"
    assert conn.ssl == 1
    explicit = Connection("memory://h/?polling_interval=0.5",
                          transport_options={"polling_interval": 2})
    assert explicit.transport_options["polling_interval"] == 2


def test_credential_provider_is_kept_and_travels_with_clones_and_pools():
    provider = object()
    conn = Connection("memory://", credential_provider=provider)
    assert conn.credential_provider is provider
    assert conn.clone().credential_provider is provider
    assert conn.info()["credential_provider"] is provider
    assert conn.Pool(limit=1).acquire().credential_provider is provider
    assert Connection("memory://").credential_provider is None


def test_resolve_aliases_name_the_transport_in_info():
    assert Connection.resolve_aliases == {"pyamqp": "amqp", "librabbitmq": "amqp"}
    conn = Connection("memory://")
    conn.resolve_aliases = {"memory": "in-process"}
    assert conn.info()["transport"] == "in-process"
    assert Connection("memory://").info()["transport"] == "memory"


def test_failover_strategy_and_transport_options_are_declared():
    conn = Connection("memory://", failover_strategy="shuffle",
                      transport_options={"polling_interval": 0.5})
    assert conn.failover_strategy is Connection.failover_strategies["shuffle"]
    assert conn.transport_options == {"polling_interval": 0.5}
    assert "transport_options" in Connection.__annotations__


def test_base_transport_states_it_does_not_parse_urls_and_closes_channels():
    from kombu.transport.base import Transport

    assert Transport.can_parse_url is False
    conn = Connection("memory://")
    channel = conn.channel()
    Transport(conn).close_channel(connection=channel)
    assert channel.closed
    conn.close()
