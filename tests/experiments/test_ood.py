"""The out-of-distribution experiment: a trained network, regression trials, its states,
decoders (neurodis.experiments.ood)."""

import json

import numpy as np
import pytest
import torch
import xarray as xr
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.analysis import fit_ood_decoders, make_folds
from neurodis.experiments import TrainedNetwork, generalization, ood_generalization, regression_rates
from neurodis.models import make_model
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.latents import quadrant_of
from tests.analysis.test_decoding import TRIAL_ROLE_TEST, _assert_roles_respect_regions


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def task_and_encoder():
    task = neurodis.make_task("classification", n_tasks=6, timing={"stimulus": 500.0})
    return task, Encoder(hidden=(16,), n_out=8, seed=3)


@pytest.mark.parametrize("arch", ["ctrnn", "lstm"])
def test_ood_generalization_runs_a_frozen_network_and_tests_only_heldout_trials(task_and_encoder, arch):
    task, encoder = task_and_encoder
    model = make_model(arch, n_inputs=9, n_outputs=6, n_units=12)
    model.train()
    result = ood_generalization(TrainedNetwork(model, task, encoder), n_trials=150, n_test=60, rng=0)
    assert model.training  # the caller's mode is restored
    assert dict(result.sizes) == {"fold": 4, "trial": 4 * 210, "latent": 2, "unit": 12}
    _assert_roles_respect_regions(result, make_folds("quadrant"))
    np.testing.assert_array_equal(result["n_train"], 150)
    np.testing.assert_array_equal(result["n_test"], 60)
    assert result.attrs["decoded_step"] == task.timing.decision_index
    assert (result.attrs["sigma"], result.attrs["n_steps"], result.attrs["free_rt"]) == (task.sigma, 5, 0)
    assert '"arch": "%s"' % arch in result.attrs["model"] and '"regression"' in result.attrs["task"]
    assert np.all((result["r2_paper"] > -2) & (result["r2_paper"] <= 1))
    again = ood_generalization(TrainedNetwork(model, task, encoder), n_trials=150, n_test=60, rng=0)
    xr.testing.assert_identical(again, result)


class _RunningSum(torch.nn.Module):
    """A 'network' whose state is the running sum of the raw stimulus: at the decision
    step it holds T·μ(T), so its decoders must reach the ideal observer's score."""

    arch = "running_sum"
    n_inputs = 3

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def forward(self, inputs, *, generator=None):
        states = torch.cumsum(inputs[:, :, 1:], dim=1)
        return states, states


def test_ood_generalization_of_an_ideal_integrator_reaches_the_theory(task_and_encoder):
    task, _ = task_and_encoder
    n_steps = task.timing.steps("stimulus")
    result = ood_generalization(TrainedNetwork(_RunningSum(), task, None), n_trials=600, n_test=250, rng=1)
    # OOD decoding of μ(T) sits just below 1 - 12 σ²/T (the fit's own error is O(1/n));
    # sd of the score from 2000 test values ≈ 0.003
    ceiling = neurodis.analysis.r2_ceiling(task.sigma, n_steps)
    assert float(result["r2_paper"].mean()) == pytest.approx(ceiling, abs=0.015)
    assert float(result["id_r2_paper"]) == pytest.approx(ceiling, abs=0.015)
    # trained on all quadrants the two coordinates are independent: orthogonal axes
    # (held-out folds train on three quadrants, where x0 and x1 correlate, and tilt them)
    assert float(result["id_angle"]) == pytest.approx(90.0, abs=2.0)


def test_ood_generalization_time_resolved_and_authors_default(task_and_encoder):
    task, encoder = task_and_encoder
    regression = neurodis.make_task("regression", timing=task.timing)
    model = make_model("ctrnn", n_inputs=9, n_outputs=2, n_units=8)
    result = ood_generalization(TrainedNetwork(model, regression, encoder), n_trials=120, n_test=40, time="all",
                                evaluation="authors_default", rng=2)
    assert result["r2_paper"].dims == ("fold", "time") and result.sizes["time"] == task.timing.n_steps
    assert result.attrs["decoded_step"] == "all" and result.attrs["evaluation"] == "authors_default"
    np.testing.assert_array_equal(result["test_is_heldout"].values, [True, False, True, False])
    quadrants = quadrant_of(result["latents"].values)
    for fold in ("Q2", "Q4"):
        tested = quadrants[result["trial_role"].sel(fold=fold).values == TRIAL_ROLE_TEST]
        assert set(tested) == {1, 3}


def test_ood_generalization_rejects_bad_input(task_and_encoder):
    task, encoder = task_and_encoder
    model = make_model("ctrnn", n_inputs=9, n_outputs=6, n_units=8)
    network = TrainedNetwork(model, task, encoder)
    with pytest.raises(TypeError, match="network must be a TrainedNetwork"):
        ood_generalization(model)
    with pytest.raises(TypeError, match="network.model must be a torch.nn.Module"):
        ood_generalization(TrainedNetwork("net", task, encoder))
    with pytest.raises(TypeError, match="network.task must be a neurodis Task"):
        ood_generalization(TrainedNetwork(model, "classification", encoder))
    with pytest.raises(ValueError, match="encoder must give the model's 9 input channels"):
        ood_generalization(TrainedNetwork(model, task, None), n_trials=50, n_test=30)
    with pytest.raises(ValueError, match="time must be one of"):
        ood_generalization(network, time="stimulus")
    with pytest.raises(ValueError, match=r"time must be an integer in \[0, 6\]"):
        ood_generalization(network, time=7)
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1"):
        ood_generalization(network, n_trials=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        ood_generalization(network, n_trials=50, n_test=30, batch_size=0)
    with pytest.raises(ValueError, match="folds='quadrant' needs latents with at least 2 dims; got 1"):
        ood_generalization(TrainedNetwork(model, neurodis.make_task("regression", n_dims=1), encoder))


@pytest.fixture(scope="module")
def network(task_and_encoder):
    task, encoder = task_and_encoder
    return TrainedNetwork(make_model("ctrnn", n_inputs=9, n_outputs=6, n_units=10, seed=1), task, encoder)


def test_generalization_is_one_simulation_scored_by_every_decoder(network):
    result = generalization(network, n_trials=400, rng=5)
    simulation_rng, fit_rng = np.random.SeedSequence(5).spawn(2)  # an int seed: two children
    states, latents = regression_rates(network, n_trials=400, rng=simulation_rng)
    for prefix, options in (("", {}), ("ridge_", {"method": "ridge_cv"}),
                            ("authors_", {"evaluation": "authors_default"}), ("adam_", {"method": "adam"})):
        direct = fit_ood_decoders(states, latents, rng=fit_rng, **options)  # in this order, one rng object
        np.testing.assert_array_equal(result[prefix + "r2_paper"].values, direct["r2_paper"].values)
    assert set(json.loads(result.attrs["decoders"])) == {"", "ridge_", "authors_", "adam_"}
    assert result.attrs["n_trials"] == 400 and result.attrs["decoded_step"] == network.task.timing.decision_index
    assert '"classification"' in result.attrs["task"] and '"arch": "ctrnn"' in result.attrs["model"]
    xr.testing.assert_identical(generalization(network, n_trials=400, rng=5), result)


def test_generalization_with_a_fit_rng_seeds_the_simulation_with_rng_itself(network):
    result = generalization(network, n_trials=300, decoders=("lstsq",), rng=3, fit_rng=3)
    states, latents = regression_rates(network, n_trials=300, rng=3)
    np.testing.assert_array_equal(result["r2_paper"].values, fit_ood_decoders(states, latents, rng=3)["r2_paper"])
    assert "ridge_r2_paper" not in result
    assert json.loads(result.attrs["decoders"]) == {"": "least squares, held-out test"}


def test_generalization_time_resolved(network):
    result = generalization(network, n_trials=300, time="all", decoders=["lstsq", "ridge"], rng=0)
    assert result["r2_paper"].dims == ("fold", "time") and result.attrs["decoded_step"] == "all"
    assert result["ridge_r2_paper"].dims == ("fold", "time")


def test_generalization_rejects_bad_input(network):
    with pytest.raises(TypeError, match="network must be a TrainedNetwork"):
        generalization(network.model)
    with pytest.raises(TypeError, match="decoders must be a sequence of names"):
        generalization(network, decoders="lstsq")
    with pytest.raises(ValueError, match="decoders must be one of"):
        generalization(network, decoders=("lstsq", "sgd"))
    with pytest.raises(ValueError, match=r"decoders must include 'lstsq' \(its result carries the folds"):
        generalization(network, decoders=("ridge",))
    with pytest.raises(TypeError, match="rng must be an int"):
        generalization(network, rng="zero")
    with pytest.raises(ValueError, match="task must have continuous latents"):
        generalization(TrainedNetwork(network.model, neurodis.make_task("flipflop"), None))


def test_generalization_repeats_are_independent_evaluations_spawned_from_rng(network):
    decoders = ["lstsq", "ridge"]
    result = generalization(network, n_trials=300, decoders=decoders, n_repeats=3, rng=5)
    assert result["r2_paper"].dims == ("repeat", "fold") and list(result["repeat"].values) == [0, 1, 2]
    assert result["trial_role"].dims == ("repeat", "fold", "trial") and result.attrs["n_repeats"] == 3
    assert result.attrs["seed"] == 5 and "rng_state" not in result.attrs
    # repeat r: the simulation from child 2r of SeedSequence(5), every decoder fit from child 2r + 1
    children = np.random.SeedSequence(5).spawn(6)
    for r in range(3):
        states, latents = regression_rates(network, n_trials=300, rng=children[2 * r])
        np.testing.assert_array_equal(result["latents"].isel(repeat=r).values, latents.values)
        for prefix, options in (("", {}), ("ridge_", {"method": "ridge_cv"})):
            direct = fit_ood_decoders(states, latents, rng=children[2 * r + 1], **options)
            np.testing.assert_array_equal(result[prefix + "r2_paper"].isel(repeat=r).values, direct["r2_paper"].values)
    assert not np.array_equal(result["latents"].isel(repeat=0), result["latents"].isel(repeat=1))
    # repeat 0 is the single evaluation of the same rng
    single = generalization(network, n_trials=300, decoders=decoders, rng=5)
    for name in single.data_vars:
        np.testing.assert_array_equal(result[name].isel(repeat=0).values, single[name].values, err_msg=name)
    # a Generator is spawned from the same way, so its seed reproduces the call
    again = generalization(network, n_trials=300, decoders=["lstsq"], n_repeats=2, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(again["r2_paper"].values,
                                  generalization(network, n_trials=300, decoders=["lstsq"], n_repeats=2,
                                                 rng=np.random.default_rng(5))["r2_paper"].values)


def test_generalization_names_the_units_it_extrapolates_on_and_the_ridge_grid_position(network):
    from neurodis.analysis.ood_diagnostics import extrapolating_units, ridge_penalty_position

    result = generalization(network, n_trials=400, decoders=["lstsq", "ridge", "adam"], rng=2)
    states, _ = regression_rates(network, n_trials=400, rng=np.random.SeedSequence(2).spawn(2)[0])
    units = extrapolating_units(states, result)
    np.testing.assert_array_equal(result["extrapolating"].values, units["extrapolates"].values)
    np.testing.assert_array_equal(result["n_extrapolating"], units["n_extrapolating"])
    for prefix in ("", "ridge_", "adam_"):
        clamped = extrapolating_units(states, result, prefix=prefix)
        np.testing.assert_allclose(clamped["r2_paper"], result[prefix + "r2_paper"], rtol=1e-12)
        np.testing.assert_array_equal(result[prefix + "r2_paper_clamped"], clamped["r2_paper_clamped"])
    position = ridge_penalty_position(states, result, prefix="ridge_")
    np.testing.assert_array_equal(result["ridge_at_grid_end"], position["at_grid_end"])
    assert result["ridge_at_grid_end"].dtype == bool and result["extrapolating"].dims == ("fold", "unit")


def test_generalization_rejects_bad_repeats(network):
    with pytest.raises(ValueError, match="n_repeats must be an integer >= 1; got 0"):
        generalization(network, n_repeats=0)
    with pytest.raises(ValueError, match=r"fit_rng must be None with n_repeats .*; got fit_rng=3 and n_repeats=2"):
        generalization(network, n_repeats=2, rng=3, fit_rng=3)
