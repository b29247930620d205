"""Sweeps: grid expansion, the run store, and the runner (in-process and on a LocalCluster)."""

import json
import os
import signal
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import xarray as xr

from neurodis.sweeps import RunStore, canonical_json, expand_grid, group_configs, run_id, run_sweep

# the workers of a LocalCluster cannot import this test module: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def square_job(configs, run_dirs, report):
    """A job whose result is a closed form of its config, so results can be checked."""
    results = []
    for config, run_dir in zip(configs, run_dirs):
        report({"run": run_dir, "loss": float(config["x"])})
        results.append(xr.Dataset({"y": ((), float(config["x"]) ** 2)}, attrs={"x": config["x"]}))
    return results


def monitors(worker):
    """Whether a Dask worker runs its profiler, and its tick interval (seconds)."""
    return "profile" in worker.periodic_callbacks, worker._tick_interval


def dying_job(configs, run_dirs, report):
    """Kills its own worker process the first time it runs a group, then succeeds."""
    marker = Path(run_dirs[0]) / "attempted"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    from distributed import get_worker

    results = square_job(configs, run_dirs, report)
    profiler, tick = monitors(get_worker())
    for result in results:  # the worker's environment, to check what the runner started it with
        result.attrs.update({k: os.environ.get(k, "unset")
                             for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS")})
        result.attrs.update(profiler=int(profiler), tick_ms=float(tick * 1000))
    return results


def failing_job(configs, run_dirs, report):
    raise RuntimeError("job failed on purpose")


def test_expand_grid_and_run_ids():
    configs = expand_grid({"arch": "ctrnn"}, {"n_tasks": [2, 24], "seed": [0, 1, 2]})
    assert len(configs) == 6
    assert configs[0] == {"arch": "ctrnn", "n_tasks": 2, "seed": 0}
    assert len({run_id(c) for c in configs}) == 6
    assert canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'


@pytest.mark.parametrize(
    ("base", "grid", "match"),
    [
        ({"seed": 0}, {"seed": [1]}, r"grid keys must not repeat base keys; got \['seed'\] in both"),
        ({}, {"seed": []}, r"grid\['seed'\] must be a non-empty list of values; got \[\]"),
        ({}, {"seed": "01"}, r"grid\['seed'\] must be a non-empty list of values; got '01'"),
    ],
)
def test_expand_grid_errors(base, grid, match):
    with pytest.raises(ValueError, match=match):
        expand_grid(base, grid)


def test_canonical_json_refuses_non_json_values():
    with pytest.raises(ValueError, match=r"config must hold only finite JSON-serialisable values"):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError, match=r"config must be a mapping"):
        canonical_json([1])


def test_group_configs_by_key():
    configs = [{"n": 2, "seed": s} for s in range(3)] + [{"n": 3, "seed": 0}]
    assert [len(g) for g in group_configs(configs, by=lambda c: c["n"])] == [3, 1]
    assert len(group_configs(configs, by=None)) == 4


def test_store_refuses_other_versions_and_collisions(tmp_path):
    store = RunStore(tmp_path)
    (tmp_path / "store.json").write_text(json.dumps({"neurodis_version": "0.0.1", "schema": 1}))
    with pytest.raises(ValueError, match=r"holds runs of another neurodis version or config schema \(neurodis_version: store has '0.0.1'"):
        RunStore(tmp_path)
    other = RunStore(tmp_path / "other")
    folder = other.prepare({"x": 1})
    (folder / "config.json").write_text(json.dumps({"x": 2}))
    with pytest.raises(ValueError, match=r"holds another config"):
        other.prepare({"x": 1})
    with pytest.raises(FileNotFoundError, match=r"has not finished"):
        store.load_result({"x": 1})


def test_synchronous_sweep_skips_finished_runs_and_collects(tmp_path):
    store = RunStore(tmp_path)
    configs = expand_grid({}, {"x": [1, 2, 3], "seed": [0, 1]})
    paths = run_sweep(configs[:2], square_job, store, scheduler="synchronous", progress=False)
    stamps = [p.stat().st_mtime_ns for p in paths]
    run_sweep(configs, square_job, store, scheduler="synchronous", progress=False)
    assert [p.stat().st_mtime_ns for p in paths] == stamps  # finished runs were not redone
    result = store.collect(configs, dims=["x", "seed"])
    assert result["y"].dims == ("x", "seed")
    np.testing.assert_array_equal(result["y"].sel(seed=1).values, [1.0, 4.0, 9.0])
    with pytest.raises(ValueError, match=r"dims \['n'\] are not keys of config"):
        store.collect(configs, dims=["n"])


def test_sweep_survives_a_killed_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as an earlier Dask cluster leaves it
    store = RunStore(tmp_path)
    configs = expand_grid({}, {"x": [1, 2, 3, 4]})
    run_sweep(configs, dying_job, store, group_by=lambda c: c["x"] % 2, n_workers=2,
              retries=2, progress=False)
    # every group's first attempt was killed mid-run; every run still finished, exactly once
    for config in configs:
        assert store.load_result(config)["y"].item() == config["x"] ** 2
    assert sum((store.run_dir(c) / "attempted").exists() for c in configs) == 2
    # workers, respawned ones too, keep Dask's environment but its malloc trim threshold:
    # they get the runner's allocator settings
    names = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS")
    expected = (str(2**30), str(2**28), "1")
    assert {tuple(store.load_result(c).attrs[name] for name in names) for c in configs} == {expected}
    # and Dask's quieter monitors (runner.QUIET_MONITORS): no profiler, a tick a second
    assert {(store.load_result(c).attrs["profiler"], store.load_result(c).attrs["tick_ms"]) for c in configs} \
        == {(0, 1000.0)}


def test_local_cluster_runs_quiet_monitors():
    from distributed import Client

    from neurodis.sweeps.runner import start_local_cluster

    with start_local_cluster(1) as cluster, Client(cluster) as client:
        found = client.run(lambda dask_worker: monitors(dask_worker))
        assert [tuple(value) for value in found.values()] == [(False, 1.0)]
        assert "stealing" not in cluster.scheduler.extensions and cluster.scheduler._tick_interval == 1.0


@pytest.mark.parametrize("dashboard", [False, True])
def test_local_cluster_keeps_the_profiler_for_a_dashboard(monkeypatch, dashboard):
    import dask
    import distributed

    from neurodis.sweeps.runner import QUIET_MONITORS, start_local_cluster

    seen, before = {}, {key: dask.config.get(key) for key in QUIET_MONITORS}

    def fake_cluster(**kwargs):  # what the real one would read while it starts
        seen.update({key: dask.config.get(key) for key in QUIET_MONITORS})
        return kwargs

    monkeypatch.setattr(distributed, "LocalCluster", fake_cluster)
    kwargs = start_local_cluster(1, dashboard=dashboard)
    expected = {**QUIET_MONITORS, "distributed.worker.profile.enabled": dashboard}
    assert kwargs["scheduler_kwargs"]["dashboard"] is dashboard and seen == expected
    # the nannies' copy of the config holds the same settings; this process's config is restored
    assert {key: dask.config.get(key, config=kwargs["config"]) for key in QUIET_MONITORS} == expected
    assert {key: dask.config.get(key) for key in QUIET_MONITORS} == before


def test_failed_jobs_raise_and_leave_no_result(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError, match="job failed on purpose"):
        run_sweep([{"x": 1}], failing_job, store, scheduler="synchronous", progress=False)
    assert not store.is_done({"x": 1})
    assert (store.run_dir({"x": 1}) / "config.json").exists()


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    with pytest.raises(ConnectionError, match=r"could not connect to 'tcp://127.0.0.1:9'"):
        run_sweep([{"x": 1}], square_job, RunStore(tmp_path), scheduler="tcp://127.0.0.1:9",
                  progress=False, connect_timeout=1.0)


def test_local_cluster_needs_a_positive_worker_count():
    from neurodis.sweeps.runner import start_local_cluster

    with pytest.raises(ValueError, match="n_workers"):
        start_local_cluster(0)
