"""Simulated sessions out to NWB: checked by nwbinspector, read back by neurodis and pynapple."""

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from neurodis import __version__
from neurodis.recordings import (
    bin_spikes,
    from_pynapple,
    load_nwb,
    poisson_spikes,
    save_nwb,
    session_times,
    to_pynapple,
)
from neurodis.simulator import CTRNNWeights, simulate
from neurodis.tasks import make_task

pynwb = pytest.importorskip("pynwb", reason="pynwb (the optional 'nwb' extra) is not installed")
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def states():
    trials = make_task("classification", n_tasks=2).sample(5, rng=0)
    weights = CTRNNWeights.random(n_inputs=trials.sizes["input"], n_units=6, n_outputs=trials.sizes["output"],
                                  rng=1, dt=trials.attrs["dt"])
    return simulate(weights, trials, rng=2)


@pytest.fixture(scope="module")
def path(states, tmp_path_factory):
    return save_nwb(states, tmp_path_factory.mktemp("nwb") / "session.nwb", spikes=True, rng=3,
                    session_start_time=START, identifier="neurodis-export-test")


def test_nwbinspector_finds_nothing_critical(path):
    nwbinspector = pytest.importorskip("nwbinspector", reason="nwbinspector (in the 'test' extra) is not installed")
    messages = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(path)))
    critical = [m.message for m in messages if m.importance.name in ("CRITICAL", "PYNWB_VALIDATION", "ERROR")]
    assert critical == []


def test_load_nwb_bins_the_seeded_spikes_back(states, path):
    dt, n_steps = states.attrs["dt"], states.sizes["time"]
    counts = load_nwb(path, start_ms=0, stop_ms=n_steps * dt, bin_ms=dt)
    start_ms, _, _ = session_times(states)
    spikes = [s / 1000.0 for s in poisson_spikes(states, rng=3)]
    expected = bin_spikes(spikes, start_ms / 1000.0, start_ms=0, stop_ms=n_steps * dt, bin_ms=dt)
    np.testing.assert_array_equal(counts.counts.values, expected.counts.values)
    assert counts.counts.values.sum() > 0
    np.testing.assert_array_equal(counts.quadrant.values, states.quadrant.values)
    np.testing.assert_allclose(counts.latent_x0.values, states.latents.sel(latent="x0").values)


def test_rates_trials_and_provenance_are_in_the_file(states, path):
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        rates = nwbfile.processing["network"]["rates"]
        np.testing.assert_array_equal(rates.data[:], states.rates.values.reshape(-1, 6))
        np.testing.assert_allclose(rates.timestamps[:], session_times(states)[2].ravel() / 1000.0)
        assert nwbfile.processing["network"]["outputs"].timestamps[:].shape == rates.timestamps[:].shape
        notes = json.loads(nwbfile.notes)
        assert notes["task"] == "classification" and notes["config"] == states.attrs["config"]
        assert notes["spikes"]["seed"] == 3 and notes["writer"] == f"neurodis {__version__}"
        assert nwbfile.identifier == "neurodis-export-test" and len(nwbfile.trials) == 5


def test_pynapple_reads_the_file_as_to_pynapple_builds_it(states, path):
    nap = pytest.importorskip("pynapple", reason="pynapple (the optional 'pynapple' extra) is not installed")
    data = nap.load_file(str(path))
    built = to_pynapple(states, spikes=poisson_spikes(states, rng=3))
    np.testing.assert_allclose(data["rates"].values, built["rates"].values)
    np.testing.assert_allclose(data["rates"].t, built["rates"].t)
    np.testing.assert_allclose(data["trials"].start, built["trials"].start)
    np.testing.assert_allclose(data["units"][0].t, built["units"][0].t)
    back = from_pynapple(data["rates"], data["trials"])  # the session back in the trials schema
    np.testing.assert_array_equal(back.rates.values, states.rates.values)
    np.testing.assert_allclose(back.time.values, states.time.values)
    np.testing.assert_array_equal(back.quadrant.values, states.quadrant.values)


def test_spikes_are_reproducible_and_optional(states, tmp_path):
    a, b, c = (poisson_spikes(states, rng=seed) for seed in (7, 7, 8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not all(
        np.array_equal(x, y) for x, y in zip(a, c))
    with pynwb.NWBHDF5IO(str(save_nwb(states, tmp_path / "rates.nwb", session_start_time=START)), "r") as io:
        assert io.read().units is None


def test_bad_arguments_are_refused(states, tmp_path):
    with pytest.raises(ValueError, match=r"trials must contain 'rates' \(simulate the trials first\)"):
        save_nwb(states.drop_vars("rates"), tmp_path / "x.nwb")
    with pytest.raises(ValueError, match="session_start_time must be timezone-aware"):
        save_nwb(states, tmp_path / "x.nwb", session_start_time=datetime(2024, 1, 1))
    with pytest.raises(TypeError, match="session_start_time must be a datetime"):
        save_nwb(states, tmp_path / "x.nwb", session_start_time="2024-01-01")
    with pytest.raises(ValueError, match="rate_scale_hz must be"):
        save_nwb(states, tmp_path / "x.nwb", spikes=True, rate_scale_hz=0.0)
    with pytest.raises(TypeError, match="trials must be an xarray.Dataset"):
        save_nwb(states.rates, tmp_path / "x.nwb")
    with pytest.raises(ValueError, match="trials must contain the variable 'logit'"):
        poisson_spikes(states, variable="logit")
    with pytest.raises(ValueError, match="trials.attrs must contain 'dt'"):
        session_times(states.drop_attrs())
