"""A faust table whose writes name their changelog partition (`ports.StateTable`).

A plain faust table sends each change to the changelog partition of the
"current event". The stages fold batches (`stream.noack_take`) that mix
partitions, so there is no single current event: `RoutedTable.put(key,
value, partition)` writes with the partition of the record that caused the
change, which keeps the changelog co-partitioned with the stage's input
(what faust's recovery assumes when it restores a partition's state on the
worker that now owns it).

Keys and values are raw bytes (faust's serializers stay out of the way).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust


class RoutedTable(faust.Table[bytes, bytes]):
    _route: int | None = None

    def partition_for_key(self, key: Any) -> int | None:
        if self._route is None:
            raise TypeError(f"table {self.name}: write with put(key, value, partition)")
        return self._route

    def put(self, key: bytes, value: bytes, partition: int) -> None:
        self._route = partition
        try:
            self[key] = value
        finally:
            self._route = None

    def get(self, key: bytes, default: Any = None) -> Any:
        return self.data.get(key, default)

    def entries(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) held, standby and stale partitions included (a snapshot)."""
        return iter(list(self.data.items()))


def routed_table(app: faust.App, name: str, partitions: int) -> RoutedTable:
    """Declare a `RoutedTable` on `app` (like `app.Table`, raw bytes in and out)."""
    table = RoutedTable(
        app,
        name=name,
        beacon=app.tables.beacon,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
    )
    app.tables.add(table)
    return table
