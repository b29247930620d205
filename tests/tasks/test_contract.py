"""The contract every registered task keeps (one test id per task)."""

import json

import numpy as np
import pytest
import xarray as xr

import neurodis
from neurodis.tasks import list_tasks, make_task
from neurodis.trials import load_trials, save_trials, validate_trials

TASKS = list_tasks()
DIMS = ("trial", "time", "input", "output", "latent")


@pytest.fixture(params=TASKS)
def task(request):
    return make_task(request.param)


def test_every_task_is_registered_and_listed():
    assert {"classification", "regression", "accumulation"} <= set(TASKS)
    assert TASKS == sorted(TASKS)


def test_samples_a_valid_trials_dataset(task):
    trials = task.sample(5, rng=0)
    validate_trials(trials)
    assert set(DIMS) <= set(trials.dims) and trials.sizes["trial"] == 5
    assert list(trials["input"].values) == task.input_names
    assert list(trials["output"].values) == task.output_names
    assert list(trials["latent"].values) == task.latent_names
    for name in ("inputs", "targets", "loss_mask", "latents"):
        assert not np.isnan(trials[name].values).any(), name
        assert trials[name].dtype == np.float64, name
    assert trials["time"].attrs["units"] == "ms"
    np.testing.assert_allclose(np.diff(trials["time"].values), task.dt)


def test_same_rng_gives_identical_data_and_different_rng_different(task):
    xr.testing.assert_identical(task.sample(6, rng=11), task.sample(6, rng=11))
    generator = np.random.default_rng(11)
    xr.testing.assert_equal(task.sample(6, rng=np.random.default_rng(11))["inputs"],
                            task.sample(6, rng=generator)["inputs"])
    first, second = task.sample(6, rng=11), task.sample(6, rng=12)
    assert not np.array_equal(first["inputs"].values, second["inputs"].values)


def test_records_provenance(task):
    trials = task.sample(3, rng=7)
    for key in ("task", "config", "seed", "rng_state", "neurodis_version", "dt"):
        assert key in trials.attrs, key
    assert trials.attrs["task"] == task.name and trials.attrs["seed"] == 7
    assert trials.attrs["neurodis_version"] == neurodis.__version__
    config = json.loads(trials.attrs["config"])
    assert config["task"] == task.name
    config.pop("task")
    assert make_task(task.name, **config) == task
    # the recorded generator state replays the draws exactly
    replay = np.random.default_rng()
    replay.bit_generator.state = json.loads(trials.attrs["rng_state"])
    xr.testing.assert_identical(task.sample(3, rng=replay).drop_attrs(), trials.drop_attrs())


def test_round_trips_through_netcdf(task, tmp_path):
    trials = task.sample(4, rng=3)
    path = save_trials(trials, tmp_path / f"{task.name}.nc")
    xr.testing.assert_identical(load_trials(path), trials)


def test_sample_arrays_agrees_with_sample(task):
    batch = task.sample_arrays(4, np.random.default_rng(5))
    trials = task.sample(4, rng=5)
    np.testing.assert_array_equal(batch.inputs, trials["inputs"].values)
    np.testing.assert_array_equal(batch.targets, trials["targets"].values)
    np.testing.assert_array_equal(batch.loss_mask, trials["loss_mask"].values)
    np.testing.assert_array_equal(batch.latents, trials["latents"].values)


def test_bad_sample_arguments_raise(task):
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1; got 0"):
        task.sample(0, rng=0)
    with pytest.raises(TypeError, match="rng must be an int, numpy.random.SeedSequence"):
        task.sample(2, rng="zero")


def test_unknown_task_name_raises():
    with pytest.raises(ValueError, match=r"name must be one of \[.*'classification'.*\]; got 'clasification'"):
        make_task("clasification")
