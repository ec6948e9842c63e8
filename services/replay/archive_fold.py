"""The offline replay: fold an archive's reports with no Kafka and no Redis.

`fold_archive(archive, window=...)` takes the definitions from the archive
(per election the newest one, as `log_fold.definitions_of` reads them) unless
given, then folds the reports file in archive order (partition by partition,
offset order: the order the live pipeline saw each race's reports) with
`log_fold.LogFold`. Every record is checked against the hash chain as it is
read (`ArchiveBroken` at the first break). The views are those a Kafka
replay of the same log and window gives, `version` fields included.
"""

from __future__ import annotations

from collections.abc import Mapping

from votewire.core.models import ElectionDefinition
from votewire.progress import Progress
from votewire.replay.archive_reader import Archive
from votewire.replay.as_of import Window
from votewire.replay.log_fold import FoldObserver, LogFold, definitions_of


class NoDefinition(LookupError):
    """The archive holds no definition (of the wanted election)."""


def archive_definitions(
    archive: Archive, window: Window | None = None
) -> dict[str, ElectionDefinition]:
    return definitions_of(archive.records("definitions"), window)


def pick_election(definitions: Mapping[str, ElectionDefinition], wanted: str | None) -> str:
    """The election to fold: `wanted`, or the only one there is."""
    if wanted is not None:
        if wanted not in definitions:
            known = ", ".join(sorted(definitions)) or "none"
            raise NoDefinition(f"no definition of election {wanted!r} (archive has: {known})")
        return wanted
    if len(definitions) != 1:
        known = ", ".join(sorted(definitions)) or "none"
        raise NoDefinition(f"choose an election with --election (archive has: {known})")
    return next(iter(definitions))


def fold_archive(
    archive: Archive,
    *,
    window: Window | None = None,
    election: str | None = None,
    definitions: Mapping[str, ElectionDefinition] | None = None,
    observer: FoldObserver | None = None,
    progress: Progress | None = None,
) -> LogFold:
    """Fold the archive's reports of one election (see the module doc)."""
    found = dict(definitions) if definitions is not None else archive_definitions(archive, window)
    chosen = pick_election(found, election)
    fold = LogFold(found, window, observer, elections=[chosen])
    if progress is not None:
        progress.set_total(archive.count("reports"))
    count = 0
    for record in archive.records("reports"):
        fold.offer(record)
        count += 1
        if progress is not None:
            progress.update(count)
    if progress is not None:
        progress.finish(count)
    return fold
