"""`run`: a trained network's states on given trials, the simulator for CTRNNs and one
frozen torch pass for the rest (neurodis.experiments.running)."""

import numpy as np
import pytest
import torch
import xarray as xr

import neurodis
from neurodis.experiments import TrainedNetwork, run
from neurodis.models import make_model
from neurodis.simulator import simulate
from neurodis.tasks.encoders import Encoder


@pytest.fixture(scope="module")
def task():
    return neurodis.make_task("classification", n_tasks=3, timing={"stimulus": 300.0})


@pytest.fixture(scope="module")
def encoder():
    return Encoder(hidden=(8,), n_out=6, seed=2)


def _network(arch, task, encoder, **options):
    return TrainedNetwork(make_model(arch, n_inputs=7, n_outputs=3, n_units=8, seed=0, **options), task, encoder)


def test_a_ctrnn_runs_in_the_simulator_in_float64(task, encoder):
    network = _network("ctrnn", task, encoder, recurrent_noise=0.1)
    trials = task.sample(6, rng=0, encoder=encoder)
    ran = run(network, trials, rng=3)
    expected = simulate(network.model, trials, rng=3, dtype=np.float64)
    np.testing.assert_array_equal(ran["rates"].values, expected["rates"].values)
    assert ran["rates"].dims == ("trial", "time", "unit") and ran["rates"].dtype == np.float64
    xr.testing.assert_identical(ran["inputs"], trials["inputs"])  # the trials are kept
    quiet = run(network, trials, noise=False)
    np.testing.assert_array_equal(quiet["rates"].values,
                                  simulate(network.model, trials, noise=False, dtype=np.float64)["rates"].values)


@pytest.mark.parametrize("arch", ["ctrnn", "gru", "transformer"])
def test_the_torch_pass_matches_the_model_and_leaves_it_as_it_was(task, encoder, arch):
    network = _network(arch, task, encoder)
    network.model.train()
    before = {name: p.clone() for name, p in network.model.state_dict().items()}
    trials = task.sample(7, rng=1, encoder=encoder)
    ran = run(network, trials, noise=False, backend="torch", batch_size=3)
    assert network.model.training  # eval mode only inside
    assert all(torch.equal(before[name], p) for name, p in network.model.state_dict().items())
    inputs = torch.tensor(trials["inputs"].values, dtype=torch.float32)
    with torch.no_grad():
        states, logits = network.model.eval()(inputs, input_noise=torch.zeros_like(inputs))
    np.testing.assert_allclose(ran["rates"].values, states.double().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ran["outputs"].values, network.model.readout.activate(logits).double().numpy(),
                               rtol=1e-6, atol=1e-7)


def test_the_torch_pass_draws_the_noise_from_rng(task, encoder):
    network = _network("gru", task, encoder, input_noise=0.1)
    trials = task.sample(5, rng=1, encoder=encoder)
    one, again = run(network, trials, rng=4), run(network, trials, rng=4)
    xr.testing.assert_identical(one, again)
    assert not np.array_equal(one["rates"].values, run(network, trials, rng=5)["rates"].values)
    assert not np.array_equal(one["rates"].values, run(network, trials, noise=False, rng=4)["rates"].values)


def test_one_step_and_trials_of_another_task(task, encoder):
    network = _network("ctrnn", task, encoder)
    regression = neurodis.make_task("regression", timing=task.timing)
    trials = regression.sample(4, rng=0, encoder=encoder)  # 2 targets; the network has 3 outputs
    for backend in ("simulator", "torch"):
        ran = run(network, trials, noise=False, time=2, backend=backend)
        assert ran["rates"].dims == ("trial", "unit") and ran["outputs"].sizes["output"] == 3
        assert ran["rates"].attrs["time"] == float(trials["time"][2]) and "targets" not in ran
        full = run(network, trials, noise=False, backend=backend)
        np.testing.assert_array_equal(ran["rates"].values, full["rates"].isel(time=2).values)


def test_run_rejects_bad_input(task, encoder):
    network = _network("gru", task, encoder)
    trials = task.sample(2, rng=0, encoder=encoder)
    with pytest.raises(TypeError, match="network must be a TrainedNetwork"):
        run(network.model, trials)
    with pytest.raises(TypeError, match="trials must be an xarray.Dataset"):
        run(network, trials["inputs"])
    with pytest.raises(TypeError, match="noise must be a bool"):
        run(network, trials, noise=None)
    with pytest.raises(ValueError, match="backend must be one of"):
        run(network, trials, backend="numba")
    with pytest.raises(ValueError, match="backend='simulator' runs CTRNNs only; got a model of arch 'gru'"):
        run(network, trials, backend="simulator")
    with pytest.raises(ValueError, match=r"time must be an integer in \[0, 4\]; got 9"):
        run(network, trials, time=9)
    with pytest.raises(ValueError, match="encoder must give the model's 7 input channels; the task's trials have 3"):
        run(network, task.sample(2, rng=0))
