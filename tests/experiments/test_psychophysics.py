"""A network's psychophysical kernel on replayed pulses: closed forms of a linear integrator."""

import numpy as np
import pytest
import torch
import xarray as xr

from neurodis.experiments.psychophysics import lip_kernels, network_choices, network_kernel
from neurodis.models import CTRNN
from neurodis.recordings import data_dir
from neurodis.tasks import make_task
from neurodis.tasks.pulses import PulsesTask
from neurodis.training import TrainedNetwork

try:
    DATA = data_dir()
except FileNotFoundError:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="the shared LIP data folder is absent")


def _pulses(values):
    values = np.asarray(values, dtype=float)
    return xr.DataArray(values, dims=("trial", "pulse"), coords={"pulse": np.arange(1, values.shape[1] + 1)})


def _integrator(out_weight=20.0, leaky=True):
    """A 1-unit linear integrator of the stimulus channel (tau = 2 dt: alpha = 1/2)."""
    model = CTRNN(2, 1, n_units=1, tau=100.0, dt=50.0, activation="linear", leaky=leaky)
    with torch.no_grad():
        model.weight_ih.copy_(torch.tensor([[0.0, 1.0]]))
        model.weight_hh.zero_()
        model.bias.zero_()
        model.readout.linear.weight.fill_(out_weight)
        model.readout.linear.bias.zero_()
    return model


def _network(model, task=None):
    """``model`` bundled with ``task`` (default: 4 pulses) and no encoder."""
    return TrainedNetwork(model, PulsesTask(n_pulses=4) if task is None else task, None)


def test_network_kernel_of_a_leaky_integrator_has_its_closed_form_weights(rng):
    # r_D = α Σ_t (1-α)^(D-t) u_t at the decision step D, and sampled choices are Bernoulli(σ(w r_D)):
    # an exact logistic model whose weight on pulse k is w·gain·α·Σ_{t in pulse k} (1-α)^(D-t)
    task = PulsesTask(n_pulses=4, decision=50.0)
    model, alpha = _integrator(), 0.5
    steps = np.arange(task.n_steps)
    decay = alpha * (1 - alpha) ** (task.decision_index - steps)
    expected = np.array([20.0 * task.gain * decay[task.pulse_index() == k].sum() for k in range(4)])
    pulses = _pulses(rng.integers(-4, 5, size=(20000, 4)))
    kernel = network_kernel(_network(model, task), pulses, choice="sample", rng=3)
    assert np.all(np.abs(kernel.weights.values - expected) < 4.5 * kernel.se.values)
    assert expected[-1] > 4 * expected[0]  # the leak makes a recency kernel: the test has teeth
    assert 0.5 < kernel.attrs["accuracy"] <= 1.0


def test_noise_free_threshold_choices_are_refused_as_separable(rng):
    pulses = _pulses(rng.integers(-4, 5, size=(300, 4)))
    with pytest.raises(ValueError, match="perfectly separable"):
        network_kernel(_network(_integrator()), pulses, rng=0)


def test_network_choices_follow_the_stimulus_noise(rng):
    pulses = _pulses(rng.integers(-4, 5, size=(400, 4)))
    # a perfect (non-leaky) integrator without noise chooses the sign of the sum
    quiet = network_choices(_network(_integrator(leaky=False)), pulses, rng=0)
    total = pulses.sum("pulse").values
    np.testing.assert_array_equal(quiet.values[total != 0], (total[total != 0] > 0).astype(int))
    noisy = network_choices(_network(_integrator(leaky=False), PulsesTask(n_pulses=4, sigma=2.0)), pulses, rng=0)
    assert 0.6 < np.mean(noisy.values[total != 0] == (total[total != 0] > 0)) < 0.98
    assert noisy.dims == ("trial",) and "probability" in noisy.coords


@needs_data
def test_lip_kernels_sets_the_network_beside_the_monkeys():
    model = _integrator()
    with torch.no_grad():
        model.readout.linear.weight.fill_(0.05)  # a soft readout: sampled choices are not separable
    network = TrainedNetwork(model, PulsesTask(gain=1 / 19, sigma=1.0), None)
    table = lip_kernels(network, rng=0)
    assert table.source.values.tolist() == ["monkeys", "network"] and table.sizes["pulse"] == 7


def test_bad_network_choices_are_refused(rng):
    pulses = _pulses(rng.integers(-4, 5, size=(50, 4)))
    with pytest.raises(ValueError, match="choice must be one of"):
        network_choices(_network(_integrator()), pulses, choice="vote")
    with pytest.raises(ValueError, match="sigmoid readout"):
        network_choices(_network(CTRNN(2, 1, n_units=2, dt=50.0, readout="tanh")), pulses)
    with pytest.raises(ValueError, match=r"pulses must have dims \('trial', 'pulse'\)"):
        network_choices(_network(_integrator()), pulses.rename(pulse="p"))
    with pytest.raises(TypeError, match=r"wrap a bare model .*TrainedNetwork\(model, task, encoder\)"):
        network_choices(_integrator(), pulses)
    with pytest.raises(TypeError, match="network.task must be a PulsesTask"):
        network_kernel(TrainedNetwork(_integrator(), make_task("classification", n_tasks=2), None), pulses)


def test_lip_kernels_refuses_a_bare_model_before_reading_the_data(tmp_path):
    with pytest.raises(TypeError, match="network must be a run folder path or a TrainedNetwork"):
        lip_kernels(_integrator(), path=tmp_path / "missing")
