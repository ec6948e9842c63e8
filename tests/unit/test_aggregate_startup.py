"""Startup: the catalog and the Redis writer started once; a failed catalog start retried."""

from __future__ import annotations

import pytest
from votewire.aggregate.adapters import Startup


class FlakyCatalog:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            raise ConnectionError("Kafka unreachable")


class Writer:
    def __init__(self) -> None:
        self.starts = 0

    def start(self) -> None:
        self.starts += 1


async def test_a_failed_catalog_start_is_tried_again_and_the_writer_starts_once() -> None:
    catalog, writer = FlakyCatalog(failures=1), Writer()
    startup = Startup(catalog, writer)
    with pytest.raises(ConnectionError):
        await startup.ready()
    await startup.ready()  # the caller's retry: a second start, which works
    await startup.ready()  # started: nothing more
    assert (catalog.starts, writer.starts) == (2, 1)
