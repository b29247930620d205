"""The regression (decoder) task: exact orthant restriction, timing and targets."""

import itertools

import numpy as np
import pytest
from scipy import stats

from neurodis.tasks import Timing, make_task
from neurodis.tasks.latents import orthant_of, quadrant_of, quadrant_to_orthant
from neurodis.tasks.regression import RegressionTask

QUADRANT_SUBSETS = [s for r in range(1, 5) for s in itertools.combinations((1, 2, 3, 4), r)]


@pytest.mark.parametrize("quadrants", QUADRANT_SUBSETS, ids=lambda q: "Q" + "".join(map(str, q)))
def test_never_samples_outside_the_requested_quadrants(quadrants):
    task = make_task("regression", orthants=quadrant_to_orthant(list(quadrants)).tolist())
    for seed in range(20):
        batch = task.sample_arrays(128, np.random.default_rng(seed))
        found = quadrant_of(batch.latents)
        assert set(found.tolist()) <= set(quadrants), f"seed {seed}: {sorted(set(found.tolist()))}"
        np.testing.assert_array_equal(batch.trial_coords["quadrant"], found)
        np.testing.assert_array_equal(batch.targets[:, 21], batch.latents)
    trials = task.sample(64, rng=123)
    assert set(trials["quadrant"].values.tolist()) <= set(quadrants)
    assert set(quadrant_of(trials["latents"].values).tolist()) <= set(quadrants)


@pytest.mark.parametrize("orthants", [(5,), (0, 7), (1, 2, 4), (0, 3, 5, 6)])
def test_never_samples_outside_the_requested_orthants_in_three_dims(orthants):
    task = RegressionTask(n_dims=3, orthants=orthants)
    for seed in range(20):
        batch = task.sample_arrays(128, np.random.default_rng(seed))
        assert set(orthant_of(batch.latents).tolist()) <= set(orthants)
        np.testing.assert_array_equal(batch.trial_coords["orthant"], orthant_of(batch.latents))
    assert "quadrant" not in batch.trial_coords


def test_latents_are_uniform_within_the_allowed_quadrants(rng):
    task = RegressionTask(orthants=tuple(quadrant_to_orthant([2, 4])))
    x = task.sample_arrays(20_000, rng).latents
    counts = np.bincount(quadrant_of(x), minlength=5)[[2, 4]]
    assert np.all(np.abs(counts - 10_000) < 5 * np.sqrt(20_000 * 0.25))
    for i in range(2):
        assert stats.kstest(2 * np.abs(x[:, i]), "uniform").pvalue > 1e-3


def test_fixed_rt_trial_structure(rng):
    task = RegressionTask()
    batch = task.sample_arrays(200, rng)
    assert task.output_names == ["x0", "x1"] and batch.targets.shape == (200, 22, 2)
    assert np.all(batch.inputs[:, :21, 0] == 1) and np.all(batch.inputs[:, 21, 0] == 0)
    assert np.all(batch.inputs[:, [0, 21], 1:] == 0)
    np.testing.assert_array_equal(batch.loss_mask[0, :, 0], [0] * 21 + [1])
    np.testing.assert_array_equal(batch.targets[:, 21], batch.latents)
    noise = batch.inputs[:, 1:21, 1:] - batch.latents[:, None]
    assert abs(noise.std() - 0.2) < 5 * 0.2 / np.sqrt(2 * noise.size)


def test_free_rt_keeps_the_stimulus_on_through_the_decision(rng):
    task = RegressionTask(free_rt=True, timing=Timing(fixation=100, stimulus=500, delay=0, decision=100))
    batch = task.sample_arrays(50, rng)
    assert np.all(batch.inputs[:, 1:, 1:] != 0) and np.all(batch.inputs[:, 0, 1:] == 0)
    assert np.all(batch.inputs[:, 6, 0] == 0)  # the go cue is unchanged
    assert task.config()["free_rt"] is True


def test_config_round_trips_through_make_task():
    task = RegressionTask(n_dims=3, orthants=[1, 6], noise="ar1", noise_params={"ar": 0.3})
    config = task.config()
    assert config["orthants"] == [1, 6] and config["task"] == "regression"
    config.pop("task")
    assert make_task("regression", **config) == task


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"orthants": [4]}, ValueError, r"orthants entry must be an integer in \[0, 3\]; got 4"),
        ({"orthants": [0, 0]}, ValueError, "orthants must hold distinct orthant codes"),
        ({"orthants": []}, ValueError, "orthants must hold at least one orthant code"),
        ({"orthants": 2}, TypeError, "orthants must be a sequence of orthant codes; got 2"),
        ({"orthants": [0.5]}, TypeError, "orthants entry must be an integer; got float"),
        ({"free_rt": 1}, TypeError, "free_rt must be a bool; got int"),
        ({"n_dims": -1}, ValueError, "n_dims must be an integer >= 1; got -1"),
        ({"sigma": float("inf")}, ValueError, "sigma must be a finite real number; got inf"),
        ({"noise": "white"}, ValueError, "noise must be one of"),
        ({"timing": {"decision": 0}}, ValueError, "timing.decision must last at least one step"),
        ({"timing": {"fixation": 150}}, ValueError, "fixation must be a non-negative multiple of dt=100.0 ms; got 150.0"),
    ],
)
def test_bad_parameters_raise(params, error, match):
    with pytest.raises(error, match=match):
        make_task("regression", **params)


def test_bad_sampling_arguments_raise():
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1; got -2"):
        RegressionTask().sample_arrays(-2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got NoneType"):
        RegressionTask().sample_arrays(2, None)
