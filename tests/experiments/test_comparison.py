"""The LIP comparison experiment: a synthetic known answer, the real LIP data, the CLI verb."""

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis.similarity import ridge_predictivity
from neurodis.experiments import TrainedNetwork, run
from neurodis.experiments.comparison import (
    RecordingComparison,
    compare_session,
    compare_with_recording,
    network_rates,
    untrained_copy,
)
from neurodis.models import CTRNN
from neurodis.recordings import data_dir, load_lip_session
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.pulses import PulsesTask
from neurodis.trials import load_dataset

try:
    DATA = data_dir()
except FileNotFoundError:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="the shared LIP data folder is absent")

TASK = PulsesTask(n_pulses=7, gain=1 / 4, delay=200.0)
FAST = {"n_folds": 3, "n_shuffles": 10, "n_untrained": 2}
MINIMAL = {"n_folds": 3, "n_shuffles": 2, "n_untrained": 1}


def _model(seed=0, n_units=8):
    return CTRNN(2, 1, n_units=n_units, dt=TASK.dt, activation="tanh", seed=seed)


def _network(seed=0, n_units=8, task=TASK):
    return TrainedNetwork(_model(seed, n_units), task, None)


def _pulses(rng, n_trials):
    return xr.DataArray(rng.integers(-4, 5, size=(n_trials, 7)), dims=("trial", "pulse"),
                        coords={"trial": np.arange(n_trials), "pulse": np.arange(1, 8)})


def _synthetic_recording(rng, network, n_trials=300, n_neurons=4, noise_sd=1.0):
    """Counts = a linear map of the network's window states (unit signal variance) + noise."""
    pulses = _pulses(rng, n_trials)
    states = network_rates(network, pulses, window_ms=200.0).values
    z = (states - states.mean(0)) / states.std(0)
    signal = z @ rng.normal(size=(z.shape[1], n_neurons))
    signal /= signal.std(0)
    noise = noise_sd * rng.normal(size=signal.shape)
    recording = xr.Dataset({"counts": (("trial", "unit"), 10 + signal + noise), "pulses": pulses},
                           coords={"unit": 100 + np.arange(n_neurons)}, attrs={"session": 7})
    return recording, noise


def test_a_linear_readout_of_the_network_is_predicted_up_to_its_noise_ceiling(rng):
    network = _network()
    recording, noise = _synthetic_recording(rng, network)
    counts = recording.counts.values
    # the best any predictor can do: the R² of the true signal on these very trials
    oracle = 1 - np.sum(noise ** 2, 0) / np.sum((counts - counts.mean(0)) ** 2, 0)
    result = compare_with_recording(network, recording, window_ms=200.0, alpha=0.1, rng=0, **FAST)
    session = result.sessions[7]
    r2 = session.r2.values
    assert np.all(r2 <= oracle + 0.02) and np.all(r2 > oracle - 0.08)  # CV costs ~p/n of the noise share
    assert abs(float(session.null_shuffle.median())) < 0.03
    assert float(session.p_shuffle) == pytest.approx(1 / 11)
    assert session.null_untrained.sizes["untrained"] == 2
    assert result.summary.attrs["n_beat_shuffle"] == 1 and result.summary.session.values.tolist() == [7]


def test_states_summaries_have_the_documented_shapes(rng):
    network, pulses = _network(), _pulses(rng, 5)
    final = network_rates(network, pulses, summary="final")
    per_pulse = network_rates(network, pulses, summary="pulses")
    assert final.shape == (5, 8) and per_pulse.shape == (5, 56)
    assert per_pulse.pulse_epoch.values[8] == 2 and per_pulse.model_unit.values[8] == 0
    # the window opens when the last pulse ends: 50 ms is the first step of the delay
    trials = TASK.trials_from_pulses(pulses.values)
    states_nxtxn = run(network, trials, noise=False, backend="torch")["rates"].values
    first = network_rates(network, pulses, window_ms=50.0)
    np.testing.assert_allclose(first.values, states_nxtxn[:, TASK.decision_index - 4], rtol=1e-6)
    # a window longer than the trained delay extends it (the trial is replayed with a 500 ms delay)
    assert network_rates(network, pulses, window_ms=500.0).shape == (5, 8)


def test_states_carry_the_replayed_pulses_so_misaligned_recordings_are_refused(rng):
    network = _network()
    recording, _ = _synthetic_recording(rng, network, n_trials=40)
    shifted = recording.assign_coords(pulse_1=("trial", np.roll(recording.pulses.values[:, 0], 1)))
    with pytest.raises(ValueError, match="must agree on coord 'pulse_1'"):
        compare_with_recording(network, shifted, **FAST)


def test_untrained_copy_keeps_the_architecture_and_changes_the_weights():
    model = _model(seed=0)
    twin = untrained_copy(model, 5)
    assert twin.config == {**model.config, "seed": 5}
    assert not np.allclose(twin.weight_hh.detach(), model.weight_hh.detach())


def test_compare_session_equals_one_session_of_compare_with_recording(rng):
    network = _network()
    recording, _ = _synthetic_recording(rng, network, n_trials=60)
    one = compare_session(network, recording, rng=2, **MINIMAL)
    xr.testing.assert_identical(one, compare_with_recording(network, recording, rng=2, **MINIMAL).sessions[7])


def test_a_run_folder_is_compared_and_results_round_trip(rng, tmp_path):
    from neurodis.training import TrainConfig, train

    config = TrainConfig(n_batches=2, batch_size=4, log_every=1, checkpoint_every=2, encoder="relu")
    encoder = Encoder(n_dims=1, hidden=(8,), n_out=4, seed=0)
    train(TASK, CTRNN(5, 1, n_units=6, dt=TASK.dt), config, encoder=encoder, out=tmp_path / "run", progress=False)
    recording, _ = _synthetic_recording(rng, _network(), n_trials=40)
    result = compare_with_recording(tmp_path / "run", recording, **MINIMAL)
    assert result.sessions[7].attrs["n_units_model"] == 6
    paths = result.save(tmp_path / "out")
    assert [p.name for p in paths] == ["summary.nc", "session_07.nc"]
    xr.testing.assert_allclose(load_dataset(paths[1]), result.sessions[7])


@needs_data
def test_real_sessions_agree_with_a_direct_ridge_fit():
    network = _network(task=PulsesTask(gain=1 / 19))
    result = compare_with_recording(network, DATA, sessions=[0], **MINIMAL)
    assert isinstance(result, RecordingComparison)
    session = result.sessions[0]
    recording = load_lip_session(0)
    states = network_rates(network, recording.pulses)
    direct = ridge_predictivity(states, recording.counts.astype(float), null=None, n_folds=3,
                                rng=session.attrs["ridge_seed"])
    assert float(session.score) == pytest.approx(float(direct.score), abs=1e-12)
    assert session.attrs["monkey"] == "n" and session.attrs["n_trials"] == recording.sizes["trial"]
    summary = result.summary
    assert summary.n_units.values.tolist() == [recording.sizes["unit"]]
    assert summary.attrs["median_score"] == pytest.approx(float(session.score))


@needs_data
def test_the_compare_verb_prints_and_writes_the_comparison(tmp_path, capsys):
    from neurodis.cli import main
    from neurodis.training import TrainConfig, train

    config = TrainConfig(n_batches=2, batch_size=4, log_every=1, checkpoint_every=2, encoder="none")
    train(PulsesTask(gain=1 / 19, sigma=1.0), CTRNN(2, 1, n_units=4, dt=50.0), config, out=tmp_path / "run",
          progress=False)
    assert main(["compare", str(tmp_path / "run"), "--recording", str(DATA), "--sessions", "0",
                 "--shuffles", "5", "--untrained", "1", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "session  0: R²" in out and "median R² over 1 sessions" in out
    assert "kernel  monkeys: 0.0831 0.0808" in out and "kernel  network:" in out
    assert load_dataset(tmp_path / "out" / "summary.nc").session.values.tolist() == [0]
    assert load_dataset(tmp_path / "out" / "kernels.nc").source.values.tolist() == ["monkeys", "network"]


def test_bad_arguments_are_refused(rng, tmp_path):
    network, pulses = _network(), _pulses(rng, 10)
    recording = xr.Dataset({"counts": (("trial", "unit"), np.ones((10, 2))), "pulses": pulses})
    with pytest.raises(TypeError, match=r"network must be a run folder path or a TrainedNetwork \(wrap a bare "
                                        r"model .*TrainedNetwork\(model, task, encoder\)\); got CTRNN"):
        network_rates(network.model, pulses)
    with pytest.raises(TypeError, match="network must be a run folder path or a TrainedNetwork; got int 3"):
        network_rates(3, pulses)
    with pytest.raises(TypeError, match="network.task must be a PulsesTask"):
        network_rates(TrainedNetwork(network.model, object(), None), pulses)
    with pytest.raises(FileNotFoundError, match="path must be a run folder"):
        network_rates(tmp_path, pulses)
    with pytest.raises(ValueError, match="summary must be one of"):
        network_rates(network, pulses, summary="mean")
    with pytest.raises(ValueError, match="window_ms must be a non-negative multiple of dt=50.0 ms"):
        network_rates(network, pulses, window_ms=120.0)
    with pytest.raises(ValueError, match="window_ms must be > 0.0"):
        network_rates(network, pulses, window_ms=0.0)
    with pytest.raises(TypeError, match="pulses must be a DataArray"):
        network_rates(network, pulses.values)
    with pytest.raises(ValueError, match=r"pulses must have dims \('trial', 'pulse'\)"):
        network_rates(network, pulses.rename(pulse="p"))
    with pytest.raises(ValueError, match="encoder must give the model's 2 input channels"):
        network_rates(TrainedNetwork(network.model, TASK, Encoder(n_dims=1, hidden=(4,), n_out=3)), pulses)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        untrained_copy(network.model, -1)
    with pytest.raises(TypeError, match="network must be a run folder path or a TrainedNetwork"):
        compare_with_recording(network.model, recording)
    with pytest.raises(TypeError, match="network must be a run folder path or a TrainedNetwork"):
        compare_session(network.model, recording)
    with pytest.raises(ValueError, match=r"recording must hold 'counts' with dims \('trial', 'unit'\)"):
        compare_with_recording(network, recording.drop_vars("counts"))
    with pytest.raises(ValueError, match="sessions must be None when recording is a Dataset"):
        compare_with_recording(network, recording, sessions=[1])
    with pytest.raises(TypeError, match="recording must be a data folder path, a session index or a Dataset"):
        compare_with_recording(network, [1, 2])
    with pytest.raises(TypeError, match="recording must be a Dataset"):
        compare_session(network, recording.counts)
    with pytest.raises(ValueError, match="n_untrained must be an integer >= 0"):
        compare_with_recording(network, recording, n_untrained=-1)
    with pytest.raises(ValueError, match="alpha must be > 0.0"):
        compare_with_recording(network, recording, alpha=0.0)
    with pytest.raises(ValueError, match="kernels=True needs the LIP data folder"):
        compare_with_recording(network, recording, kernels=True)
    with pytest.raises(TypeError, match="kernels must be a bool"):
        compare_with_recording(network, recording, kernels=1)
