"""kombu.aio: kombu's API as coroutines, on every transport.

::

    from kombu import Exchange, Queue
    from kombu.aio import Connection

    async with Connection("redis://localhost:6379/0") as conn:
        await conn.Producer().publish({"hello": "world"}, routing_key="q",
                                      declare=[Queue("q")])
        async with conn.Consumer([Queue("q")], prefetch_count=10) as consumer:
            async for message in consumer:
                print(message.payload)
                await message.ack()
                break

One model, two calling styles: exchanges, queues, serializers, messages and
exceptions are the blocking API's (:class:`kombu.aio.Message` is a
:class:`kombu.Message` acknowledged with ``await``).  Transports that state
``implements.asyncio`` (kombu-amqp, kombu-redis) run natively on the event
loop; every other one runs through the kernel's adapter, a worker thread per
connection (:mod:`kombu.aio.adapter`).  ``import kombu`` never imports this
package.
"""

from __future__ import annotations

from ..entity import binding
from .connection import Connection
from .contract import ADAPTER, NATIVE, AsyncChannel, AsyncTransport
from .entity import Exchange, Queue
from .message import Message
from .messaging import Consumer, Producer
from .simple import SimpleBuffer, SimpleQueue

__all__ = (
    "ADAPTER",
    "NATIVE",
    "AsyncChannel",
    "AsyncTransport",
    "Connection",
    "Consumer",
    "Exchange",
    "Message",
    "Producer",
    "Queue",
    "SimpleBuffer",
    "SimpleQueue",
    "binding",
)
