"""Noise-free states, fixed points and geometry of a network (neurodis.experiments.dynamics)."""

import numpy as np
import pytest
import torch
import xarray as xr

from neurodis.experiments import TrainedNetwork
from neurodis.experiments.dynamics import attractor, geometry, visited_states
from neurodis.models import CTRNN
from neurodis.simulator import simulate
from neurodis.tasks import make_task

MU = np.array([0.99, 0.97, 0.5, 0.2])


@pytest.fixture(scope="module")
def linear():
    """r ← W r + b with W = diag(μ), b = 1 and no input: one fixed point r* = 1 / (1 - μ)."""
    task = make_task("classification", n_tasks=2)
    net = CTRNN(3, 2, n_units=4, activation="linear")
    with torch.no_grad():
        net.weight_hh.copy_(torch.diag(torch.tensor(MU, dtype=net.weight_hh.dtype)))
        net.weight_ih.zero_()
        net.bias.fill_(1.0)
    return TrainedNetwork(net, task, None)


def test_visited_states_are_the_noise_free_simulation_with_anonymous_units(linear):
    trials = linear.task.sample(6, rng=1)
    states = visited_states(linear, trials)
    assert "unit" not in states.coords
    np.testing.assert_array_equal(states.values, simulate(linear.model, trials, noise=False,
                                                          dtype=np.float64)["rates"].values)


def test_attractor_finds_the_one_fixed_point_of_a_linear_network_and_its_spectrum(linear):
    found = attractor(linear, visited_states(linear, linear.task.sample(8, rng=0)), n_inits=6, rng=0)
    assert found.sizes["fixed_point"] == 1 and found.attrs["n_inits"] == 6
    np.testing.assert_allclose(found["states"].values[0], 1 / (1 - MU), rtol=1e-6)
    np.testing.assert_allclose(found["eigenvalues_real"].values[0], MU, rtol=1e-5)
    assert "eigenvectors_real" in found
    lean = attractor(linear, visited_states(linear, linear.task.sample(8, rng=0)), n_inits=6, rng=0,
                     eigenvectors=False)
    assert "eigenvectors_real" not in lean
    np.testing.assert_array_equal(lean["eigenvalues_real"].values, found["eigenvalues_real"].values)


def test_geometry_of_rank_one_states_with_a_silent_unit():
    # every unit follows one time course (rank one); unit 2 never fires
    time_course = np.arange(1.0, 6.0)
    scale = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]])  # two trials
    states = xr.DataArray(scale[:, None, :] * time_course[None, :, None], dims=("trial", "time", "unit"))
    result = geometry(states)
    np.testing.assert_allclose(result["explained_variance_ratio"].values[0], 1.0)
    assert float(result["participation_ratio"]) == pytest.approx(1.0)
    assert np.isnan(result["sparseness"].values[2]) and result.attrs["n_silent"] == 1
    assert result.attrs["n_stimuli"] == 2 and result.attrs["state_time"] == "final step"
    np.testing.assert_allclose(result["mean_rate"].values, states.mean(("trial", "time")).values)
    assert "projections" in result  # the PCA stays whole, for the trajectory plots


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda net: attractor(net, xr.DataArray(np.zeros((3, 4)), dims=("time", "unit")), n_inits=2),
         r"rates must have dims \('trial', 'time', 'unit'\); got \('time', 'unit'\) with shape \(3, 4\)"),
        (lambda net: attractor(net, visited_states(net, net.task.sample(2, rng=0)), n_inits=0),
         r"n_inits must be an integer >= 1; got 0"),
        (lambda net: geometry(xr.DataArray(np.zeros((3, 4)), dims=("trial", "unit"))),
         r"rates must have dims \('trial', 'time', 'unit'\); got \('trial', 'unit'\) with shape \(3, 4\)"),
    ],
)
def test_dynamics_errors(linear, call, match):
    with pytest.raises(ValueError, match=match):
        call(linear)
