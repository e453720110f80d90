"""Where ``fix`` writes: one output per input, whose name and bytes agree.

A name is a promise to the next tool: ``out.jsonl`` holding CSV bytes is read as broken JSON,
``-o one.csv`` for a folder of inputs would become a folder called ``one.csv``, and an output
inside the input folder is read back as input by the next run. So every destination is decided,
and refused with one line, before anything is read or written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from deidlint.atomic import refuse_special
from deidlint.errors import UsageError
from deidlint.readers import Source, source_for

#: The formats a fixed table can be written in when it is converted (``--output-format``); a
#: ``.txt`` report is one file, not a table, so it is neither converted nor converted to.
TABLE_FORMATS = ("csv", "tsv", "jsonl", "parquet")

#: ``-o -``: the one output goes to standard output, written through, never renamed over.
STDOUT = "-"


@dataclass(frozen=True, slots=True)
class Output:
    """One destination: its path (or :data:`STDOUT`) and the format written there."""

    path: str
    fmt: str
    gzip: bool

    def converts(self, source: Source) -> bool:
        """True when the bytes differ in kind from the input's, so a plain rewrite will not do."""
        return (self.fmt, self.gzip) != (source.fmt, source.gzip)


def destinations(paths: list[str], sources: list[Source], out: str | None, in_place: bool,
                 fmt: str | None = None) -> list[Output]:
    """The output of every source: itself (``--in-place``), ``out`` (one input file, or ``-``),
    or ``out/<path relative to the input folder>`` (several inputs, or a folder).

    The format follows the input unless ``fmt`` (``--output-format``) names another; a file name
    whose suffix says otherwise is refused, as are a file name for several outputs, a missing
    parent folder, an output inside an input folder and an output that is an input.
    """
    if fmt is not None and fmt not in TABLE_FORMATS:
        raise UsageError(f"unknown output format {fmt!r} (one of {', '.join(TABLE_FORMATS)})")
    if in_place:
        if fmt is not None:
            raise UsageError("--in-place keeps each file's format; write a converted copy with -o")
        _refuse_hard_links(sources)
        return [Output(s.path, s.fmt, s.gzip) for s in sources]
    assert out is not None
    if fmt is not None and any(s.fmt == "txt" for s in sources):
        raise UsageError(f"--output-format {fmt}: .txt reports are one file each, not a table; they stay .txt")
    if fmt is not None and any(s.fmt == "json" for s in sources):
        raise UsageError(f"--output-format {fmt}: an annotation .json keeps its splits; it stays .json")
    single = len(paths) == 1 and not os.path.isdir(paths[0])
    if out == STDOUT:
        if not single:
            raise UsageError("-o - writes one file to standard output; give one input file")
        return [Output(STDOUT, fmt or sources[0].fmt, sources[0].gzip and fmt is None)]
    _refuse_placement(paths, out, single)
    # A name ending in / is a folder, made if need be (``-o cleaned/``), even for one input.
    if single and not os.path.isdir(out) and not out.endswith(os.sep):
        dests = [_named(sources[0], out, fmt)]
    else:
        dests = [_inside(out, paths, source, fmt) for source in sources]
    seen: dict[str, str] = {}
    for source, dest in zip(sources, dests, strict=True):
        other = seen.setdefault(os.path.abspath(dest.path), source.path)
        if other != source.path:
            raise UsageError(f"{other} and {source.path} would both be written to {dest.path}; fix them separately")
    inputs = {os.path.realpath(s.path) for s in sources}
    for dest in dests:
        if os.path.realpath(dest.path) in inputs:
            raise UsageError(f"{dest.path} is an input; use --in-place to rewrite inputs")
    return dests


def _refuse_hard_links(sources: list[Source]) -> None:
    """A rename replaces one link of a hard-linked file; the others would keep the traces."""
    for source in sources:
        links = os.stat(source.path).st_nlink
        if links > 1:
            raise UsageError(f"{source.path} has {links} hard links; --in-place would replace this one and leave "
                             "the others unfixed: fix it to a new file with -o")


def _refuse_placement(paths: list[str], out: str, single: bool) -> None:
    """``out`` must sit in an existing folder, outside every input folder, and name a folder
    when there are several outputs; a file there must be a regular one (not ``/dev/null``)."""
    if not os.path.isdir(out):
        refuse_special(out)
    if not single and source_for(out) is not None and not os.path.isdir(out):
        raise UsageError(f"-o {out} names one file, but a folder or several inputs need an output folder")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UsageError(f"-o {out}: the folder {parent} does not exist")
    where = os.path.realpath(out)
    for path in paths:
        root = os.path.realpath(path)
        if os.path.isdir(path) and os.path.commonpath([root, where]) == root:
            raise UsageError(f"-o {out} is inside the input folder {path}: the next run would read the output "
                             "as input; write it elsewhere")
        if not single and os.path.commonpath([root, where]) == where:
            raise UsageError(f"-o {out} holds the input {path}: the fixed copies would sit among the inputs; "
                             "write them elsewhere")


def _named(source: Source, out: str, fmt: str | None) -> Output:
    """The one output file. Its name must carry the suffix of what is written there, as ``check``
    and every other reader tell a format by it: without ``fmt`` the input's own format and
    compression (``out.csv.gz`` for a ``.csv.gz``); with ``fmt`` that format, gzipped or not as
    the name says."""
    named = source_for(out)
    if fmt is not None:
        if named is None or named.fmt != fmt:
            raise UsageError(f"-o {out}: --output-format {fmt} writes {fmt.upper()}; name the output "
                             f"{_suffix(fmt, False)}" + ("" if fmt == "parquet" else f" or {_suffix(fmt, True)}"))
        return Output(out, fmt, named.gzip)
    if named is not None and (named.fmt, named.gzip) == (source.fmt, source.gzip):
        return Output(out, source.fmt, source.gzip)
    hint = (f", or convert with --output-format {named.fmt}" if named is not None and named.fmt != source.fmt
            and {named.fmt, source.fmt} <= set(TABLE_FORMATS) else "")
    raise UsageError(f"-o {out}: the output is {'gzip-compressed ' if source.gzip else ''}{source.fmt.upper()}, "
                     f"like its input; name it with the suffix {_suffix(source.fmt, source.gzip)}{hint}")


def _inside(out: str, paths: list[str], source: Source, fmt: str | None) -> Output:
    """``out/<source relative to its input folder>``, with the suffix of a converted format."""
    root = next((p for p in paths if os.path.isdir(p) and
                 os.path.commonpath([os.path.abspath(p), os.path.abspath(source.path)]) == os.path.abspath(p)), None)
    rel = os.path.relpath(source.path, root) if root else os.path.basename(source.path)
    if fmt is None:
        return Output(os.path.join(out, rel), source.fmt, source.gzip)
    stem = rel[:-3] if source.gzip else rel
    gzip = source.gzip and fmt != "parquet"
    return Output(os.path.join(out, os.path.splitext(stem)[0] + _suffix(fmt, gzip)), fmt, gzip)


def _suffix(fmt: str, gzip: bool) -> str:
    return f".{fmt}" + (".gz" if gzip else "")
