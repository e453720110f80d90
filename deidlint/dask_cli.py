"""``deidlint check|fix --dask local`` and ``--dask-scheduler ADDRESS``: the command line on Dask.

Inputs are globs or fsspec URLs of Parquet, CSV/TSV or JSONL (gzip too, except Parquet), read
with Dask's readers, each file tagged with its name so that findings name file and row as the
command line does. ``check`` reports through the command line's own reporters, in its order,
streamed; ``fix`` writes one file per partition (``part.00000.parquet``, ...) into the ``-o``
folder, in the input's format or ``--output-format``, a partition that is a whole local file
through the command line's own writer (so with its bytes). A CSV file is one partition: a reader
that splits a file at byte offsets would cut the quoted, hard-wrapped reports apart. Nothing here
imports Dask until a run asks for it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from deidlint.errors import InputError, MissingExtra, UsageError
from deidlint.findings import Finding, Summary
from deidlint.readers import ReadOptions, Source, source_for

if TYPE_CHECKING:
    from deidlint.checking import Check
    from deidlint.fix.fixer import Fixer

#: The column that carries each row's file name through Dask (dropped before writing).
PATH = "__deidlint_path__"
#: Bytes per JSONL partition (Parquet partitions follow the files' own row groups).
JSONL_BLOCK_BYTES = 64 << 20
_SUFFIX = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--dask local`` and ``--dask-scheduler ADDRESS`` (check and fix)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dask", choices=("local",),
                       help="run on a Dask LocalCluster of -j worker processes; PATHs may be globs or fsspec URLs")
    where.add_argument("--dask-scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler listens at ADDRESS (tcp://host:8786)")


def requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "dask", None) or getattr(args, "dask_scheduler", None))


@contextmanager
def cluster(args: argparse.Namespace, jobs: int) -> Iterator[None]:
    """A ``distributed.Client`` for the run: a LocalCluster of *jobs* workers, or the scheduler named."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise MissingExtra("--dask", "dask", "distributed") from None
    if args.dask == "local":
        with LocalCluster(n_workers=jobs, threads_per_worker=1, dashboard_address=None,
                          silence_logs=logging.ERROR) as local, Client(local):
            yield
        return
    try:
        client = Client(args.dask_scheduler, timeout="5s")
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {args.dask_scheduler}: {str(exc).splitlines()[0]}") from None
    with client:
        yield


def expand(paths: Sequence[str]) -> list[Source]:
    """Every file the globs and URLs name, sorted within each pattern, in a format Dask reads."""
    try:
        import fsspec
    except ImportError:
        raise MissingExtra("--dask", "dask", "dask[dataframe]") from None
    sources = []
    for pattern in paths:
        fs, _, found = fsspec.get_fs_token_paths(pattern)
        if not found:
            raise InputError(f"{pattern}: no such file")
        local = _is_local(fs)
        for path in sorted(found):
            name = (os.path.relpath(path) if not os.path.isabs(pattern) else path) if local else fs.unstrip_protocol(path)
            source = source_for(name)
            if source is None or source.fmt == "txt":
                raise InputError(f"{name}: --dask reads .parquet, .csv, .tsv and .jsonl (optionally .gz) files")
            sources.append(source)
    return sources


def _is_local(fs: Any) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def _is_url(path: str) -> bool:
    return "://" in path


def frame(sources: Sequence[Source], opts: ReadOptions) -> Any:
    """One Dask DataFrame of every source, each row tagged with its file in :data:`PATH`."""
    import dask.dataframe as dd

    frames = []
    for s in sources:
        compression = "gzip" if s.gzip else None
        if s.fmt == "parquet":
            ddf = dd.read_parquet(s.path)
        elif s.fmt == "jsonl":
            ddf = dd.read_json(s.path, lines=True, blocksize=None if s.gzip else JSONL_BLOCK_BYTES, dtype=False,
                               convert_dates=False, compression=compression, encoding=opts.encoding)
        else:
            ddf = dd.read_csv(s.path, sep="\t" if s.fmt == "tsv" else ",", dtype=str, keep_default_na=False,
                              na_filter=False, blocksize=None, compression=compression, encoding=opts.encoding)
        frames.append(ddf.assign(**{PATH: s.path}))
    return frames[0] if len(frames) == 1 else dd.concat(frames)


def columns_of(ddf: Any, opts: ReadOptions) -> list[str]:
    """The columns named, else those with a value holding white space anywhere (as the readers choose)."""
    from deidlint.dask import spaced_columns, text_columns

    if opts.columns:
        return text_columns(ddf, opts.columns)
    if opts.id_column:
        text_columns(ddf, [opts.id_column])
    return spaced_columns(ddf, text_columns(ddf, None, PATH, opts.id_column))


class DaskCheck:
    """``check`` on Dask, iterated like :class:`deidlint.checking.Check` by ``cmd_check``; *base*
    holds the scanner, the read options and ``per-path-ignores``."""

    def __init__(self, base: Check, args: argparse.Namespace, jobs: int) -> None:
        if args.baseline or args.show_context:
            raise UsageError("--baseline and --show-context are not supported with --dask")
        self.base, self.args, self.jobs = base, args, jobs
        self.sources = expand(args.paths)
        if args.format in ("sarif", "github") and any(_is_url(s.path) for s in self.sources):
            raise UsageError(f"--format {args.format} points at file lines, which a remote file has none of here; "
                             "use --format json")
        self.read_options = base.read_options
        self.summary = Summary()

    def __iter__(self) -> Iterator[Finding]:
        from deidlint.dask import findings_in_order, layout

        scanner, opts = self.base.scanner, self.read_options
        with cluster(self.args, self.jobs):
            ddf = frame(self.sources, opts)
            columns = columns_of(ddf, opts)
            plan = layout(ddf, PATH)
            ignored = {s.path: self.base.ignored_codes(s.path) for s in self.sources}
            self.summary = Summary(files=len(self.sources), records=sum(plan.rows.values()))
            for row in findings_in_order(ddf, scanner, columns, plan, PATH, "", opts.id_column, ignored,
                                         self.summary, window=2 * self.jobs):
                path, record, id_, column, start, end, line, col, code = row[:9]
                yield Finding(path, record, id_, column, start, end, line, col, scanner.rule_of[code], row[12])


def _write(df: Any, url: str, fmt: str, stats: Any, drops: list[dict[str, object]]) -> tuple[Any, list[dict[str, object]]]:
    """One fixed partition written to *url* (any fsspec URL) from its frame, whole or not at all:
    the values are the command line's, the bytes pandas' (see :func:`_rewrite` for when they are
    the command line's too). Passes on the partition's statistics and drops."""
    import fsspec

    df = df.drop(columns=[PATH])
    with fsspec.open(url + ".partial", "wb") as handle:
        if fmt == "parquet":
            df.to_parquet(handle, index=False)
        elif fmt == "jsonl":
            handle.write(df.to_json(orient="records", lines=True, force_ascii=False).encode())
        else:
            handle.write(df.to_csv(index=False, sep="\t" if fmt == "tsv" else ",").encode())
    fs, path = fsspec.core.url_to_fs(url)
    fs.mv(path + ".partial", path)
    return stats, drops


def _rewrite(fixer: Fixer, source: Source, opts: ReadOptions, path: str, fmt: str,
             ignored: frozenset[str]) -> tuple[Any, list[dict[str, object]]]:
    """A partition that is one whole local file, fixed and written by the command line's own
    reader and writer (:func:`deidlint.writers.rewrite`): the bytes are the command line's, every
    unchanged record and cell as it was. Returns the statistics and ``--report-drops`` lines.

    The fixer is copied: a fix keeps per-batch state on it, and a worker may run tasks in threads."""
    import copy
    from functools import partial

    from deidlint.fix.run import FixRun
    from deidlint.outputs import Output
    from deidlint.writers import rewrite

    drops: list[dict[str, object]] = []
    run = FixRun(copy.copy(fixer), 1, drops.append)
    with run:
        rewrite(source, opts, Output(path, fmt, False), partial(run.edit, ignored=ignored))
    return run.stats, drops


def _output_folder(out: str) -> Any:
    """The ``-o`` folder as an fsspec file system and path; it must be new or empty."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(out)
    if fs.exists(path) and (not fs.isdir(path) or fs.ls(path)):
        raise UsageError(f"-o {out}: with --dask the output is a folder of partitions; name a new or empty one")
    fs.makedirs(path, exist_ok=True)
    return fs, path


def fix(args: argparse.Namespace, fixer: Fixer, base: Check, jobs: int) -> tuple[Any, list[dict[str, object]], int]:
    """``fix`` on Dask: restore's passes, then every partition fixed and written (unless
    ``--dry-run``). Returns the summed statistics, every ``--report-drops`` line, the file count."""
    from dataclasses import replace

    from dask.base import compute
    from dask.delayed import delayed

    from deidlint.dask import fixed_parts, learnt
    from deidlint.fix.stats import FixStats

    if args.in_place or args.diff or args.output == "-":
        raise UsageError("with --dask, fix writes a folder of partitions: use -o FOLDER (no --in-place, --diff or -o -)")
    sources = expand(args.paths)
    fmt = args.output_format or sources[0].fmt
    opts = base.read_options
    by_path = {s.path: s for s in sources}
    with cluster(args, jobs):
        ddf = frame(sources, opts)
        columns = columns_of(ddf, opts)
        if not args.dry_run:
            fs, folder = _output_folder(args.output)
            local = _is_local(fs)
        plan = learnt(ddf, fixer, columns, PATH, "")
        ignored = {s.path: base.ignored_codes(s.path) for s in sources}
        parts = fixed_parts(ddf, fixer, columns, plan, PATH, "", opts.id_column, ignored)
        if args.dry_run:
            done = list(zip(*compute([s for _, s, _ in parts], [d for _, _, d in parts]), strict=True))
        else:
            shared, chosen = delayed(fixer, pure=True), replace(opts, columns=tuple(columns))
            tasks = []
            for i, (fixed, stats, drops) in enumerate(parts):
                url = f"{folder}/part.{i:05d}{_SUFFIX[fmt]}"
                whole = plan.whole(i)
                if local and whole is not None and not _is_url(whole):
                    tasks.append(delayed(_rewrite, nout=2)(shared, by_path[whole], chosen, url, fmt, ignored[whole]))
                else:
                    tasks.append(delayed(_write, nout=2)(fixed, fs.unstrip_protocol(url), fmt, stats, drops))
            done = compute(*tasks)
    stats = [s for s, _ in done]
    drops = [d for _, d in done]
    total = FixStats()
    for done in stats:
        total.add(done)
    print(f"wrote {len(parts)} partition(s) to {args.output}" if not args.dry_run else
          f"would write {len(parts)} partition(s)", file=sys.stderr)
    return total, [line for lines in drops for line in lines], len(sources)
