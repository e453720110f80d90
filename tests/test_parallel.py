"""Worker processes: results in input order, and a fix with any --jobs equals a serial fix."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import Future
from pathlib import Path

import pytest

from deidlint import synth
from deidlint.errors import UsageError
from deidlint.fix import RestoreModel
from deidlint.parallel import WorkerDied, Workers, resolve_jobs
from tests.conftest import run_cli


def _offset_pid(state: int, payload: int) -> tuple[int, int]:
    return payload + state, os.getpid()


def _die(state: int, payload: int) -> int:
    if payload == 3:
        os._exit(9)
    return payload


def test_workers_keep_input_order_and_run_elsewhere() -> None:
    with Workers(2, 100) as workers:
        out = list(workers.map(_offset_pid, range(40)))
    assert [value for value, _ in out] == list(range(100, 140))
    assert os.getpid() not in {pid for _, pid in out}


def test_one_job_or_a_short_stream_runs_here() -> None:
    with Workers(1, 5) as workers:
        assert {pid for _, pid in workers.map(_offset_pid, range(5))} == {os.getpid()}
    with Workers(4, 5) as workers:
        assert list(workers.map(_offset_pid, [1, 2])) == [(6, os.getpid()), (7, os.getpid())]


def test_a_dead_worker_is_a_clear_error() -> None:
    with Workers(2, 0) as workers, pytest.raises(WorkerDied, match="--jobs 1"):
        list(workers.map(_die, range(10)))


def _slow(state: int, payload: int) -> int:
    time.sleep(0.2)
    return payload


def test_batches_left_when_a_stream_stops_are_cancelled_by_the_pool_not_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the consumer stops early, the batches still in flight are cancelled by the pool's
    own thread at the block's end, never from the consuming thread: a worker dying at that
    moment (a SIGTERM to the whole process group) makes the pool's thread fail every pending
    batch, and it crashed on one this thread had cancelled (CPython 3.11), leaving the other
    workers running and the exit waiting for them forever."""
    cancels: list[str] = []
    cancel = Future.cancel

    def recorded(future: Future[object]) -> bool:
        cancels.append(threading.current_thread().name)
        return cancel(future)

    monkeypatch.setattr(Future, "cancel", recorded)
    with Workers(2, 0) as workers:
        for _ in workers.map(_slow, range(20)):
            break
    assert cancels, "the block's end cancels the batches still in flight"
    assert threading.main_thread().name not in cancels
    deadline = time.monotonic() + 30
    while multiprocessing.active_children():
        assert time.monotonic() < deadline, "worker processes outlived the block"
        time.sleep(0.05)


def test_a_signal_during_a_submit_takes_effect_right_after_it() -> None:
    from deidlint.parallel import _signals_deferred

    reached = False
    with pytest.raises(KeyboardInterrupt):
        with _signals_deferred():
            signal.raise_signal(signal.SIGINT)
            reached = True  # not interrupted half-way
    assert reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_jobs_zero_means_every_core_and_negative_is_refused() -> None:
    assert resolve_jobs(0) == len(os.sched_getaffinity(0))
    assert resolve_jobs(3) == 3
    with pytest.raises(UsageError):
        resolve_jobs(-1)


def test_counts_merged_in_order_equal_learning_serially() -> None:
    texts = ["the pulmonary vasculature are normal", "pulmonary edema are", "a Swan-Ganz line",
             "pulmonary vessels are", "pulmonary vasculature are"] * 3
    keys = [("free", "1", "pulmonary", "are"), ("glue-left", "swan")]

    def model() -> RestoreModel:
        m = RestoreModel(threshold=0.5, min_support=1)
        for key in keys:
            m.need(key)
        return m

    serial, merged = model(), model()
    serial.learn(texts)
    for part in (texts[:4], texts[4:9], texts[9:]):
        merged.merge(merged.count(part))
    assert serial._counts == merged._counts
    assert [serial.predict(k) for k in keys] == [merged.predict(k) for k in keys]
    assert merged.fillers(keys[0]) == Counter({"vasculature": 6, "edema": 3, "vessels": 3})


@pytest.mark.parametrize("strategy", ["remove", "restore", "surrogate"])
def test_fix_with_workers_is_byte_identical_to_a_serial_fix(tmp_path: Path, strategy: str) -> None:
    src = tmp_path / "in.csv"
    synth.write_dataset(src, 9000, seed=11, style="mixed")  # three batches of 4,096 rows
    results = {}
    for jobs in ("1", "2"):
        out, stats = tmp_path / f"out{jobs}.csv", tmp_path / f"stats{jobs}.json"
        proc = run_cli("fix", str(src), "--column", "report", "--strategy", strategy, "--jobs", jobs,
                       "-o", str(out), "--stats-json", str(stats))
        assert proc.returncode == 0, proc.stderr
        results[jobs] = (out.read_bytes(), json.loads(stats.read_text()), proc.stderr)
    assert results["1"] == results["2"]
    assert results["1"][1]["records"] == 9000 and results["1"][1]["records_changed"] > 4000
