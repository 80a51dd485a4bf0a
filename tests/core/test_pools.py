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
