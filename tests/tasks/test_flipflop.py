"""Tests of the N-bit flip-flop task against a slow loop reference."""

import numpy as np
import pytest

import neurodis
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.flipflop import FlipFlopTask, flipflop_targets


def slow_targets(inputs: np.ndarray) -> np.ndarray:
    """Reference: walk every trial, bit and step, remembering the last pulse."""
    targets = np.zeros_like(inputs)
    for trial in range(inputs.shape[0]):
        for bit in range(inputs.shape[2]):
            state = 0.0
            for step in range(inputs.shape[1]):
                if inputs[trial, step, bit] != 0:
                    state = float(np.sign(inputs[trial, step, bit]))
                targets[trial, step, bit] = state
    return targets


def test_registered_and_built_by_name():
    task = neurodis.make_task("flipflop", n_bits=2, p_pulse=0.2, duration=300.0, dt=20.0)
    assert isinstance(task, FlipFlopTask)
    assert task.n_steps == 15 and task.dt == 20.0
    assert task.input_names == ["stimulus_0", "stimulus_1"]
    assert task.output_names == ["bit_0", "bit_1"]


def test_targets_match_slow_reference(rng):
    task = FlipFlopTask(n_bits=3, p_pulse=0.1, duration=400.0, dt=10.0)
    batch = task.sample_arrays(20, rng)
    np.testing.assert_array_equal(batch.targets, slow_targets(batch.inputs))
    np.testing.assert_array_equal(batch.latents, batch.targets[:, -1])
    np.testing.assert_array_equal(batch.trial_coords["n_pulses"], (batch.inputs != 0).sum(axis=(1, 2)))
    np.testing.assert_array_equal(batch.loss_mask, np.ones_like(batch.targets))


def test_flipflop_targets_on_arbitrary_pulse_amplitudes(rng):
    x = rng.normal(size=(5, 30, 2)) * (rng.random((5, 30, 2)) < 0.2)
    np.testing.assert_array_equal(flipflop_targets(x), slow_targets(x))


def test_pulse_statistics(rng):
    p = 0.08
    task = FlipFlopTask(n_bits=3, p_pulse=p, duration=1000.0, dt=10.0)
    inputs = task.sample_arrays(400, rng).inputs
    n = inputs.size
    assert set(np.unique(inputs)) <= {-1.0, 0.0, 1.0}
    rate = np.mean(inputs != 0)
    assert abs(rate - p) < 5 * np.sqrt(p * (1 - p) / n)
    pulses = inputs[inputs != 0]
    assert abs(np.mean(pulses > 0) - 0.5) < 5 * np.sqrt(0.25 / pulses.size)


def test_limits_of_pulse_probability(rng):
    assert not FlipFlopTask(p_pulse=0.0).sample_arrays(3, rng).targets.any()
    always = FlipFlopTask(p_pulse=1.0, duration=50.0).sample_arrays(3, rng)
    np.testing.assert_array_equal(always.targets, always.inputs)


def test_same_rng_same_trials_and_encoder_applies():
    task = FlipFlopTask(n_bits=3, duration=200.0)
    a, b = task.sample(4, rng=5), task.sample(4, rng=5)
    np.testing.assert_array_equal(a["inputs"].values, b["inputs"].values)
    assert not np.array_equal(a["inputs"].values, task.sample(4, rng=6)["inputs"].values)
    enc = Encoder(n_dims=3, hidden=(8,), n_out=5)
    encoded = task.sample(4, rng=5, encoder=enc)
    assert list(encoded["input"].values) == enc.encoded_names()


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_bits": 0}, ValueError, "n_bits must be an integer >= 1; got 0"),
        ({"n_bits": 1.5}, TypeError, "n_bits must be an integer; got float"),
        ({"p_pulse": 1.5}, ValueError, r"p_pulse must be <= 1.0; got 1.5"),
        ({"p_pulse": -0.1}, ValueError, r"p_pulse must be >= 0.0; got -0.1"),
        ({"dt": 0.0}, ValueError, r"dt must be > 0.0; got 0.0"),
        ({"duration": 105.0}, ValueError, r"duration must be a non-negative multiple of dt=10.0 ms"),
        ({"duration": 0.0}, ValueError, r"duration must be at least one step of dt=10.0 ms; got 0.0"),
        ({"duration": float("nan")}, ValueError, "duration must be a finite real number; got nan"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        FlipFlopTask(**params)


def test_config_rebuilds_the_task():
    task = FlipFlopTask(n_bits=2, p_pulse=0.3, duration=80.0, dt=20.0)
    config = task.config()
    assert config == {"task": "flipflop", "n_bits": 2, "p_pulse": 0.3, "duration": 80.0, "dt": 20.0}
    assert neurodis.make_task("flipflop", **{k: v for k, v in config.items() if k != "task"}) == task


def test_sample_arrays_arguments(rng):
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1; got 0"):
        FlipFlopTask().sample_arrays(0, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got int"):
        FlipFlopTask().sample_arrays(3, 0)
