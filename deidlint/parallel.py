"""Batches spread over worker processes: results in input order, a bounded number in flight.

Scanning and repairing are pure Python per record, so one process uses one core; a curator's
machine has several. :class:`Workers` runs a task over a stream of batches in ``jobs`` processes
while this process keeps reading and writing, and hands the results back in the order the
batches came, so output is byte-identical to a serial run.

Workers start through a *forkserver*: forking the main process itself is unsafe once pyarrow's
reader threads exist. Each worker receives the task's state (a scanner or fixer, tens of
kilobytes pickled) once, when it starts, and each batch travels as a list of strings. At most
``2 x jobs`` batches are in flight, so memory stays flat however large the input. A short
stream (fewer than ``min_payloads`` batches) runs here, in this process: starting workers costs
more than it saves.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver as forkserver
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import chain
from types import FrameType
from typing import Any, Generic, TypeVar

from deidlint.errors import DeidlintError, UsageError

S = TypeVar("S")
T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

#: Modules the forkserver imports once, so that each worker it forks starts warm.
_PRELOAD = ["deidlint.fix", "deidlint.engine"]

_state: Any = None


def default_jobs() -> int:
    """The cores this process may run on (``sched_getaffinity`` honours CPU limits and pinning)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs: int | None) -> int:
    """``None`` or 0 mean every available core; a negative count is a usage error."""
    if jobs is None or jobs == 0:
        return default_jobs()
    if jobs < 0:
        raise UsageError(f"--jobs must be 0 (all cores) or a positive number, not {jobs}")
    return jobs


def _start_worker(state: object) -> None:
    """Worker set-up: keep the task's state, and leave Ctrl-C to the main process, which stops
    the pool and cleans up (a worker's own KeyboardInterrupt would only print a traceback)."""
    global _state
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _state = state


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a task is submitted, and act on them right after.

    A submit may start a worker process. A signal half-way through leaves a process the pool
    does not know of; it can take the stop message meant for another worker, and shutting down
    then waits forever for that one. (Signal handlers can only be set from the main thread;
    elsewhere there is nothing to defer.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, FrameType | None]] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append((signum, frame))

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            signum, frame = caught[0]
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def _start_forkserver_quietly() -> None:
    """Start the forkserver (and multiprocessing's resource tracker) with stderr on /dev/null;
    every worker forks from it and inherits that.

    What a worker has to report comes back through its results, exceptions included. What it
    would print is noise that breaks the one-line-error contract: a worker still starting when
    Ctrl-C or SIGTERM ends the run prints a traceback about queues this process has already
    removed. (Already running: nothing to do.)
    """
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _run(task: Callable[[Any, Any], Any], payload: Any) -> Any:
    return task(_state, payload)


class WorkerDied(DeidlintError):
    """A worker process ended abnormally (killed, or out of memory)."""


class Workers(Generic[S]):
    """Run ``task(state, payload)`` over payloads in ``jobs`` processes (``jobs <= 1``: here).

    ``state`` is what every call of the task needs (a scanner, a fixer); in this process it is
    used as is, and each worker gets a pickled copy when it starts. Changes a worker makes to
    its copy stay there: tasks return what the caller needs to merge. Use it as a context
    manager: the processes start with the first stream of at least ``min_payloads`` payloads and
    serve every later :meth:`map` until the block ends.
    """

    def __init__(self, jobs: int, state: S, min_payloads: int = 3) -> None:
        self.jobs = jobs
        self.state = state
        #: Streams shorter than this run here: starting the workers costs about half a second,
        #: more than two or three batches of work repay (measured on 5,000 reports: slower).
        self.min_payloads = min_payloads
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers[S]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _start_forkserver_quietly()
            self._executor = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_start_worker,
                                                 initargs=(self.state,))
        return self._executor

    def map(self, task: Callable[[S, P], R], payloads: Iterable[P]) -> Iterator[R]:
        """``task(state, p)`` for each payload, in order."""
        items = iter(payloads)
        head = [p for _, p in zip(range(self.min_payloads), items, strict=False)]
        if self.jobs <= 1 or (len(head) < self.min_payloads and self._executor is None):
            yield from (task(self.state, p) for p in chain(head, items))
            return
        pool = self._pool()
        pending: deque[Future[R]] = deque()
        try:
            for payload in chain(head, items):
                with _signals_deferred():
                    pending.append(pool.submit(_run, task, payload))
                if len(pending) >= 2 * self.jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise WorkerDied("a worker process died (killed, or out of memory?); rerun with --jobs 1 "
                             "to use less memory") from None
        # Batches still pending when the stream stops early are not cancelled here: a cancel from
        # this thread races the pool's own thread, which, when a worker has died (a SIGTERM to
        # the whole process group), sets an error on every pending future, fails on one this
        # thread cancelled (InvalidStateError, CPython gh-107219, not fixed in 3.11), prints a
        # traceback and never stops the other workers, so the exit waits for them forever.
        # ``shutdown(cancel_futures=True)`` at the block's end cancels them in the pool's thread.

    def map_along(self, task: Callable[[S, P], R], items: Iterable[T],
                  payload: Callable[[T], P | None]) -> Iterator[tuple[T, R | None]]:
        """Each item with ``task(state, payload(item))``, in order; an item whose payload is None
        (a bad record between batches, say) passes through with None and keeps its place."""
        held: deque[tuple[T, bool]] = deque()

        def payloads() -> Iterator[P]:
            for item in items:
                p = payload(item)
                held.append((item, p is not None))
                if p is not None:
                    yield p

        for result in self.map(task, payloads()):
            while True:
                item, has = held.popleft()
                if has:
                    yield item, result
                    break
                yield item, None
        while held:
            yield held.popleft()[0], None
