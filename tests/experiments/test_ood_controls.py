"""The encoder control of the OOD protocol (neurodis.experiments.encoder_generalization)."""

import dataclasses
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.experiments import TrainedNetwork, encoder_generalization, generalization, regression_task
from neurodis.models import make_model
from neurodis.tasks.encoders import Encoder
from tests.analysis.test_decoding import TRIAL_ROLE_TEST, TRIAL_ROLE_TRAIN

#: 1 fixation step, 5 stimulus steps (1..5), 1 decision step.
TIMING = {"stimulus": 500.0}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _network(encoder, sigma=0.2):
    task = neurodis.make_task("classification", n_tasks=3, sigma=sigma, timing=TIMING)
    n_inputs = 1 + (2 if encoder is None else encoder.n_out)
    return TrainedNetwork(make_model("ctrnn", n_inputs=n_inputs, n_outputs=3, n_units=6), task, encoder)


def _numpy_held_out_r2(features, latents, trial_role):
    """Least squares with a bias on each fold's training trials, r² (paper convention) on its test trials."""
    scores = []
    for role in trial_role:
        train, test = role == TRIAL_ROLE_TRAIN, role == TRIAL_ROLE_TEST
        design = np.column_stack([features, np.ones(len(features))])
        weights = np.linalg.lstsq(design[train], latents[train], rcond=None)[0]
        scores.append(1 - 12 * np.mean((design[test] @ weights - latents[test]) ** 2))
    return np.array(scores)


@pytest.mark.parametrize("encoder", [None, Encoder(hidden=(16,), n_out=8, seed=3)], ids=["raw", "encoder"])
def test_encoder_control_is_least_squares_on_the_time_averaged_encoder_output(encoder):
    network = _network(encoder)
    result = encoder_generalization(network, n_trials=500, decoders=["lstsq"], rng=7, fit_rng=0)
    # the trials, drawn here as regression_rates documents: the first of two streams of rng
    regression = dataclasses.replace(regression_task(network.task), orthants=None)
    trials = regression.sample(500, rng=np.random.default_rng(7).spawn(2)[0], encoder=encoder)
    features = trials["inputs"].values[:, 1:6, 1:].mean(axis=1)  # stimulus steps, every channel but fixation
    np.testing.assert_array_equal(result["latents"].values, trials["latents"].values)
    expected = _numpy_held_out_r2(features, trials["latents"].values, result["trial_role"].values)
    np.testing.assert_allclose(result["r2_paper"].values, expected, rtol=1e-9)
    assert result.sizes["unit"] == features.shape[1] and result.attrs["stimulus_steps"] == [1, 6]
    assert json.loads(result.attrs["encoder"] or "null") == (None if encoder is None else encoder.config())


def test_encoder_control_of_noise_free_raw_evidence_decodes_the_latents_exactly():
    """Without noise the time-averaged stimulus is x itself: held-out r² is 1 in every fold."""
    result = encoder_generalization(_network(None, sigma=0.0), n_trials=300, decoders=["lstsq"], rng=1)
    np.testing.assert_allclose(result["r2_paper"].values, 1.0, atol=1e-12)
    np.testing.assert_allclose(result["id_r2_paper"].values, 1.0, atol=1e-12)


def test_encoder_control_scores_the_trials_and_decoder_fits_of_generalization():
    network = _network(Encoder(hidden=(16,), n_out=8, seed=3))
    decoders = ["lstsq", "ridge", "adam"]
    control = encoder_generalization(network, n_trials=300, decoders=decoders, n_repeats=2, rng=4)
    trained = generalization(network, n_trials=300, decoders=decoders, n_repeats=2, rng=4)
    np.testing.assert_array_equal(control["latents"].values, trained["latents"].values)
    np.testing.assert_array_equal(control["trial_role"].values, trained["trial_role"].values)
    assert control["adam_r2_paper"].dims == trained["adam_r2_paper"].dims == ("repeat", "fold")
    shared = {"decoders", "n_trials", "n_repeats", "model", "task", "encoder", "sigma", "n_steps", "free_rt", "seed"}
    assert {name: control.attrs[name] for name in shared} == {name: trained.attrs[name] for name in shared}
    assert set(control.data_vars) == set(trained.data_vars)


def test_encoder_control_rejects_bad_input():
    network = _network(None)
    with pytest.raises(TypeError, match="network must be a TrainedNetwork"):
        encoder_generalization(network.model)
    with pytest.raises(TypeError, match="network.task must be a neurodis Task"):
        encoder_generalization(TrainedNetwork(network.model, "classification", None))
    with pytest.raises(ValueError, match="task must have continuous latents"):
        encoder_generalization(TrainedNetwork(network.model, neurodis.make_task("flipflop"), None))
    with pytest.raises(ValueError, match=r"decoders must include 'lstsq'"):
        encoder_generalization(network, decoders=["ridge"])
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1; got 0"):
        encoder_generalization(network, n_trials=0)
    with pytest.raises(ValueError, match=r"fit_rng must be None with n_repeats .*; got fit_rng=3 and n_repeats=2"):
        encoder_generalization(network, n_repeats=2, rng=3, fit_rng=3)
