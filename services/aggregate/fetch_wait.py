"""faust's aiokafka transport with a configurable fetch wait.

faust-streaming builds its worker's aiokafka consumer with
`fetch_max_wait_ms=1500`, fixed. aiokafka prefetches: a fetch request
covers only the partitions with no records still buffered, and the broker
holds it until one of *those* partitions gets data or the wait expires.
Records arriving meanwhile on a partition left out of the pending request
(one just drained) wait for that request to come back: up to 1.5 s. With
three input topics and a busy CPU this was the aggregate's largest latency
(e2e p50 1.5 s at 200 reports/s, 0.3 s with a 10 ms wait; bench/bench_e2e.py).
The default stays at 1500 ms: see docs/aggregate.md for why.

`install(app, fetch_wait_ms)` gives `app` a transport whose worker consumer
uses `fetch_wait_ms`. It sets aiokafka's constructor-time attribute before
the consumer starts, and refuses to start the consumer if aiokafka renamed it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

_ATTRIBUTE = "_fetch_max_wait_ms"


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    fetch_wait_ms: ClassVar[int] = 1500

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, _ATTRIBUTE):  # read by AIOKafkaConsumer.start()
            raise RuntimeError(f"aiokafka has no {_ATTRIBUTE}; cannot set the fetch wait")
        setattr(consumer, _ATTRIBUTE, self.fetch_wait_ms)
        return consumer


def install(app: faust.App, fetch_wait_ms: int) -> None:
    """Make `app`'s worker consumer hold empty fetches at most `fetch_wait_ms`."""
    thread = type("ConsumerThread", (_ConsumerThread,), {"fetch_wait_ms": fetch_wait_ms})

    class Consumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return thread(self, loop=self.loop, beacon=self.beacon)

    class Transport(faust_aiokafka.Transport):
        pass

    Transport.Consumer = Consumer
    app.transport = Transport(app.conf.broker_consumer, app)
