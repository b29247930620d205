"""Run claims: lock files that exclude, go stale when their owner is gone, and are released."""

import json
import os
import subprocess
import sys
import time

import pytest

from neurodis.files import process_started
from neurodis.sweeps import locks
from neurodis.sweeps.locks import STALE_SECONDS, RunLock


def write_lock(path, **owner):
    path.write_text(json.dumps({"host": locks._HOST, "pid": os.getpid(), "started": process_started(os.getpid()),
                                "token": "someone-else", **owner}))


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_lock_excludes_others_until_released(tmp_path):
    first, second = RunLock(tmp_path / "claim.lock"), RunLock(tmp_path / "claim.lock")
    assert first.acquire()
    owner = first.owner()
    assert (owner["host"], owner["pid"]) == (locks._HOST, os.getpid())
    assert not second.acquire() and second.held()
    second.release()  # holds nothing: removes nothing
    assert first.path.exists()
    first.release()
    assert not first.path.exists() and not first.held()
    assert second.acquire()
    second.release()


def test_a_lock_of_a_dead_process_on_this_host_is_stale(tmp_path):
    path = tmp_path / "claim.lock"
    write_lock(path, pid=dead_pid())
    lock = RunLock(path)
    assert not lock.held()
    assert lock.acquire() and lock.owner()["pid"] == os.getpid()
    lock.release()


def test_a_reused_pid_does_not_keep_a_lock_alive(tmp_path):
    path = tmp_path / "claim.lock"
    write_lock(path, started=process_started(os.getpid()) - 3600.0)  # our pid, an older process
    assert not RunLock(path).held()


def test_a_lock_of_another_host_is_stale_when_its_heartbeat_stops(tmp_path):
    path = tmp_path / "claim.lock"
    write_lock(path, host="another-host", pid=1)
    lock = RunLock(path)
    assert lock.held() and not lock.acquire()  # pid 1 means nothing here: only the heartbeat counts
    old = time.time() - STALE_SECONDS - 1
    os.utime(path, (old, old))
    assert not lock.held() and lock.acquire()
    lock.release()


def test_a_half_written_lock_is_judged_by_its_age(tmp_path):
    path = tmp_path / "claim.lock"
    path.write_text('{"host": "ano')
    assert RunLock(path).owner() is None and RunLock(path).held()
    assert not RunLock(path, stale_after=0.0).held()


def test_only_one_claimant_breaks_a_stale_lock(tmp_path):
    path = tmp_path / "claim.lock"
    write_lock(path, pid=dead_pid())
    guard = tmp_path / "claim.lock.break"
    guard.touch()  # another claimant is breaking it right now
    assert not RunLock(path).acquire() and guard.exists()
    old = time.time() - STALE_SECONDS - 1
    os.utime(guard, (old, old))  # ... or died doing so: its guard goes with age
    assert not RunLock(path).acquire() and not guard.exists()
    lock = RunLock(path)
    assert lock.acquire()
    lock.release()


def test_release_leaves_a_lock_another_process_took_over(tmp_path):
    lock = RunLock(tmp_path / "claim.lock")
    assert lock.acquire()
    write_lock(lock.path)  # broken as stale and re-taken meanwhile
    lock.release()
    assert lock.owner()["token"] == "someone-else"


def test_held_locks_are_kept_fresh_by_a_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.02)
    monkeypatch.setattr(locks, "_HEARTBEAT", locks._Heartbeat())
    lock = RunLock(tmp_path / "claim.lock")
    assert lock.acquire()
    old = time.time() - STALE_SECONDS - 1
    os.utime(lock.path, (old, old))
    deadline = time.monotonic() + 5.0
    while lock.path.stat().st_mtime < old + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.path.stat().st_mtime > time.time() - 5.0
    lock.release()
    deadline = time.monotonic() + 5.0  # with nothing left to touch, the heartbeat thread ends
    while locks._HEARTBEAT._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert locks._HEARTBEAT._thread is None


@pytest.mark.parametrize("error", [ValueError("bad value"), KeyboardInterrupt()])
def test_runs_are_released_when_their_job_fails_or_is_interrupted(tmp_path, error):
    from neurodis.sweeps import RunStore, run_sweep

    def job(configs, run_dirs, report):
        assert all(RunLock(os.path.join(d, "claim.lock")).held() for d in run_dirs)
        raise error

    store = RunStore(tmp_path)
    configs = [{"x": 1}, {"x": 2}]
    with pytest.raises(type(error) if isinstance(error, KeyboardInterrupt) else RuntimeError):
        run_sweep(configs, job, store, group_by=lambda c: 0, scheduler="synchronous", progress=False)
    assert not any(store.lock(c).path.exists() for c in configs)
    assert not any(store.is_done(c) for c in configs)
