"""The bounded-accumulator task: running evidence sums absorbed at ±bound."""

import numpy as np
import pytest

from neurodis.tasks import Timing, make_task
from neurodis.tasks.accumulation import AccumulationTask, absorb
from neurodis.tasks.classification import boundary_normals


def _absorb_reference(running_bxtxn, bound):
    """Slow, obviously correct absorption: walk every trace step by step."""
    out = running_bxtxn.copy()
    for b in range(out.shape[0]):
        for k in range(out.shape[2]):
            for t in range(out.shape[1]):
                if abs(out[b, t, k]) >= bound:
                    out[b, t:, k] = bound * np.sign(out[b, t, k])
                    break
    return out


def test_absorb_matches_the_step_by_step_reference(rng):
    running = np.cumsum(rng.normal(0, 1.0, size=(40, 25, 3)), axis=1)
    np.testing.assert_array_equal(absorb(running, 2.5), _absorb_reference(running, 2.5))


def test_targets_are_the_absorbed_running_sum_of_signed_evidence(rng):
    task = AccumulationTask(n_tasks=6, bound=1.0, sigma=0.4)
    batch = task.sample_arrays(300, rng)
    assert task.input_names == ["stimulus_0", "stimulus_1"] and batch.inputs.shape == (300, 20, 2)
    np.testing.assert_array_equal(task.normals, boundary_normals(6, 2))
    running = np.cumsum(batch.inputs @ task.normals.T, axis=1)
    np.testing.assert_allclose(batch.targets, _absorb_reference(running, 1.0), rtol=0, atol=1e-12)
    assert np.all(batch.loss_mask == 1.0)
    hit = np.abs(batch.targets) == 1.0
    assert hit.any() and not hit.all()
    # once absorbed, a trace never leaves the bound
    assert np.all(np.diff(hit.astype(int), axis=1) >= 0)
    # continuous targets: no integer truncation, no rescaling
    free = batch.targets[~hit]
    assert np.mean(free != np.round(free)) > 0.99
    np.testing.assert_allclose(batch.targets[:, 0], np.clip(batch.inputs[:, 0] @ task.normals.T, -1, 1), atol=1e-12)


def test_default_trial_has_twenty_stimulus_steps_and_no_lag(rng):
    task = make_task("accumulation")
    batch = task.sample_arrays(8, rng)
    assert batch.inputs.shape == (8, 20, 2) and batch.targets.shape == (8, 20, 24)
    assert np.all(batch.inputs != 0)
    assert task.readout == "tanh" and task.bound == 5.0


def test_evidence_stops_outside_the_stimulus_period(rng):
    task = AccumulationTask(n_tasks=2, timing=Timing(fixation=200, stimulus=300, delay=200, decision=0))
    batch = task.sample_arrays(10, rng)
    assert np.all(batch.inputs[:, :2] == 0) and np.all(batch.inputs[:, 5:] == 0)
    assert np.all(batch.targets[:, :2] == 0)
    assert np.all(batch.targets[:, 5:] == batch.targets[:, 4:5])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: make_task("accumulation", bound=0.0), ValueError, r"bound must be > 0.0; got 0.0"),
        (lambda: make_task("accumulation", bound=float("nan")), ValueError, "bound must be a finite real number"),
        (lambda: make_task("accumulation", n_tasks=0), ValueError, "n_tasks must be an integer >= 1; got 0"),
        (lambda: make_task("accumulation", timing={"stimulus": 0, "fixation": 100}), ValueError,
         "timing.stimulus must last at least one step"),
        (lambda: make_task("accumulation", noise_params={"ratio": 2.0}), TypeError, "noise 'gaussian' accepts parameters"),
        (lambda: absorb(np.zeros(4), 1.0), ValueError, r"running must have a trial and a time axis; got shape \(4,\)"),
        (lambda: absorb(np.zeros((2, 3)), -1.0), ValueError, r"bound must be > 0.0; got -1.0"),
        (lambda: AccumulationTask().sample_arrays(3, "seed"), TypeError, "rng must be a numpy.random.Generator; got str"),
    ],
)
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()
