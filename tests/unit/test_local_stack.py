"""The local stack's pure parts (no servers started)."""

from __future__ import annotations

import sys

from votewire.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "deploy"))

from local_stack.kafka_cluster import new_cluster_id


def test_kafka_cluster_ids_never_look_like_an_option() -> None:
    """StorageTool's parser takes an id starting with '-' for an option (CI hit it once)."""
    ids = [new_cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids)
