"""Sweeps that fail well: one line per failed run, no retried errors, quiet Ctrl-C, local-only clusters."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import cloudpickle
import pytest
import xarray as xr

from neurodis.errors import RunFailedError
from neurodis.sweeps import RunStore, locks, run_id, run_sweep
from neurodis.sweeps.runner import ATTEMPTS_LOG, ERROR_LOG, start_local_cluster
from neurodis.trials import save_dataset

# the workers of a LocalCluster cannot import this test module: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def square_job(configs, run_dirs, report):
    return [xr.Dataset({"y": ((), float(c["x"]) ** 2)}) for c in configs]


def raising_job(configs, run_dirs, report):
    with open(Path(run_dirs[0]) / "calls", "a") as calls:
        calls.write("called\n")
    raise ValueError("n_units must be an integer >= 1;\ngot 0")


def dying_job(configs, run_dirs, report):
    """Kills its worker the first time it runs a group, or every time if asked to."""
    marker = Path(run_dirs[0]) / "attempted"
    if not marker.exists() or configs[0].get("always_die"):
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return square_job(configs, run_dirs, report)


@pytest.fixture(scope="module")
def cluster():
    """One local worker; a worker that dies once fails its task at once (no silent reschedule)."""
    import dask
    import distributed  # noqa: F401  first: it adds its config, which the set below must not undo

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), start_local_cluster(1) as local:
        yield local


def attempts(store, config):
    path = store.run_dir(config) / ATTEMPTS_LOG
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_an_error_of_a_job_is_not_retried_and_fails_in_one_line(tmp_path, cluster):
    store = RunStore(tmp_path)
    configs = [{"x": 1}, {"x": 2}]
    with pytest.raises(RunFailedError) as caught:
        run_sweep(configs, raising_job, store, group_by=lambda c: 0, scheduler=cluster.scheduler_address,
                  retries=3, progress=False)
    message = str(caught.value)
    run = run_id(configs[0])
    log = store.run_dir(configs[0]) / ERROR_LOG
    assert message == (f"run {run} (trained with 1 other run) failed: ValueError: n_units must be an integer "
                       f">= 1; got 0; its traceback is in {log}")
    assert "Traceback (most recent call last)" in log.read_text() and "raising_job" in log.read_text()
    assert (store.run_dir(configs[0]) / "calls").read_text() == "called\n"  # run once, not retried
    assert not any(store.lock(c).path.exists() or store.is_done(c) for c in configs)


@pytest.mark.parametrize(
    ("job", "match"),
    [
        (lambda configs, run_dirs, report: [],
         r"failed: ValueError: job must return one Dataset per config \(1\); got 0"),
        (lambda configs, run_dirs, report: [1],
         r"failed: TypeError: job must return xarray.Datasets; got 1"),
    ],
)
def test_a_job_returning_the_wrong_results_fails(tmp_path, job, match):
    with pytest.raises(RunFailedError, match=match):
        run_sweep([{"x": 1}], job, RunStore(tmp_path), scheduler="synchronous", progress=False)


def test_only_lost_workers_are_retried(tmp_path, cluster):
    store = RunStore(tmp_path)
    configs = [{"x": 1}, {"x": 2}]
    run_sweep(configs, dying_job, store, group_by=lambda c: 0, scheduler=cluster.scheduler_address,
              retries=1, progress=False)
    assert [store.load_result(c)["y"].item() for c in configs] == [1.0, 4.0]
    assert [attempts(store, c) for c in configs] == [2, 2]  # the killed attempt, then the retry
    doomed = [{"x": 3, "always_die": True}]
    with pytest.raises(RunFailedError, match=rf"run {run_id(doomed[0])} failed: its worker process died and "
                                             r"retries=0 are used up; KilledWorker: .*its traceback is in "):
        run_sweep(doomed, dying_job, store, scheduler=cluster.scheduler_address, retries=0, progress=False)


def test_runs_held_by_another_sweep_are_awaited_not_run(tmp_path):
    store = RunStore(tmp_path)
    configs = [{"x": 1}, {"x": 2}]
    held = store.prepare(configs[0])
    (held / "claim.lock").write_text(json.dumps({"host": "another-host", "pid": 1, "token": "theirs"}))

    def finish_elsewhere():
        time.sleep(1.0)
        save_dataset(xr.Dataset({"y": ((), -1.0)}), held / "result.nc")
        (held / "claim.lock").unlink()

    other = threading.Thread(target=finish_elsewhere)
    other.start()
    run_sweep(configs, square_job, store, scheduler="synchronous", progress=False)
    other.join()
    assert [store.load_result(c)["y"].item() for c in configs] == [-1.0, 4.0]
    assert [attempts(store, c) for c in configs] == [0, 1]


def test_a_run_of_a_dead_sweep_is_taken_over(tmp_path):
    store = RunStore(tmp_path)
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    folder = store.prepare({"x": 3})
    (folder / "claim.lock").write_text(json.dumps({"host": locks._HOST, "pid": process.pid}))
    run_sweep([{"x": 3}], square_job, store, scheduler="synchronous", progress=False)
    assert store.load_result({"x": 3})["y"].item() == 9.0 and not (folder / "claim.lock").exists()


def test_a_run_finished_while_it_is_claimed_is_not_run_again(tmp_path, monkeypatch):
    from neurodis.sweeps.locks import RunLock
    from neurodis.sweeps.runner import _execute

    store = RunStore(tmp_path)
    folder = store.prepare({"x": 1})
    acquire = RunLock.acquire

    def finish_then_acquire(lock):  # the previous holder writes the result and lets go meanwhile
        save_dataset(xr.Dataset({"y": ((), -1.0)}), folder / "result.nc")
        return acquire(lock)

    monkeypatch.setattr(RunLock, "acquire", finish_then_acquire)
    assert _execute(square_job, [{"x": 1}], [str(folder)], print) is None
    assert store.load_result({"x": 1})["y"].item() == -1.0
    assert attempts(store, {"x": 1}) == 0 and not store.lock({"x": 1}).path.exists()


def listening_addresses():
    import psutil

    me = psutil.Process()
    return {(c.laddr.ip, c.laddr.port) for p in [me, *me.children(recursive=True)]
            for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}


def http_status(url):
    try:
        return urllib.request.urlopen(url, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code


def test_local_clusters_listen_on_localhost_only_and_serve_no_dashboard(cluster):
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert {ip for ip, _ in listening_addresses()} == {"127.0.0.1"}  # scheduler, nanny, workers, HTTP
    http = f"http://127.0.0.1:{cluster.scheduler.http_server.port}"
    assert http_status(f"{http}/health") == 200 and http_status(f"{http}/status") == 404


def test_the_dashboard_is_served_on_localhost_when_asked(cluster, tmp_path):
    with start_local_cluster(1, dashboard=True) as local:
        assert local.dashboard_link.startswith("http://127.0.0.1:")
        assert http_status(local.dashboard_link) == 200
        assert {ip for ip, _ in listening_addresses()} == {"127.0.0.1"}
    with pytest.raises(TypeError, match=r"dashboard must be a bool; got str 'yes'"):
        start_local_cluster(1, dashboard="yes")
    with pytest.raises(TypeError, match=r"dashboard must be a bool; got int 1"):
        run_sweep([{"x": 1}], square_job, RunStore(tmp_path), dashboard=1, progress=False)


def test_a_sweep_with_a_dashboard_says_where_it_is(tmp_path, capsys):
    run_sweep([{"x": 1}], square_job, RunStore(tmp_path), n_workers=1, dashboard=True, progress=False)
    assert capsys.readouterr().err.startswith("Dask dashboard: http://127.0.0.1:")


INTERRUPTED_SWEEP = """
    import signal, sys, time
    from pathlib import Path
    import xarray as xr
    from neurodis.sweeps import RunStore, run_sweep

    # as in a terminal: a test run started in the background of a non-interactive shell
    # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def slow_job(configs, run_dirs, report):
        Path(run_dirs[0], "started").touch()
        time.sleep(120)
        return [xr.Dataset() for _ in configs]

    if __name__ == "__main__":
        try:
            run_sweep([{"x": 0}], slow_job, RunStore(sys.argv[1]), n_workers=1, progress=False)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_prints_no_worker_complaints_and_releases_the_runs(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(INTERRUPTED_SWEEP))
    store = tmp_path / "store"
    # its own process group, as a terminal's Ctrl-C reaches the sweep and all its workers
    process = subprocess.Popen([sys.executable, str(script), str(store)], stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(store.glob("runs/*/started")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(store.glob("runs/*/started")), "the sweep never started its job"
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "interrupted"  # no tracebacks, no warnings of workers shutting down
    assert not list(store.glob("runs/*/claim.lock*"))
