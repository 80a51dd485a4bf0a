"""The fault scenarios: each publishes a numbered stream, injects one fault and counts.

Mixed into :class:`~.suite.FaultSuite`; each scenario returns the
:class:`~.events.Tally` (and notes) it measured, which the suite records and
then checks: nothing lost, nothing delivered twice after an ack, unless the
target states why its broker cannot offer that.  No pytest here.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from .envelopes import RAW_ENVELOPES, EnvelopeWriter, accepted, bad_publishes
from .events import Tally, read_events
from .proxy import TcpProxy
from .runtime import Run, Target, wait_until
from .servers import OwnServer, with_address

__all__ = ("Scenarios",)

#: How long the network stays cut.
CUT_SECONDS = 10.0


class Scenarios:
    """The scenario bodies; ``stream`` messages each (fewer where a fault must land mid-stream)."""

    stream = 200

    # -- SIGKILL ------------------------------------------------------------------

    def run_consumer_sigkill(self, target: Target, run: Run) -> tuple[Tally, str]:
        run.publish(range(self.stream))
        victim = run.spawn("consume", prefetch=20, hold_after=40)
        assert wait_until(lambda: run.count("note") >= 5 and
                          run.count("ack-done", victim.config["who"]) >= 40, 60), \
            "the first consumer never held prefetched messages"
        held = run.count("got", victim.config["who"]) - 40
        victim.signal(signal.SIGKILL)
        victim.wait(10)
        run.spawn("consume", prefetch=10)
        wait_until(run.all_consumed, (target.lease or 0) + 30)
        run.stop_workers()
        tally = run.sweep((target.lease or 0) + 10)
        return tally, f"killed holding {held} prefetched unacked"

    def run_producer_sigkill(self, target: Target, run: Run) -> tuple[Tally, str]:
        producer = run.spawn("produce", start=0, count=10**6)
        assert wait_until(lambda: run.count("pub-done") >= 300, 60), "the producer stalled"
        producer.signal(signal.SIGKILL)
        producer.wait(10)
        run.spawn("consume", prefetch=50)
        wait_until(run.all_consumed, 30)
        run.stop_workers()
        tally = run.sweep(10)
        return tally, f"killed after {tally.published} publishes returned"

    # -- the broker or the network goes away --------------------------------------

    def run_broker_restart(self, target: Target, run: Run, server: OwnServer | None,
                           proxy: TcpProxy | None) -> tuple[Tally, str]:
        run.spawn("consume", prefetch=10)
        run.spawn("produce", start=0, count=self.stream * 2, pause=0.01)
        assert wait_until(lambda: run.count("pub-done") >= self.stream // 2, 60)
        if server is not None:
            server.restart(down=1.0)
            what = "server restarted (SIGTERM, 1 s down)"
        else:
            assert proxy is not None
            proxy.stop()
            time.sleep(1.0)
            proxy.start()
            what = "proxy restarted: every connection closed, 1 s refused; broker untouched"
        assert wait_until(lambda: _produced(run), 120), \
            "the producer never finished after the restart"
        wait_until(run.all_consumed, (target.lease or 0) + 60)
        run.stop_workers()
        return run.sweep((target.lease or 0) + 15), what

    def run_network_cut(self, target: Target, run: Run, proxy: TcpProxy) -> tuple[Tally, str]:
        run.spawn("consume", prefetch=10)
        run.spawn("produce", start=0, count=self.stream * 2, pause=0.02)
        assert wait_until(lambda: run.count("pub-done") >= self.stream // 2, 60)
        proxy.cut()
        time.sleep(CUT_SECONDS)
        proxy.restore()
        assert wait_until(lambda: _produced(run), 120), \
            "the producer never finished after the network came back"
        wait_until(run.all_consumed, (target.lease or 0) + 60)
        run.stop_workers()
        return run.sweep((target.lease or 0) + 15), f"cut {CUT_SECONDS:.0f} s, then restored"

    # -- work longer than the lease ---------------------------------------------------

    def run_slow_consumer(self, target: Target, run: Run) -> tuple[Tally, str]:
        lease = target.lease or 1.0
        work = min(2.5 * lease, 10.0)
        run.publish(range(12))
        slow = run.spawn("consume", prefetch=3, work=work)
        assert wait_until(lambda: run.count("got", slow.config["who"]) >= 1, 30)
        time.sleep(0.5)  # let it prefetch two more, held behind the one it works on
        run.spawn("consume", prefetch=10)
        wait_until(run.all_consumed, 3 * work + 30)
        run.stop_workers()
        return run.sweep(5), f"work {work:.1f} s per message, lease {lease:g} s"

    # -- bad input ------------------------------------------------------------------------

    def run_bad_input(self, target: Target, run: Run,
                      writer: EnvelopeWriter | None) -> tuple[Tally, str, dict[str, Any]]:
        wire = bad_publishes()
        raw = list(RAW_ENVELOPES.items()) if writer is not None else []
        n = 0
        with target.connection() as conn:
            producer = conn.Producer(auto_declare=False)

            def good(**kwargs: Any) -> None:
                nonlocal n
                run.log.write("pub-start", n)
                producer.publish({"n": n, **kwargs}, routing_key=run.queue, delivery_mode=2)
                run.log.write("pub-done", n)
                n += 1

            good()
            for _kind, kwargs in wire:
                producer.publish(routing_key=run.queue, delivery_mode=2, **kwargs)
                good()
            # Oversized, but valid: must arrive intact.  Under a transport's stated
            # max_message_size (its publish must refuse more: the kit checks that).
            limit = getattr(conn.transport, "max_message_size", None)
            good(pad="x" * (limit // 2 if limit else 4 << 20))
            for _kind, payload in raw:
                assert writer is not None
                writer[0](conn, run.queue, payload(run.queue))
                good()
        injected = len(wire) + len(raw)
        consumer = run.spawn("consume", prefetch=5, accept=accepted())

        def set_aside() -> int:
            if writer is None or writer[1] is None:
                return 0
            with target.connection() as conn:
                return writer[1](conn, run.queue)

        def as_is() -> int:  # delivered to the callback undecoded (e.g. no content type)
            return sum(1 for _w, e, v in read_events(run.log_path)
                       if e == "got" and v[:1] in (["None"], ["-1"]))

        wait_until(lambda: run.all_consumed() and
                   run.count("bad") + set_aside() + as_is() >= injected, 30)
        time.sleep(1.5)  # a consumer spinning on a bad message shows here
        alive = consumer.alive()
        run.stop_workers()
        tally = run.sweep(5)
        aside = set_aside()
        left = run.size()
        detail = {"injected": injected, "reported": tally.bad_reported, "set_aside": aside,
                  "delivered_as_is": as_is(),
                  "left_in_queue": left, "consumer_alive": alive,
                  "raw_envelopes": len(raw)}
        note = (f"{injected} bad ({len(wire)} on the wire, {len(raw)} written to storage): "
                f"{tally.bad_reported} reported to on_decode_error, {aside} set aside, "
                f"{detail['delivered_as_is']} delivered as they were")
        return tally, note, detail


def _produced(run: Run) -> bool:
    return any(e == "note" and v[:1] == ["producer-done"] for _w, e, v in
               read_events(run.log_path))


def own_url(target: Target, port: int) -> Target:
    return Target(target.name, with_address(target.url, port), dict(target.options),
                  target.heartbeat, target.cross_process, target.lease)
