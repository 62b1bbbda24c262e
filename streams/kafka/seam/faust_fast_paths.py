"""The worker's fast paths (HOOKLOG_WORKER_FAST_PATHS): faust-streaming's per-record machinery,
made cheaper where that changes nothing observable (issue 12; bench/faust_floor.py measures it):

- a direct delivery instead of mode's `Service.wait_first` in `Consumer._drain_messages` when
  the delivery cannot block (flow active, no rebalance suspending it, room in every queue of
  the partition's channels, the producer buffer below its limit); otherwise `wait_first` as
  before, so a rebalance or a stop still interrupts a blocked delivery. `wait_first` costs 4
  `ensure_future`, an `asyncio.wait` and 3 cancels per record;
- the Monitor's four per-record hooks as no-ops, keeping `stream_inbound_time`, which Faust's
  slow-processing check (`verify_event_path`) reads;
- the raw topic's records made events as they are (`RawBytesSchema`), without Faust's
  serializer registry and settings lookups per record (the `raw` codec returns the bytes anyway).

Installed only on the versions they were read against (`pins.versions_drift()` empty);
otherwise the worker runs stock Faust and logs why.
"""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import Any, AsyncIterator, cast

from faust import Schema
from faust.sensors.monitor import Monitor
from faust.transport.consumer import CONSUMER_FETCHING
from mode import Service

from floor.seam.pins import relies_on
from streams.kafka.seam.faust_transport import RewindingConsumer, RewindingTransport, install_transport


def _deliverable_now(consumer: Any) -> Any:
    """A check `tp -> callback or None`: the conductor's handler for `tp` when calling it cannot
    suspend, i.e. every `await` on its path returns at once. Read from the handler's source
    (`Conductor._compile_message_handler`, `conductor.ConductorCompiler.build`): it waits
    on the conductor's lock, on `app.flow_control.acquire()` (suspended during a rebalance), on
    `producer.buffer.wait_until_ebb()` (above `max_messages`), and on `chan.put` when a
    channel's queue is full; decoding raw bytes does not wait. The same holds for the Cython
    `ConductorHandler` Faust builds when it is compiled (faust/transport/_cython/conductor.pyx).
    The handler is looked up without the conductor's lock only while nobody holds it (the
    holders never await while holding it), as `Conductor.on_message` would find it."""
    app = consumer.app
    conductor = app.topics
    handlers, channels_of, lock = conductor._tp_to_callback, conductor._tp_index, conductor._tp_to_callback_lock  # noqa: SLF001
    flow_active = app.flow_control.is_active
    suspended = consumer.suspend_flow.is_set
    stopped, crashed = consumer._stopped.is_set, consumer._crashed.is_set  # noqa: SLF001
    buffer = app.producer.buffer
    # `ProducerBuffer.size` reads `app.conf` per call (~2% of the floor's CPU, twice per record
    # with the handler's own check): without a threaded producer it is the pending queue's size.
    pending = None if app.conf.producer_threaded else buffer.pending

    def handler_for(tp: Any) -> Any:
        if suspended() or stopped() or crashed() or not flow_active() or lock.locked():
            return None
        if (buffer.size if pending is None else pending.qsize()) > buffer.max_messages:
            return None
        channels = channels_of.get(tp)
        if not channels or any(chan.queue.full() for chan in channels):
            return None
        return handlers.get(tp)

    return handler_for


@relies_on(("faust.transport.consumer:Consumer._drain_messages", "44a2500309e83c63"),
           ("faust.transport.consumer:Fetcher._fetcher", "68f894f0b577d810"),
           ("faust.transport.conductor:Conductor._compile_message_handler", "9fbc0538097aa4ec"),
           ("faust.transport.conductor:ConductorCompiler.build", "837cf521368c1ee4"),
           ("file:faust.transport._cython/conductor.pyx", "dde1f974267881cf"),
           ("faust.transport.producer:ProducerBuffer.wait_until_ebb", "758dd5744044071b"),
           ("faust.transport.producer:ProducerBuffer.size", "b543a978fdece62e"),
           ("mode.utils.queues:FlowControlEvent.acquire", "ed0208e866e64d0b"))
class FastDeliveryConsumer(RewindingConsumer):
    """Faust's aiokafka consumer with `_drain_messages` copied from faust-streaming 0.15.3, the
    one change marked: a delivery that cannot block is awaited directly."""

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - run by the e2e tests
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        handler_for = _deliverable_now(self)  # hooklog

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = cast(AsyncIterator, getmany(timeout=1.0))
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            handler = handler_for(tp)  # hooklog: the one change
                            if handler is not None:
                                await handler(message)
                            else:
                                await self.wait_first(callback(message), self.suspend_flow.wait())
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev("DROPPED MESSAGE ROFF %r: k=%r v=%r", offset, message.key, message.value)
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class FastDeliveryTransport(RewindingTransport):
    """hooklog's transport, creating `FastDeliveryConsumer`s."""

    Consumer = FastDeliveryConsumer


@relies_on(("faust.sensors.monitor:Monitor.on_message_in", "b2a9a9045b2f456c"),
           ("faust.sensors.monitor:Monitor.on_stream_event_in", "df6d2e5f6397ce44"),
           ("faust.sensors.monitor:Monitor.on_stream_event_out", "2d2277a6dbda754c"),
           ("faust.sensors.monitor:Monitor.on_message_out", "7c4054247cde96c3"),
           ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.verify_event_path", "b983e7735f647cb3"))
class LeanMonitor(Monitor):
    """Faust's Monitor without its per-record bookkeeping (counters, per-stream and per-task
    names, a timing dict per event): nothing of hooklog reads it (the worker's own metrics are
    streams/worker/metrics.py). `stream_inbound_time` is kept: `verify_event_path` reads it to
    log a stalled stream."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> dict | None:
        self.stream_inbound_time[tp] = monotonic()
        return None

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any, state: dict | None = None) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None


@relies_on(("faust.serializers.schemas:Schema.compile", "d46eec5ce3195b2c"),
           ("faust.app.base:App.create_event", "15fea3d1e95e6625"))
class RawBytesSchema(Schema):
    """A topic of raw bytes keys and values whose records become events as they are: Faust's
    compiled decode (`Schema.compile`) looks up three settings and goes through the serializer
    registry and the `raw` codec per record, which return the same bytes. The event is made as
    `App.create_event` makes it (the `Event` setting's class)."""

    def __init__(self) -> None:
        super().__init__(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def compile(self, app: Any, *, on_key_decode_error: Any = None, on_value_decode_error: Any = None,
                default_propagate: bool = False) -> Any:
        event = app.conf.Event

        async def decode(message: Any, *, propagate: bool = default_propagate) -> Any:
            return event(app, message.key, message.value, message.headers, message)

        return decode


def install_fast_delivery(app: Any) -> None:
    """Give `app` the fast-delivery transport; before anything asked for `app.transport`."""
    install_transport(app, FastDeliveryTransport)


def fast_path_settings(enabled: bool) -> dict[str, Any]:
    """The `faust.App(...)` settings of the fast paths (`Monitor`), none when not `enabled`."""
    return {"Monitor": LeanMonitor} if enabled else {}
