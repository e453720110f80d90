"""Fixing a whole corpus: restore's two learning passes, then the fix pass, over worker processes.

``restore`` must see the corpus before it changes anything (it learns over-scrubbed words from
the unscrubbed sentences of the dataset itself), so a corpus is read three times:

1. **survey**: scan each batch and note the contexts of markers restore may be asked about;
2. **learn**: count, over every batch, the words that fill those contexts where nothing was
   scrubbed;
3. **fix**: repair each batch with the learnt model, while the writer copies the file.

Each pass maps a task over batches with :class:`deidlint.parallel.Workers`, which runs it in
worker processes and returns results in input order. Workers get a copy of the fixer as it stands
when the pass starts (the learnt model included, for the fix pass) and send back what the main
process merges: context keys, filler counts, changed texts with their statistics. The merges
happen in corpus order, so the output and the statistics are the same for any ``--jobs``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

from deidlint.fix.fixer import Fixer
from deidlint.fix.restore import ContextKey
from deidlint.fix.stats import Drop, FixStats
from deidlint.parallel import Workers
from deidlint.readers import Batch

#: One batch to fix: its texts and the rule codes switched off for its file.
FixJob = tuple[Sequence[str], frozenset[str]]
#: A fixed batch as a worker returns it: (index, new text) of the changed texts, and statistics.
Fixed = tuple[list[tuple[int, str]], FixStats]


def survey_task(fixer: Fixer, texts: Sequence[str]) -> list[ContextKey]:
    """The survey pass on one batch: the restore contexts of its markers (the engines of
    :mod:`deidlint.partitions` run it too)."""
    return fixer.contexts(texts)


def count_task(fixer: Fixer, texts: Sequence[str]) -> dict[ContextKey, Counter[str]]:
    """The learn pass on one batch: its fillers of the surveyed contexts."""
    return fixer.model.count(texts)


def fix_task(fixer: Fixer, job: FixJob) -> Fixed:
    """The fix pass on one batch: its changed texts and its statistics (drops included)."""
    texts, ignored = job
    fixer.stats = FixStats()
    new = fixer.fix_batch(texts, ignored)
    return [(i, t) for i, (old, t) in enumerate(zip(texts, new, strict=True)) if t is not old and t != old], fixer.stats


def dropped_sentence(batch: Batch, drop: Drop) -> dict[str, object]:
    """One line of ``--report-drops``: the record (file, row, column, id), the sentence's offsets
    in its cell, what became of it and why; never the text."""
    i = drop.record
    return {"path": batch.paths[i], "row": batch.rows[i], "column": batch.column,
            "id": batch.ids[i] if batch.ids else None, "start": drop.start, "end": drop.end,
            "action": drop.action, "clinical": drop.clinical, "reason": drop.reason}


def record_name(line: dict[str, object]) -> str:
    """A record as the summary names it: ``path:row``, with the id where the data has one."""
    name = f"{line['path']}:{line['row']}"
    return f"{name} ({line['id']})" if line.get("id") is not None else name


class FixRun:
    """One ``fix`` over a corpus; use as a context manager around the fix pass.

    ``corpus`` is called once per learning pass and yields the texts of each batch.
    ``stats`` sums the statistics of every batch fixed; every sentence dropped, kept for review or
    masked as unresolved goes to ``drops`` as it comes (see :func:`dropped_sentence`), so memory
    stays flat however many there are; ``clinical_records`` names the records that lost a
    sentence with clinical content.
    """

    def __init__(self, fixer: Fixer, jobs: int = 1,
                 drops: Callable[[dict[str, object]], None] | None = None) -> None:
        self.fixer = fixer
        self.jobs = jobs
        self.stats = FixStats()
        self.clinical_records: dict[str, None] = {}
        self._drops = drops
        self._workers: Workers[Fixer] | None = None

    def learn(self, corpus: Callable[[], Iterable[Sequence[str]]]) -> None:
        """The survey and learn passes, when the strategies can restore anything."""
        fixer = self.fixer
        if not fixer.may_restore:
            return
        with Workers(self.jobs, fixer) as workers:
            for keys in workers.map(survey_task, corpus()):
                for key in keys:
                    fixer.model.need(key)
        if fixer.model.needed:
            with Workers(self.jobs, fixer) as workers:
                for counts in workers.map(count_task, corpus()):
                    fixer.model.merge(counts)

    def __enter__(self) -> FixRun:
        self._workers = Workers(self.jobs, self.fixer).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._workers is not None
        self._workers.__exit__(*exc)
        self._workers = None

    def edit(self, batches: Iterator[Batch], ignored: frozenset[str] = frozenset()) -> Iterator[tuple[Batch, list[str]]]:
        """The writers' edit stream (see :data:`deidlint.writers.Edit`) for one file; texts the
        fix leaves alone stay the same objects."""
        assert self._workers is not None, "use FixRun as a context manager"
        for batch, fixed in self._workers.map_along(fix_task, batches, lambda batch: (batch.texts, ignored)):
            assert fixed is not None
            changes, stats = fixed
            new = list(batch.texts)
            for i, text in changes:
                new[i] = text
            self.stats.add(stats)
            for drop in stats.drops:
                line = dropped_sentence(batch, drop)
                if drop.clinical and drop.action == "dropped":
                    self.clinical_records[record_name(line)] = None
                if self._drops is not None:
                    self._drops(line)
            yield batch, new
