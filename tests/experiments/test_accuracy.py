"""Accuracy relative to the ideal observer on fresh trials (neurodis.experiments.accuracy)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import neurodis
from neurodis.experiments import TrainedNetwork
from neurodis.experiments.accuracy import ACCURACY_TRIALS, accuracy_vs_ideal
from neurodis.models import CTRNN
from neurodis.tasks.classification import boundary_normals


class _Integrator(torch.nn.Module):
    """Sums the raw evidence and reports, per boundary, the side the sum lies on: the choices
    of the flat-prior ideal observer (sign of c_k · μ(t)), with a sigmoid readout."""

    arch = "integrator"
    n_inputs = 3

    def __init__(self, normals: np.ndarray, flip: int = 0) -> None:
        super().__init__()
        signs = np.ones(len(normals))
        signs[:flip] = -1.0  # a network that gets these boundaries backwards
        self.normals = torch.nn.Parameter(torch.as_tensor(normals * signs[:, None], dtype=torch.float64))
        self.readout = SimpleNamespace(kind="sigmoid", activate=torch.sigmoid)
        self.n_outputs = len(normals)

    def forward(self, inputs, *, generator=None):
        total = torch.cumsum(inputs[:, :, 1:], dim=1)
        return total, 50.0 * total @ self.normals.detach().T


@pytest.fixture(scope="module")
def task():
    return neurodis.make_task("classification", n_tasks=24)


def test_the_ideal_observers_own_choices_score_one_and_it_matches_the_audit(task):
    network = TrainedNetwork(_Integrator(boundary_normals(24, 2)), task, None)
    result = accuracy_vs_ideal(network, rng=0)
    assert result.attrs["n_trials"] == ACCURACY_TRIALS == 8192
    assert float(result["relative_accuracy"]) == pytest.approx(1.0, abs=1e-3)
    # independent audit (SCIENCE.md §9): the ideal observer is right on 0.960 of the
    # decisions at N = 24, t = 20 (standard error here about 0.001)
    assert float(result["ideal_accuracy"]) == pytest.approx(0.960, abs=0.004)
    assert float(result["relative_accuracy_se"]) < 1e-3
    assert result["task_accuracy"].sizes["output"] == 24


def test_a_network_wrong_on_some_boundaries_scores_their_share_less(task):
    network = TrainedNetwork(_Integrator(boundary_normals(24, 2), flip=6), task, None)
    result = accuracy_vs_ideal(network, n_trials=2048, rng=1)
    flipped = result["task_accuracy"].isel(output=slice(0, 6))
    ideal = result["task_ideal_accuracy"].isel(output=slice(0, 6))
    np.testing.assert_allclose(flipped.values, 1 - ideal.values)  # exactly the observer's complement
    expected = (float(result["task_accuracy"].sum())) / float(result["task_ideal_accuracy"].sum())
    assert float(result["relative_accuracy"]) == pytest.approx(expected)
    # far from 1 in units of its standard error, which the paired design keeps small
    assert 0 < float(result["relative_accuracy_se"]) < (1 - float(result["relative_accuracy"])) / 50


def test_trials_and_noise_come_from_rng(task):
    network = TrainedNetwork(CTRNN(41, 24, n_units=8, seed=0, recurrent_noise=0.1), task,
                             neurodis.tasks.Encoder(n_dims=2, seed=0))
    first, again = (accuracy_vs_ideal(network, n_trials=128, rng=3) for _ in range(2))
    assert float(first["accuracy"]) == float(again["accuracy"]) and first.attrs["seed"] == 3
    other = accuracy_vs_ideal(network, n_trials=128, rng=4)
    assert float(other["ideal_accuracy"]) != float(first["ideal_accuracy"])


def test_accuracy_vs_ideal_rejects_bad_input(task):
    model = CTRNN(3, 24, n_units=8, seed=0)
    with pytest.raises(TypeError, match="network must be a TrainedNetwork"):
        accuracy_vs_ideal(model)
    with pytest.raises(TypeError, match="network.task must be a neurodis Task"):
        accuracy_vs_ideal(TrainedNetwork(model, "classification", None))
    with pytest.raises(ValueError, match="network.task must have an ideal observer .*; got task 'regression'"):
        accuracy_vs_ideal(TrainedNetwork(CTRNN(3, 2, n_units=8), neurodis.make_task("regression"), None))
    with pytest.raises(ValueError, match="network.model must have a sigmoid readout .*; got 'tanh'"):
        accuracy_vs_ideal(TrainedNetwork(CTRNN(3, 24, n_units=8, readout="tanh"), task, None))
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1; got 0"):
        accuracy_vs_ideal(TrainedNetwork(model, task, None), n_trials=0)
