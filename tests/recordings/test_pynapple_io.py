"""Conversion to and from pynapple: rates <-> TsdFrame, spikes <-> TsGroup, trials <-> IntervalSet."""

import numpy as np
import pytest
import xarray as xr

from neurodis.recordings import bin_spikes, from_pynapple, poisson_spikes, session_times, to_pynapple

nap = pytest.importorskip("pynapple", reason="pynapple (the optional 'pynapple' extra) is not installed")


@pytest.fixture
def trials(rng):
    return xr.Dataset(
        {"rates": (("trial", "time", "unit"), rng.uniform(0, 1, (4, 6, 3))),
         "latents": (("trial", "latent"), rng.normal(size=(4, 2)))},
        coords={"time": np.arange(6) * 20.0, "unit": [10, 11, 12], "latent": ["x0", "x1"],
                "quadrant": ("trial", [1, 2, 3, 4]), "label": ("trial", ["a", "b", "a", "b"])},
        attrs={"dt": 20.0},
    )


def test_rates_round_trip_with_ms_and_trial_coords(trials):
    out = to_pynapple(trials)
    assert out["rates"].t[:2].tolist() == [0.0, 0.02] and out["trials"].start[1] == pytest.approx(0.14)
    assert out["trials"]["latent_x1"].tolist() == trials.latents.sel(latent="x1").values.tolist()
    back = from_pynapple(out["rates"], out["trials"])
    np.testing.assert_array_equal(back.rates.values, trials.rates.values)
    np.testing.assert_allclose(back.time.values, trials.time.values)
    assert back.attrs["dt"] == 20.0 and back.time.attrs["units"] == "ms"
    assert back.unit.values.tolist() == [10, 11, 12] and back.label.values.tolist() == ["a", "b", "a", "b"]


def test_spikes_round_trip_through_a_tsgroup(trials):
    spikes = poisson_spikes(trials, rate_scale_hz=200.0, rng=0)
    units = to_pynapple(trials, spikes=spikes)["units"]
    assert list(units.keys()) == [10, 11, 12]
    counts = from_pynapple(units, to_pynapple(trials)["trials"], bin_ms=20.0)
    start_ms = session_times(trials)[0]
    expected = bin_spikes([s / 1000 for s in spikes], start_ms / 1000, start_ms=0, stop_ms=120, bin_ms=20)
    np.testing.assert_array_equal(counts.counts.values, expected.counts.values)
    assert counts.counts.values.sum() > 0 and counts.quadrant.values.tolist() == [1, 2, 3, 4]


def test_bad_inputs_are_refused(trials):
    out = to_pynapple(trials)
    with pytest.raises(ValueError, match="trials must contain the variable 'outputs'"):
        to_pynapple(trials, variable="outputs")
    with pytest.raises(ValueError, match=r"trials\['latents'\] must have at least dims \('trial', 'time'\)"):
        to_pynapple(trials, variable="latents")
    with pytest.raises(ValueError, match=r"trials\['flat'\] must have dims \(trial, time, channel\)"):
        to_pynapple(trials.assign(flat=trials.rates.isel(unit=0)), variable="flat")
    with pytest.raises(ValueError, match=r"spikes must hold one array per unit \(3 units in trials\); got 1"):
        to_pynapple(trials, spikes=[np.array([1.0])])
    with pytest.raises(ValueError, match="bin_ms must be given to bin the spikes of a TsGroup"):
        from_pynapple(to_pynapple(trials, spikes=poisson_spikes(trials, rng=0))["units"], out["trials"])
    with pytest.raises(ValueError, match=r"epochs must be one or more intervals of one duration; got durations \(ms\) \[100.0, 50.0\]"):
        from_pynapple(out["rates"], nap.IntervalSet(start=[0.0, 0.2], end=[0.1, 0.25]))
    with pytest.raises(ValueError, match=r"same number \(at least 2\) of samples in every epoch; got \[0, 6\]"):
        from_pynapple(out["rates"], nap.IntervalSet(start=[0.0, 10.0], end=[0.12, 10.12]))
    uneven = nap.TsdFrame(t=np.array([0.0, 0.01, 0.03]), d=np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"data must be sampled evenly; got steps \(ms\) \[10.0, 20.0\]"):
        from_pynapple(uneven, nap.IntervalSet(start=[0.0], end=[0.04]))
    with pytest.raises(TypeError, match="data must be a pynapple.TsdFrame or TsGroup"):
        from_pynapple(trials.rates, out["trials"])
    with pytest.raises(TypeError, match="epochs must be a pynapple.IntervalSet"):
        from_pynapple(out["rates"], [(0.0, 0.1)])
