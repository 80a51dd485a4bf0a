"""kombu.pools and the connection/channel pools: groups, limits, exhaustion, fork."""

from __future__ import annotations

import os
import threading
import time

import pytest

from kombu import Connection, Exchange, Queue, pools
from kombu.exceptions import ChannelLimitExceeded, ConnectionLimitExceeded, LimitExceeded
from kombu.resource import ChannelPool, ConnectionPool


@pytest.fixture(autouse=True)
def _clean_pools():
    previous = pools.get_limit()
    pools.reset()
    yield
    pools.reset()
    pools.set_limit(previous, force=True)


def _drain(conn: Connection, queue_name: str) -> list[object]:
    got: list[object] = []
    with conn.Consumer(Queue(queue_name), callbacks=[lambda b, m: (got.append(b), m.ack())]):
        while True:
            try:
                conn.drain_events(timeout=0.1)
            except TimeoutError:
                return got


def test_groups_key_pools_by_connection_parameters():
    a = pools.connections[Connection("memory://host-a")]
    assert pools.connections[Connection("memory://host-a")] is a
    assert pools.connections[Connection("memory://host-b")] is not a
    assert isinstance(a, ConnectionPool)
    assert Connection("memory://host-a") in pools.connections
    assert pools.producers[Connection("memory://host-a")].connections is a


def test_groups_accept_a_url():
    assert pools.connections["memory://by-url"] is pools.connections[Connection("memory://by-url")]


def test_global_limit_default_and_set_limit():
    assert pools.get_limit() == 10
    pool = pools.connections[Connection("memory://")]
    assert pool.limit == 10
    assert pools.set_limit(20) == 20
    assert pools.get_limit() == 20
    assert pool.limit == 20  # existing pools follow the global limit


def test_set_limit_cannot_shrink_pools_in_use_unless_forced():
    pools.set_limit(3)
    pool = pools.connections[Connection("memory://")]
    held = pool.acquire()
    with pytest.raises(RuntimeError, match="Cannot shrink"):
        pools.set_limit(1)
    pools.set_limit(1, force=True)
    assert pools.get_limit() == 1
    held.release()


def test_connection_pool_exhaustion_raises_connection_limit_exceeded():
    pool = Connection("memory://").Pool(limit=2)
    pool.acquire()
    pool.acquire()
    with pytest.raises(ConnectionLimitExceeded):
        pool.acquire()
    assert issubclass(ConnectionLimitExceeded, LimitExceeded)


def test_blocking_acquire_raises_after_the_timeout_asked_for():
    pool = pools.connections[Connection("memory://")]
    pool.resize(1)
    pool.acquire()
    started = time.monotonic()
    with pytest.raises(ConnectionLimitExceeded):
        pool.acquire(block=True, timeout=0.4)
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 1.5


def test_blocking_acquire_waits_for_a_release():
    pool = Connection("memory://").Pool(limit=1)
    conn = pool.acquire()
    threading.Timer(0.1, conn.release).start()
    assert pool.acquire(block=True, timeout=5) is conn


def test_with_block_returns_connection_to_pool_and_it_works():
    pool = Connection("memory://").Pool(limit=1)
    with pool.acquire() as conn:
        queue = conn.SimpleQueue("pooled-q")
        queue.put("hi")
        queue.close()
    with pool.acquire() as again:
        assert again is conn
        assert again.connected
        assert again.SimpleQueue("pooled-q").get(timeout=1).payload == "hi"


def test_acquired_connections_are_independent_clones():
    base = Connection("memory://clone-host", transport_options={"polling_interval": 0.05})
    pool = base.Pool(limit=2)
    a, b = pool.acquire(), pool.acquire()
    assert a is not b and a is not base
    assert a.hostname == "clone-host"
    assert a.transport_options == {"polling_interval": 0.05}


def test_connection_pool_without_limit_closes_on_release():
    pool = Connection("memory://").Pool()
    conn = pool.acquire()
    conn.connect()
    conn.release()
    assert not conn.connected


def test_channel_pool_limit_and_release():
    conn = Connection("memory://")
    pool = conn.ChannelPool(limit=2)
    assert isinstance(pool, ChannelPool)
    c1 = pool.acquire()
    c2 = pool.acquire()
    with pytest.raises(ChannelLimitExceeded):
        pool.acquire()
    c1.release()
    assert pool.acquire() is c1
    assert c2.connection.client is conn
    conn.close()


def test_producer_pool_publishes_and_returns_connection():
    conn = Connection("memory://")
    Queue("producer-pool-q")(conn.default_channel).declare()
    producer_pool = pools.producers[conn]
    conn_pool = pools.connections[conn]
    with producer_pool.acquire(block=True) as producer:
        producer.publish({"x": 1}, routing_key="producer-pool-q")
        assert len(conn_pool._dirty) == 1  # the producer holds a pooled connection
    assert len(conn_pool._dirty) == 0
    with producer_pool.acquire(block=True) as again:
        assert again is producer  # producers are reused ...
        again.publish({"x": 2}, routing_key="producer-pool-q")  # ... and revived
    assert _drain(conn, "producer-pool-q") == [{"x": 1}, {"x": 2}]
    conn.close()


def test_producer_pool_declares_exchange_and_limit():
    pools.set_limit(1)
    conn = Connection("memory://")
    exchange = Exchange("producer-pool-x", type="fanout")
    with pools.producers[conn].acquire(block=True) as producer:
        producer.publish({"a": 1}, exchange=exchange, declare=[exchange])
        with pytest.raises(LimitExceeded):
            pools.producers[conn].acquire()


def test_custom_groups():
    my_connections = pools.Connections(limit=2)
    my_producers = pools.Producers(limit=my_connections.limit)
    pool = my_connections[Connection("memory://")]
    assert pool.limit == 2
    assert my_producers[Connection("memory://")].limit == 2
    following = pools.Connections(limit=pools.use_default_limit)
    assert following[Connection("memory://")].limit == pools.get_limit()
    assert pools.use_default_limit is pools.use_global_limit
    assert pools.Connections() != pools.Connections()  # groups compare by identity


def test_register_group_puts_a_group_under_set_limit_and_reset():
    group = pools.register_group(pools.Connections(limit=pools.use_global_limit))
    try:
        pool = group[Connection("memory://")]
        pools.set_limit(7)
        assert pool.limit == 7
        pools.reset()
        assert len(group) == 0
    finally:
        pools._groups[:] = [g for g in pools._groups if g is not group]


def test_reset_closes_everything_and_empties_groups():
    pool = pools.connections[Connection("memory://")]
    conn = pool.acquire()
    conn.connect()
    pools.reset()
    assert not conn.connected
    assert len(pools.connections) == 0
    assert pools.connections[Connection("memory://")] is not pool


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pools_are_reset_in_a_forked_child():
    pool = pools.connections[Connection("memory://")]
    pool.acquire().connect()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = len(pools.connections) == 0 and len(pools.producers) == 0 and pool._closed
            os.write(write_end, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    result = os.read(read_end, 1)
    os.waitpid(pid, 0)
    os.close(read_end)
    assert result == b"1"
    assert len(pools.connections) == 1  # the parent keeps its pools
    assert not pool._closed


# -- a connection (or channel) that raised goes back closed ---------------------


class Boom(Exception):
    pass


def test_pooled_connection_that_raised_is_closed_before_it_goes_back():
    pool = Connection("memory://").Pool(limit=1)
    with pytest.raises(Boom):
        with pool.acquire() as conn:
            conn.connect()
            assert conn.connected
            raise Boom
    assert not conn.connected
    assert len(pool._dirty) == 0  # the slot is free again
    again = pool.acquire()
    assert again is conn and not again.connected
    # It reconnects on first use, whichever way that use comes.
    channel = again.channel()
    assert again.connected
    channel.close()
    again.SimpleQueue("after-error-q").put("back")
    assert again.SimpleQueue("after-error-q").get(timeout=1).payload == "back"
    again.release()


def test_pooled_connection_without_error_is_returned_connected():
    pool = Connection("memory://").Pool(limit=1)
    with pool.acquire() as conn:
        conn.connect()
    assert conn.connected  # kept open for the next user
    assert pool.acquire() is conn


def test_global_connection_pools_close_a_connection_that_raised():
    with pytest.raises(Boom):
        with pools.connections["memory://"].acquire(block=True) as conn:
            conn.connect()
            raise Boom
    assert not conn.connected
    with pools.connections["memory://"].acquire(block=True) as again:
        assert again is conn
        again.connect()
        assert again.connected


def test_producer_pool_closes_the_connection_of_a_producer_that_raised():
    conn = Connection("memory://")
    Queue("producer-raised-q")(conn.default_channel).declare()
    with pytest.raises(Boom):
        with pools.producers[conn].acquire(block=True) as producer:
            producer.publish({"n": 1}, routing_key="producer-raised-q")
            used = producer.connection
            assert used.connected
            raise Boom
    assert not used.connected
    assert len(pools.connections[conn]._dirty) == 0
    with pools.producers[conn].acquire(block=True) as again:
        assert not again.connection.connected  # handed out unconnected ...
        again.publish({"n": 2}, routing_key="producer-raised-q")  # ... reconnects
        assert again.connection.connected
    assert _drain(conn, "producer-raised-q") == [{"n": 1}, {"n": 2}]
    conn.close()


def test_producer_on_an_unpooled_connection_leaves_it_open_on_error():
    conn = Connection("memory://")
    conn.connect()
    with pytest.raises(Boom):
        with conn.Producer() as producer:
            producer.publish({"n": 1}, routing_key="unpooled-q")
            raise Boom
    assert conn.connected  # the application owns it: not ours to close
    conn.close()


def test_acquiring_a_producer_does_not_connect():
    # The connection is made on first publish, not when the pool hands it out.
    with pools.producers["memory://lazy-producer"].acquire(block=True) as producer:
        assert not producer.connection.connected


def test_channel_that_raised_is_closed_and_its_slot_gets_a_new_channel():
    conn = Connection("memory://")
    pool = conn.ChannelPool(limit=1)
    with pytest.raises(Boom):
        with pool.acquire() as channel:
            raise Boom
    assert channel.closed
    assert len(pool._dirty) == 0
    with pool.acquire() as fresh:
        assert fresh is not channel and not fresh.closed
        Queue("channel-pool-q")(fresh).declare()
    # Leaving a channel's with block closes it (as kombu's channels do); the
    # slot comes back either way, so the pool never runs dry.
    for _ in range(3):
        with pool.acquire() as ch:
            assert not ch.closed
    conn.close()


def test_released_channel_is_reused_and_close_after_release_is_harmless():
    conn = Connection("memory://")
    pool = conn.ChannelPool(limit=1)
    ch = pool.acquire()
    ch.release()
    assert pool.acquire() is ch
    ch.close()  # closed while acquired: the slot gets a new channel
    other = pool.acquire()
    assert other is not ch and not other.closed
    other.release()
    ch.release()  # a stale release does not hand out the dead channel
    assert pool.acquire() is other
    conn.close()


def test_acquire_channel_gives_a_pooled_connection_and_its_default_channel():
    pool = Connection("memory://").Pool(limit=1)
    with pool.acquire_channel(block=True) as (conn, channel):
        assert channel is conn.default_channel
        Queue("acquire-channel-q")(channel).declare()
    assert len(pool._dirty) == 0
    with pytest.raises(Boom):
        with pool.acquire_channel() as (conn, channel):
            raise Boom
    assert not conn.connected  # closed before it went back, as with acquire()


def test_pool_keyword_arguments_reach_the_resource_and_bad_ones_are_refused():
    conn = Connection("memory://")
    pool = conn.Pool(limit=2, preload=1)
    assert pool.preload == 1 and pool._resource.qsize() == 2
    with pytest.raises(TypeError, match="prefetch"):
        conn.ChannelPool(limit=1, prefetch=3)
