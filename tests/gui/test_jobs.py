"""The GUI's one background-job runner: results on the GUI thread, latest wins, cancel, progress, shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from segstudio.gui.jobs import JobRunner


@pytest.fixture
def runner(qapp):
    r = JobRunner()
    yield r
    assert r.shutdown(10)


def test_result_arrives_on_the_gui_thread(runner, qtbot):
    gui_thread = QThread.currentThread()
    seen = {}

    def work(job):
        seen["worker"] = QThread.currentThread()
        return 6 * 7

    def done(value):
        seen["value"], seen["thread"] = value, QThread.currentThread()

    runner.submit("answer", work, on_done=done)
    qtbot.waitUntil(lambda: "value" in seen, timeout=5000)
    assert seen["value"] == 42 and seen["thread"] is gui_thread and seen["worker"] is not gui_thread
    assert not runner.pending("answer")


def test_latest_submission_of_a_key_wins_and_the_older_one_is_cancelled(runner, qtbot):
    release, started = threading.Event(), threading.Event()
    results, cancelled = [], []

    def slow(job):
        started.set()
        release.wait(5)
        cancelled.append(job.cancelled)
        return "old"

    runner.submit("image", slow, on_done=results.append)
    assert started.wait(5)
    runner.submit("image", lambda job: "new", on_done=results.append)
    release.set()
    qtbot.waitUntil(lambda: results == ["new"] and bool(cancelled), timeout=5000)
    time.sleep(0.05)
    qtbot.wait(50)
    assert results == ["new"] and cancelled == [True]


def test_errors_reach_on_error_or_job_failed_with_the_traceback(runner, qtbot):
    errors = []

    def boom(job):
        raise ValueError("bad pixel")

    runner.submit("a", boom, on_error=lambda exc, tb: errors.append((str(exc), "ValueError" in tb)))
    with qtbot.waitSignal(runner.jobFailed, timeout=5000) as blocker:
        runner.submit("b", boom)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors == [("bad pixel", True)]
    key, message, trace = blocker.args
    assert key == "b" and message == "ValueError: bad pixel" and "Traceback" in trace


def test_progress_is_coalesced_and_the_last_value_arrives_before_the_result(runner, qtbot):
    events = []

    def work(job):
        for i in range(500):
            job.report(i)
        return "end"

    runner.submit("p", work, on_progress=lambda v: events.append(("p", v)), on_done=lambda v: events.append(("d", v)))
    qtbot.waitUntil(lambda: bool(events) and events[-1] == ("d", "end"), timeout=5000)
    progress = [v for kind, v in events if kind == "p"]
    assert progress[-1] == 499 and len(progress) < 500 and progress == sorted(progress)


def test_cancel_drops_the_result_and_sets_the_token(runner, qtbot):
    started, results = threading.Event(), []

    def work(job):
        started.set()
        while not job.cancelled:
            time.sleep(0.005)
        return "too late"

    job = runner.submit("c", work, on_done=results.append)
    assert started.wait(5)
    runner.cancel("c")
    qtbot.wait(100)
    assert job.cancelled and results == [] and not runner.pending("c")


def test_shutdown_cancels_running_jobs_and_joins_the_threads(qapp):
    runner = JobRunner()
    started = threading.Event()
    hooks = []

    def forever(job):
        job.token.on_cancel(lambda: hooks.append("cancelled"))
        started.set()
        while not job.cancelled:
            time.sleep(0.005)

    runner.submit("train", forever, lane="train")
    assert started.wait(5)
    t0 = time.monotonic()
    assert runner.shutdown(5)
    assert hooks == ["cancelled"] and time.monotonic() - t0 < 2
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit("x", lambda job: None)
