"""Replay and audit: the event log re-read with the live pipeline's own core.

`votewire replay` (Kafka -> a Redis namespace), `votewire archive export |
verify` (the log as a hash-chained archive), `votewire tally ARCHIVE_DIR`
(the offline fold, also of JSON-lines report files), `votewire audit` (two
sets of views compared, and the night's anomalies). See docs/replay.md.
"""
