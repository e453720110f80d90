"""Checking a dataset: sources -> batches -> one-pass scan -> findings, counted as they stream.

Findings are yielded one by one and never collected here, so a report of a 2 GB export is
written while it is read. The :class:`Summary` is complete once the iterator is exhausted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from deidlint.config import path_glob
from deidlint.engine import Scanner
from deidlint.errors import RecordError
from deidlint.findings import Finding, LineCounter, Summary
from deidlint.parallel import Workers
from deidlint.readers import Batch, ReadOptions, Source, read


@dataclass(slots=True)
class Check:
    """One run over many sources. Iterate it for findings (and skipped-record errors)."""

    sources: Sequence[Source]
    scanner: Scanner
    read_options: ReadOptions = field(default_factory=ReadOptions)
    per_path_ignores: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Characters of report text to show on each side of a marker; 0 shows none (the default).
    context_chars: int = 0
    #: Worker processes for scanning (1: scan in this process); see :mod:`deidlint.parallel`.
    jobs: int = 1
    summary: Summary = field(default_factory=Summary)

    def __iter__(self) -> Iterator[Finding | RecordError]:
        # Scanning a batch costs little next to sending it to a worker, so workers start only
        # for inputs of eight batches (32,768 records) or more.
        with Workers(self.jobs, self.scanner, min_payloads=8) as workers:
            for source in self.sources:
                yield from self._check_source(source, workers)

    def ignored_codes(self, path: str) -> frozenset[str]:
        """Codes switched off for *path* by ``per-path-ignores`` (code prefix, name or pack).

        The config anchors a glob with a folder in it at its own folder (see
        :func:`deidlint.config.load_config`), so it is matched against the file's absolute path,
        its folder resolved (as the config's is) but not the file itself: a glob names the link,
        not what it points to. A bare glob matches the file name. ``*`` stays within a folder and
        ``**/`` crosses folders (:func:`deidlint.config.path_glob`).
        """
        folder, name = os.path.split(os.path.abspath(path))
        where = PurePath(os.path.realpath(folder), name).as_posix()
        selectors = [s for glob, sels in self.per_path_ignores.items()
                     if path_glob(glob).match(where if "/" in glob else name) for s in sels]
        return frozenset(r.code for r in self.scanner.rules if any(r.selected_by(s) for s in selectors))

    def _check_source(self, source: Source, workers: Workers[Scanner]) -> Iterator[Finding | RecordError]:
        summary = self.summary
        summary.files += 1
        ignored = self.ignored_codes(source.path)
        rows_seen = 0
        # Records with findings, counted per row range: the readers hand over the batches of
        # one range (one per text column) one after another, so a set of one range's rows is
        # all a count of distinct records needs, however large the file.
        range_start = -1
        hit_rows: set[int] = set()
        items = read(source, self.read_options)
        for batch, spans in workers.map_along(located, items, _texts_of):
            if isinstance(batch, RecordError):
                summary.errors += 1
                rows_seen = max(rows_seen, batch.record + 1)
                yield batch
                continue
            assert spans is not None
            if batch.rows:
                rows_seen = max(rows_seen, batch.rows[-1] + 1)
                if batch.rows[0] != range_start:
                    summary.records_with_findings += len(hit_rows)
                    range_start, hit_rows = batch.rows[0], set()
            texts, rows, ids, paths, column = batch.texts, batch.rows, batch.ids, batch.paths, batch.column
            if ignored:
                spans = [span for span in spans if span[3] not in ignored]
            summary.findings += len(spans)
            summary.by_rule.update(span[3] for span in spans)
            hit_rows.update(rows[span[0]] for span in spans)
            rule_of, chars = self.scanner.rule_of, self.context_chars
            for index, start, end, code, line, col in spans:
                text = texts[index]
                context = text[max(0, start - chars):end + chars] if chars else None
                yield Finding(paths[index], rows[index], ids[index] if ids else None, column,
                              start, end, line, col, rule_of[code], text[start:end], context)
        summary.records += rows_seen
        summary.records_with_findings += len(hit_rows)


def _texts_of(item: Batch | RecordError) -> Sequence[str] | None:
    return None if isinstance(item, RecordError) else item.texts


def located(scanner: Scanner, texts: Sequence[str]) -> list[tuple[int, int, int, str, int, int]]:
    """A batch's spans with the line and column of each (the per-finding work that can run in a
    worker, or in a Dask or ``datasets`` task: :mod:`deidlint.partitions`)."""
    lines = LineCounter()
    return [(i, start, end, code, *lines.at(texts[i], start)) for i, start, end, code in scanner.spans(texts)]
