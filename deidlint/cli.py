"""The ``deidlint`` command line.

Exit codes follow ruff: 0 when nothing was found, 1 when traces were found (or remain after a
fix), 2 for usage and input errors, which print one line on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from deidlint import __version__, dask_cli
from deidlint.atomic import Transaction
from deidlint.baseline import CONTEXT_CHARS, Baseline, BaselineFilter, write_baseline
from deidlint.checking import Check
from deidlint.config import Config, load_config
from deidlint.engine import Scanner
from deidlint.errors import DeidlintError, RecordError, UsageError
from deidlint.findings import Finding
from deidlint.gates import Gate, outcome_lines, parse_thresholds
from deidlint.outputs import TABLE_FORMATS
from deidlint.parallel import resolve_jobs
from deidlint.readers import Batch, LineMap, ReadOptions, discover, read
from deidlint.reporting import (
    FORMATS,
    GithubReporter,
    JsonReporter,
    JunitReporter,
    Reporter,
    SarifReporter,
    TextReporter,
    printable,
)
from deidlint.rules import STRATEGIES, UNRESOLVED, Rule, Selection, all_rules, load_packs, selection
from deidlint.synth import STYLES as SYNTH_STYLES
from deidlint.writers import Edit

if TYPE_CHECKING:
    from deidlint.fix import Fixer, FixStats

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as deidlint does: one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# -- shared pieces ----------------------------------------------------------------------------


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options every command that reads datasets shares (check, fix, baseline)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files (.csv .tsv .jsonl .parquet .txt, .gz) or folders")
    parser.add_argument("--column", action="append", default=None, metavar="C",
                        help="text column to scan (repeatable; default: every column that holds text)")
    parser.add_argument("--id-column", metavar="C", help="column that identifies a record in the output")
    parser.add_argument("--config", metavar="FILE", help="deidlint.toml or pyproject.toml (default: nearest one)")
    parser.add_argument("--select", action="append", default=None, metavar="SEL",
                        help="only these rules: code prefix (DL1), rule name or pack name (repeatable)")
    parser.add_argument("--ignore", action="append", default=None, metavar="SEL", help="skip these rules (repeatable)")
    parser.add_argument("--encoding", help="text encoding of the inputs (default utf-8)")
    parser.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                        help="a bad record in a large file: stop with exit 2 (fail) or report it and go on (skip)")
    parser.add_argument("--max-record-mb", type=int, metavar="MB",
                        help="largest record to read (default 64, config 'max-record-mb'): a file without line "
                             "breaks or with a quote never closed stops there instead of filling memory")
    parser.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                        help="worker processes for large files (default 0: one per available core; "
                             "1: work in this process)")


def load_settings(args: argparse.Namespace) -> tuple[Config, Selection]:
    """Config file merged with command-line flags, and the selected rules."""
    config = load_config(args.config)
    packs = load_packs(config.packs, builtin=config.builtin_packs)
    # --select replaces the configured selection, extend-select included (as ruff's does).
    select, extend = (args.select, []) if args.select else (config.select, config.extend_select)
    ignore = [*config.ignore, *(args.ignore or [])]
    return config, selection(all_rules(packs), select, ignore, extend)


def accepted_mask(config: Config, rules: Sequence[Rule], strategy: str | None = None,
                  token: str | None = None, unresolved: str | None = None) -> str | None:
    """The mask token that scans accept as no trace, when this configuration masks anything
    (``strategy``, a ``strategies`` entry, or else a rule's own ``fix``; ``unresolved = "mask"``;
    ``fix``'s flags on top).

    ``fix`` then writes the token on purpose: ``check`` with the same config must pass the masked
    file, and ``fix``'s own rescan must not remove a mask under another rule's strategy. A
    configuration that never masks accepts nothing, because ``[PHI]`` written by another
    de-identification tool is a trace like any other.
    """
    strategy = strategy or config.strategy
    masks = "mask" in config.strategies.values() or (unresolved or config.unresolved) == "mask" or (
        strategy == "mask" if strategy is not None else any(r.fix == "mask" for r in rules if r.fixable))
    return (token or config.mask_token) if masks else None


def read_options(args: argparse.Namespace, config: Config) -> ReadOptions:
    return ReadOptions(
        columns=tuple(args.column or config.columns),
        id_column=args.id_column or config.id_column,
        encoding=args.encoding or config.encoding,
        on_error=args.on_error,
        max_record_bytes=(config.max_record_mb if args.max_record_mb is None else args.max_record_mb) << 20,
    )


def _check(args: argparse.Namespace, config: Config, chosen: Selection) -> Check:
    if args.show_context < 0:
        raise UsageError("--show-context must be 0 or more")
    return Check(
        # With --dask the paths are globs or URLs, which Dask's readers expand (dask_cli.expand).
        sources=[] if dask_cli.requested(args) else discover(args.paths),
        scanner=Scanner.of(chosen, accepted_mask(config, chosen.rules)),
        read_options=read_options(args, config),
        per_path_ignores=config.per_path_ignores,
        context_chars=args.show_context,
        jobs=resolve_jobs(args.jobs),
    )


def make_reporter(fmt: str, out: IO[str], rules: Sequence[Rule], statistics: bool, opts: ReadOptions) -> Reporter:
    lines = LineMap(opts.encoding, opts.max_record_bytes)

    def line_of(f: Finding) -> int | None:
        return lines.line_of(f.path, f.record, f.line)

    if fmt == "json":
        return JsonReporter(out)
    if fmt == "sarif":
        return SarifReporter(out, rules, line_of)
    if fmt == "github":
        return GithubReporter(out, rules, line_of)
    if fmt == "junit":
        return JunitReporter(out, rules)
    return TextReporter(out, rules, statistics)


def with_progress(items: Iterable[Finding | RecordError], check: Check | dask_cli.DaskCheck) -> Iterable[Finding | RecordError]:
    """A progress line on stderr, only when stderr is a terminal (never in CI logs or pipes)."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    bar = tqdm(total=len(check.sources), unit="file", file=sys.stderr, leave=False, disable=len(check.sources) < 2)
    seen = 0

    def wrapped() -> Iterable[Finding | RecordError]:
        nonlocal seen
        for item in items:
            if check.summary.files != seen:
                bar.update(check.summary.files - seen)
                seen = check.summary.files
            yield item
        bar.close()

    return wrapped()


# -- commands ---------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    config, chosen = load_settings(args)
    rules = chosen.rules
    thresholds = parse_thresholds(config.thresholds, all_rules(load_packs(config.packs, builtin=config.builtin_packs)),
                                  str(config.path)) if config.thresholds else []
    base = _check(args, config, chosen)
    check = dask_cli.DaskCheck(base, args, base.jobs) if dask_cli.requested(args) else base
    items = with_progress(check, check)
    known: BaselineFilter | None = None
    baseline_path = args.baseline or config.baseline
    if baseline_path:
        baseline = Baseline.load(baseline_path)
        if baseline.id_column != base.read_options.id_column:
            raise UsageError(f"baseline {baseline.path} identifies records by "
                             f"{f'--id-column {baseline.id_column}' if baseline.id_column else 'path and row'}; "
                             "check with the same setting or regenerate it")
        base.context_chars = max(base.context_chars, CONTEXT_CHARS)  # the hash needs the marker's neighbours
        known = BaselineFilter(baseline, base.context_chars, args.show_context)
        items = known(items)
    gate = Gate(thresholds)
    reporter = make_reporter(args.format, sys.stdout, rules, args.statistics, check.read_options)
    for item in items:
        if isinstance(item, RecordError):
            reporter.record_error(item)
        else:
            gate.observe(item)
            reporter.finding(item)
    summary = known.new.summary(check.summary) if known else check.summary
    reporter.finish(summary)
    outcomes, code = gate.verdict(summary.records)
    # Machine formats own stdout; the gate's own lines go beside them on stderr.
    notes = sys.stdout if args.format == "text" else sys.stderr
    if known:
        notes.write(known.report(s.path for s in check.sources) + "\n")
    notes.write(outcome_lines(outcomes))
    # Records skipped with --on-error skip are reported like findings, and fail the run like them.
    return max(code, 1 if check.summary.errors else 0)


def cmd_baseline(args: argparse.Namespace) -> int:
    config, chosen = load_settings(args)
    check = _check(args, config, chosen)
    out = Path(args.output)

    def findings() -> Iterable[Finding]:
        for item in with_progress(check, check):
            if isinstance(item, RecordError):
                print(item, file=sys.stderr)
            else:
                yield item

    entries = write_baseline(out, findings(), check.context_chars, check.read_options.id_column)
    s = check.summary
    print(f"wrote {entries} baseline entries for {s.findings} finding(s) in {s.records_with_findings} of "
          f"{s.records} records to {out}", file=sys.stderr)
    return 0


def cmd_fix(args: argparse.Namespace) -> int:
    """Rewrite datasets so no trace is left; exit 1 when findings remain that cannot be fixed."""
    import json

    from deidlint.atomic import refuse_special, stale_temporaries
    from deidlint.fix.run import FixRun
    from deidlint.outputs import STDOUT, Output, destinations
    from deidlint.writers import rewrite

    if not (args.output or args.in_place or args.dry_run):
        raise UsageError("fix writes nothing without -o OUT or --in-place (or --dry-run to preview)")
    if args.output == STDOUT and args.diff:
        raise UsageError("--diff and -o - both write to standard output; write the file elsewhere")
    config, chosen = load_settings(args)
    if dask_cli.requested(args):
        return _fix_on_dask(args, config, chosen)
    sources = discover(args.paths)
    opts = read_options(args, config)
    # Checked on a dry run too: the run it previews must not be refused.
    planned = destinations(args.paths, sources, args.output, args.in_place, args.output_format) if (
        args.output or args.in_place) else []
    dests: list[Output | None] = [None] * len(sources) if args.dry_run else list(planned)
    # --in-place rewrites the file a symlink names, as rewrite() does: check that file.
    outputs = [os.path.realpath(d.path) if args.in_place else d.path for d in dests
               if d is not None and d.path != STDOUT]
    reports = [f for f in (args.stats_json, args.report_drops) if f]
    side_files(reports, [s.path for s in sources], [d.path for d in planned if d.path != STDOUT])
    for target in [*outputs, *reports]:
        refuse_special(target)
        for stale in stale_temporaries(target):
            print(f"deidlint: warning: {printable(stale)} was left by an interrupted run and may hold partly "
                  "fixed report text; delete it", file=sys.stderr)
    fixer = make_fixer(args, config, chosen)
    ignores = Check(sources, fixer.scanner, opts, config.per_path_ignores)
    # Every output appears at the end, together, and only if no input changed meanwhile.
    transaction = Transaction()
    report = ExitStack()
    drops: Callable[[dict[str, object]], None] | None = None
    if args.report_drops:  # streamed: a corpus may drop millions of sentences
        handle = report.enter_context(_written(args.report_drops, transaction))

        def drops(line: dict[str, object]) -> None:
            handle.write(json.dumps(line).encode() + b"\n")
    run = FixRun(fixer, resolve_jobs(args.jobs), drops)
    for source in sources:
        transaction.watch(source.path)
    skipped: list[RecordError] = []
    try:
        run.learn(lambda: (item.texts for source in sources for item in read(source, opts)
                           if not isinstance(item, RecordError)))
        with report, run:
            for source, dest in zip(sources, dests, strict=True):
                edits = partial(run.edit, ignored=ignores.ignored_codes(source.path))
                skipped += rewrite(source, opts, dest, _with_diff(edits) if args.diff else edits, transaction).skipped
        transaction.commit()
    except BaseException:
        transaction.abort()
        raise
    for error in skipped:  # --on-error skip: like check, name them and fail the run
        print(f"{error} (copied unchanged, not fixed)", file=sys.stderr)
    return fix_summary(args, run.stats, list(run.clinical_records), len(sources), len(skipped))


def make_fixer(args: argparse.Namespace, config: Config, chosen: Selection) -> Fixer:
    """The fixer of ``fix``'s flags over the config, with the scanner that accepts its mask token."""
    from deidlint.fix import Fixer

    mask_token = args.mask_token or config.mask_token
    unresolved = args.unresolved or config.unresolved
    scanner = Scanner.of(chosen, accepted_mask(config, chosen.rules, args.strategy, mask_token, unresolved))
    return Fixer(scanner, args.strategy or config.strategy, config.strategies,
                 seed=config.seed if args.seed is None else args.seed,
                 mask_token=mask_token, restore_threshold=config.restore_threshold, segmenter=args.segmenter,
                 unresolved=unresolved)


def fix_summary(args: argparse.Namespace, stats: FixStats, clinical: list[str], files: int, skipped: int) -> int:
    """``fix``'s summary on stderr and in ``--stats-json``; the exit code (1 if findings remain)."""
    import json

    print(stats.summary(dry_run=args.dry_run), file=sys.stderr)
    if clinical:
        print(f"clinical sentences dropped in {len(clinical)} record(s)" +
              ("; listed in " + printable(args.report_drops) if args.report_drops else
               "; --report-drops FILE lists them"), file=sys.stderr)
    if args.stats_json:
        with _written(args.stats_json) as handle:
            handle.write(json.dumps({"files": files, **stats.as_dict(), "skipped_records": skipped,
                                     "records_with_clinical_drops": clinical}, indent=2).encode() + b"\n")
    return 1 if stats.remaining or skipped else 0


def _fix_on_dask(args: argparse.Namespace, config: Config, chosen: Selection) -> int:
    """``fix --dask``: the corpus on a cluster (:mod:`deidlint.dask_cli`), summarised as ``fix`` does."""
    import json

    from deidlint.fix.run import record_name

    side_files([f for f in (args.stats_json, args.report_drops) if f], [], [])
    fixer = make_fixer(args, config, chosen)
    base = Check([], fixer.scanner, read_options(args, config), config.per_path_ignores)
    stats, drops, files = dask_cli.fix(args, fixer, base, resolve_jobs(args.jobs))
    if args.report_drops:
        with _written(args.report_drops) as handle:
            handle.writelines(json.dumps(line).encode() + b"\n" for line in drops)
    clinical = {record_name(line): None for line in drops if line["clinical"] and line["action"] == "dropped"}
    return fix_summary(args, stats, list(clinical), files, 0)


def side_files(names: list[str], inputs: list[str], outputs: list[str]) -> None:
    """``--stats-json`` and ``--report-drops`` must name new or regular files of their own, in an
    existing folder: an input, an output or each other would be replaced by JSON."""
    taken = {os.path.realpath(p): "is an input" for p in inputs}
    taken.update({os.path.realpath(p): "is the output" for p in outputs})
    for name in names:
        if name == "-":
            raise UsageError("--stats-json and --report-drops write files; name a file, not -")
        where = os.path.realpath(name)
        if where in taken:
            raise UsageError(f"{name} {taken[where]}; name another file for the summary or the drops")
        if not os.path.isdir(os.path.dirname(os.path.abspath(name))):
            raise UsageError(f"{name}: the folder {os.path.dirname(os.path.abspath(name))} does not exist")
        taken[where] = "is named twice"


@contextmanager
def _written(path: str, transaction: Transaction | None = None) -> Iterator[IO[bytes]]:
    """``atomic_output(path)``; failing to create or finish that file is a one-line usage error
    (an error inside the block is the block's own and passes unchanged)."""
    from deidlint.atomic import atomic_output

    output = atomic_output(path, transaction=transaction)
    try:
        handle = output.__enter__()
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield handle
    except BaseException:
        output.__exit__(*sys.exc_info())
        raise
    try:
        output.__exit__(None, None, None)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _with_diff(edit: Edit) -> Edit:
    r"""``edit``, printing a unified diff of every record it changes (opt-in: it shows text).

    Each record's diff is one that ``patch`` and ``git apply`` accept: lines end at ``\n`` only,
    as those tools count them, and a last line without one is followed by GNU diff's ``\ No
    newline at end of file`` marker, on either side. The header names pass through
    :func:`printable`, so a file name cannot end the header line and forge diff lines.
    """
    import difflib

    def edited(batches: Iterator[Batch]) -> Iterator[tuple[Batch, list[str]]]:
        for batch, new in edit(batches):
            for i, (old, text) in enumerate(zip(batch.texts, new, strict=True)):
                if text != old:
                    where = f"{batch.paths[i]}:{batch.rows[i]}" + (f" {batch.column}" if batch.column else "")
                    where = printable(where + (f" ({batch.ids[i]})" if batch.ids and batch.ids[i] is not None else ""))
                    for line in difflib.unified_diff(_diff_lines(old), _diff_lines(text), where, where + " (fixed)"):
                        sys.stdout.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
            yield batch, new

    return edited


def _diff_lines(text: str) -> list[str]:
    r"""*text* split after each ``\n``, the last line without one if the text does not end in one
    (``str.splitlines`` would also split at ``\r``, ``\f`` or U+2028, which diff tools do not)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def cmd_rules(args: argparse.Namespace) -> int:
    """Every rule, opt-in ones included (marked: they run only when a selector names them)."""
    rules = load_settings(argparse.Namespace(config=args.config, select=["ALL"], ignore=None))[1].rules
    width = max(len(r.name) for r in rules)
    print(f"{'code':<6}  {'name':<{width}}  {'pack':<10}  {'category':<8}  {'kind':<8}  {'fix':<8}  message")
    for r in rules:
        category, fix = r.category if r.default else f"{r.category}*", r.fix if r.fixable else "-"
        print(f"{r.code:<6}  {r.name:<{width}}  {r.pack:<10}  {category:<8}  {r.kind:<8}  {fix:<8}  {r.message}")
    if not all(r.default for r in rules):
        print("\n* opt-in: runs only when --select (or select / extend-select in config) names it, or ALL")
    return 0


def cmd_rule(args: argparse.Namespace) -> int:
    rules = load_settings(argparse.Namespace(config=args.config, select=["ALL"], ignore=None))[1].rules
    wanted = args.code.upper()
    rule = next((r for r in rules if r.code == wanted or r.name == args.code), None)
    if rule is None:
        raise UsageError(f"no rule {args.code!r} (see 'deidlint rules')")
    print(f"{rule.code} {rule.name} ({rule.pack} pack)\n")
    print(f"{rule.message}.")
    print(f"category: {rule.category}   severity: {rule.severity}   kind: {rule.kind}   "
          f"default fix: {rule.fix if rule.fixable else '- (reported, never fixed)'}"
          f"{'' if rule.default else '   opt-in (--select ' + rule.pack + ')'}")
    print(f"defined in: {rule.source}\n\npattern:\n    {rule.pattern}\n")
    if rule.match:
        print("matches:")
        print("".join(f"    {ex!r}\n" for ex in rule.match))
    if rule.no_match:
        print("does not match:")
        print("".join(f"    {ex!r}\n" for ex in rule.no_match))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from deidlint import synth

    if args.n < 0:
        raise UsageError("the number of reports must be 0 or more")
    written = synth.write_dataset(args.output, args.n, seed=args.seed, style=args.style)
    if args.ground_truth:
        synth.write_ground_truth(args.ground_truth, args.n, seed=args.seed, style=args.style)
    print(f"wrote {written} synthetic reports to {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deidlint", description="Find and repair de-identification traces in radiology reports.")
    parser.add_argument("--version", action="version", version=f"deidlint {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="find traces in datasets")
    add_input_options(check)
    dask_cli.add_options(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    check.add_argument("--statistics", action="store_true", help="print counts per rule instead of each finding")
    check.add_argument("--show-context", type=int, default=0, metavar="N",
                       help="show N characters of report text around each marker (off by default: reports are sensitive)")
    check.add_argument("--baseline", metavar="FILE",
                       help="report only findings not recorded in this baseline (see 'deidlint baseline')")
    check.set_defaults(func=cmd_check)

    baseline = sub.add_parser("baseline", help="record the current findings, so that check fails only on new ones")
    add_input_options(baseline)
    baseline.add_argument("-o", "--output", required=True, metavar="FILE", help="baseline to write (JSON, no report text)")
    # Hashing needs the marker's neighbours; _check reads them from show_context.
    baseline.set_defaults(func=cmd_baseline, show_context=CONTEXT_CHARS)

    fix = sub.add_parser("fix", help="rewrite datasets so that no trace is left")
    add_input_options(fix)
    dask_cli.add_options(fix)
    where = fix.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT",
                       help="write here: a file (- for standard output), or a folder for a folder or several inputs")
    where.add_argument("--in-place", action="store_true", help="rewrite the inputs themselves (atomically)")
    fix.add_argument("--strategy", choices=STRATEGIES,
                     help="how to repair every trace (default: config 'strategy', else each rule's own fix, "
                          "see 'deidlint rules'); config 'strategies' entries still win for the rules they name")
    fix.add_argument("--output-format", choices=TABLE_FORMATS,
                     help="convert the fixed tables to this format (default: each input's own, byte for byte)")
    fix.add_argument("--mask-token", metavar="TOKEN", help="token for the mask strategy (default [PHI])")
    fix.add_argument("--seed", type=int, help="seed for surrogate values (default: config 'seed', else 0)")
    fix.add_argument("--segmenter", choices=("rules", "spacy"), default="rules",
                     help="sentence splitter: rule-based (default, fast) or spaCy's sentencizer")
    fix.add_argument("--diff", action="store_true", help="print a unified diff of every changed record (shows text)")
    fix.add_argument("--dry-run", action="store_true", help="write nothing; report what a fix would do")
    fix.add_argument("--stats-json", metavar="FILE", help="also write the summary as JSON")
    fix.add_argument("--unresolved", choices=UNRESOLVED,
                     help="a sentence no repair keeps sound is dropped and reported (drop, the default; config "
                          "'unresolved'), left with its markers for review, exit 1 (keep), or masked (mask)")
    fix.add_argument("--report-drops", metavar="FILE",
                     help="write every dropped, kept or masked sentence as JSON lines: record, offsets, reason "
                          "(never text)")
    fix.set_defaults(func=cmd_fix)

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--config", metavar="FILE", help="config whose packs to list too (default: nearest one)")
    rules.set_defaults(func=cmd_rules)

    rule = sub.add_parser("rule", help="explain one rule, with its examples")
    rule.add_argument("code", help="rule code (DL101) or name")
    rule.add_argument("--config", metavar="FILE", help="config whose packs to search too (default: nearest one)")
    rule.set_defaults(func=cmd_rule)

    synth = sub.add_parser("synth", help="write a synthetic dataset of chest X-ray reports with traces")
    synth.add_argument("n", type=int, help="number of reports")
    synth.add_argument("-o", "--output", required=True, help="file (.csv .tsv .jsonl .parquet, .gz) or folder (txt layout)")
    synth.add_argument("--seed", type=int, default=0, help="seed of the generator: the same seed writes the same reports "
                                                          "(default 0)")
    synth.add_argument("--style", default="mixed", choices=SYNTH_STYLES,
                       help="the trace family every report carries, or mixed (default): one family per report")
    synth.add_argument("--ground-truth", metavar="FILE", help="also write the true trace spans as JSONL")
    synth.set_defaults(func=cmd_synth)

    # verify/score: their module imports no heavy package until one of them runs.
    from deidlint.verify.cli import register

    register(sub)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived; a BaseException, like KeyboardInterrupt, so that no ``except Exception`` stops it."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code instead of raising (130 for Ctrl-C, 143 for SIGTERM)."""
    # SIGTERM (a CI timeout, a container stop) unwinds like Ctrl-C, so every ``finally`` runs
    # and a fix in progress removes its temporary files instead of dying mid-write.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        args = build_parser().parse_args(argv)
        command: Handler = args.func
        return command(args)
    except DeidlintError as exc:
        print(f"deidlint: error: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``deidlint check ... | head``): stop quietly, as a shell tool
        # would. (Not SIGPIPE's default action, which would also kill this process when a
        # worker process's pipe breaks, before it could clean up.)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("deidlint: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Terminated:
        print("deidlint: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
