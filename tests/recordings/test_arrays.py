"""Recordings from plain arrays: schema checks, spike binning, rebinning, trial averages."""

import numpy as np
import pytest
import xarray as xr

from neurodis.recordings import (
    bin_spikes,
    from_arrays,
    load_recording,
    rebin,
    save_recording,
    trial_average,
    validate_recording,
)


def _slow_bin(spikes, events, start_ms, stop_ms, bin_ms):
    n_bins = round((stop_ms - start_ms) / bin_ms)
    out = np.zeros((len(events), n_bins, len(spikes)), dtype=int)
    for u, times in enumerate(spikes):
        for k, event in enumerate(events):
            for s in times:
                rel = (s - event) * 1000.0 - start_ms
                b = int(np.floor(rel / bin_ms)) if rel >= 0 else -1
                if 0 <= b < n_bins:
                    out[k, b, u] += 1
    return out


def test_from_arrays_builds_a_labelled_recording(rng):
    ds = from_arrays(
        rng.poisson(3.0, size=(6, 4, 2)), dims=("trial", "time", "unit"), bin_ms=25,
        coords={"unit": ["a", "b"], "choice": ("trial", [0, 1, 1, 0, 1, 0])}, attrs={"source": "test"},
    )
    assert ds.counts.dims == ("trial", "time", "unit")
    assert ds.time.values.tolist() == [0.0, 25.0, 50.0, 75.0] and ds.time.attrs["units"] == "ms"
    assert ds.choice.dims == ("trial",) and ds.attrs["bin_ms"] == 25.0 and ds.attrs["source"] == "test"


def test_condition_averaged_rates_are_a_recording(rng):
    ds = from_arrays(rng.uniform(size=(8, 3)), dims=("condition", "unit"), variable="rates",
                     coords={"condition": np.arange(8) * 45})
    assert validate_recording(ds) is ds and "rates" in ds


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        (np.ones((4, 2)), {"dims": ("trial", "unit"), "coords": {"condition": ("trial", [0, 1, 2])}},
         ValueError, r"coords\['condition'\] must have shape \(4,\) to match dims \('trial',\)"),
        (np.ones((4, 2)), {"dims": ("trial", "unit"), "coords": {"x": ("time", [0, 1])}},
         ValueError, r"coords\['x'\] must lie along the data dims \('trial', 'unit'\)"),
        (np.ones((4, 2)), {"dims": ("trial",)}, ValueError, "dims must name each of the 2 axes of data once"),
        (np.ones((4, 2)), {"dims": ("trial", "neuron")}, ValueError, r"data\['counts'\] must have a 'unit' dim"),
        (np.ones((4, 0)), {"dims": ("trial", "unit")}, ValueError, "must have at least one unit; got a 'unit' dim of size 0"),
        (np.ones((4, 2)), {"dims": ("time", "unit"), "bin_ms": 10}, ValueError, "must have a 'trial' or 'condition' dim"),
        (np.ones((4, 3, 2)), {"dims": ("trial", "time", "unit")}, ValueError, "coords must give 'time' \\(ms\\) or bin_ms"),
        (np.array([[1.0, np.nan]]), {"dims": ("trial", "unit")}, ValueError,
         r"data\['counts'\] must be finite; got 1 non-finite values, the first at index \(0, 1\)"),
        (np.array([[1.0, -2.0]]), {"dims": ("trial", "unit")}, ValueError, "must be non-negative; got a minimum of -2.0"),
        (np.ones((4, 2)), {"dims": ("trial", "unit"), "variable": "spikes"}, ValueError,
         r"variable must be one of \['counts', 'rates'\]"),
        (np.array([["a", "b"]]), {"dims": ("trial", "unit")}, TypeError, r"data must be a numeric array; got array of shape \(1, 2\) and dtype <U1"),
    ],
)
def test_from_arrays_refuses_bad_input(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        from_arrays(data, **kwargs)


def test_validate_recording_errors():
    with pytest.raises(TypeError, match="recording must be an xarray.Dataset"):
        validate_recording(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"recording must contain one of the variables \['counts', 'rates'\]; got \['spikes'\]"):
        validate_recording(xr.Dataset({"spikes": (("trial", "unit"), np.zeros((2, 2)))}))
    bad_time = xr.Dataset({"counts": (("trial", "time", "unit"), np.zeros((2, 3, 1)))}, coords={"time": [0, 1, 2]})
    with pytest.raises(ValueError, match=r"recording\['time'\].attrs\['units'\] must be 'ms'; got None"):
        validate_recording(bad_time)


def test_bin_spikes_matches_a_slow_count(rng):
    spikes = [np.sort(rng.uniform(0, 10, size=n)) for n in (50, 0, 120)]
    events = np.array([1.0, 3.5, 7.25])
    ds = bin_spikes(spikes, events, start_ms=-200, stop_ms=600, bin_ms=50, unit_ids=[7, 8, 9],
                    trial_coords={"condition": ["a", "b", "a"]})
    np.testing.assert_array_equal(ds.counts.values, _slow_bin(spikes, events, -200, 600, 50))
    assert ds.time.values[0] == -200 and ds.sizes["time"] == 16
    assert ds.unit.values.tolist() == [7, 8, 9] and ds.condition.values.tolist() == ["a", "b", "a"]


def test_bin_spikes_errors():
    with pytest.raises(ValueError, match="stop_ms - start_ms must be a non-negative multiple of bin_ms=30.0 ms"):
        bin_spikes([[0.1]], [0.0], start_ms=0, stop_ms=100, bin_ms=30)
    with pytest.raises(ValueError, match="stop_ms must be > 0.0; got 0.0"):
        bin_spikes([[0.1]], [0.0], start_ms=0, stop_ms=0, bin_ms=10)
    with pytest.raises(ValueError, match="spike_times_s must hold at least one unit; got 0"):
        bin_spikes([], [0.0], start_ms=0, stop_ms=100, bin_ms=10)
    with pytest.raises(ValueError, match=r"spike_times_s\[0\] must be finite"):
        bin_spikes([[0.1, np.nan]], [0.0], start_ms=0, stop_ms=100, bin_ms=10)
    with pytest.raises(ValueError, match=r"coords\['condition'\] must have shape \(1,\)"):
        bin_spikes([[0.1]], [0.0], start_ms=0, stop_ms=100, bin_ms=10, trial_coords={"condition": [1, 2]})


def test_rebin_sums_counts_and_averages_rates(rng):
    counts = from_arrays(rng.poisson(2.0, size=(3, 7, 2)), dims=("trial", "time", "unit"), bin_ms=10)
    out = rebin(counts, 3)
    np.testing.assert_array_equal(out.counts.values, counts.counts.values[:, :6].reshape(3, 2, 3, 2).sum(axis=2))
    assert out.time.values.tolist() == [0.0, 30.0] and out.attrs["bin_ms"] == 30.0 and out.time.attrs["units"] == "ms"
    rates = from_arrays(rng.uniform(size=(2, 4, 1)), dims=("condition", "time", "unit"), variable="rates", bin_ms=5)
    np.testing.assert_allclose(rebin(rates, 2).rates.values, rates.rates.values.reshape(2, 2, 2, 1).mean(axis=2))


def test_rebin_errors(rng):
    ds = from_arrays(np.ones((2, 3)), dims=("trial", "unit"))
    with pytest.raises(ValueError, match=r"ds must have a 'time' dim to rebin; got dims \('trial', 'unit'\)"):
        rebin(ds, 2)
    timed = from_arrays(np.ones((2, 3, 1)), dims=("trial", "time", "unit"), bin_ms=10)
    with pytest.raises(ValueError, match=r"factor must be an integer in \[1, 3\]; got 4"):
        rebin(timed, 4)


def test_trial_average_groups_trials_by_a_label(rng):
    labels = np.array([45, 0, 45, 90, 0, 45])
    ds = from_arrays(rng.poisson(4.0, size=(6, 2, 3)), dims=("trial", "time", "unit"), bin_ms=20,
                     coords={"direction": ("trial", labels), "choice": ("trial", [0, 1, 0, 1, 1, 0])})
    out = trial_average(ds, "direction")
    assert out.counts.dims == ("condition", "time", "unit") and out.condition.values.tolist() == [0, 45, 90]
    for k, value in enumerate([0, 45, 90]):
        np.testing.assert_allclose(out.counts.values[k], ds.counts.values[labels == value].mean(axis=0))
    assert out.n_trials.values.tolist() == [2, 3, 1] and "choice" not in out.coords
    assert out.attrs["averaged_by"] == "direction"


def test_trial_average_errors(rng):
    ds = from_arrays(np.ones((4, 2)), dims=("trial", "unit"), coords={"stim": ("trial", [0, 1, 0, 1])})
    with pytest.raises(ValueError, match=r"by must name a 1-D coord along 'trial'; got 'direction' \(available: \['stim'\]\)"):
        trial_average(ds, "direction")
    averaged = from_arrays(np.ones((4, 2)), dims=("condition", "unit"))
    with pytest.raises(ValueError, match=r"ds must have a 'trial' dim to average trials; got dims \('condition', 'unit'\)"):
        trial_average(averaged, "condition")


def test_netcdf_round_trip(tmp_path, rng):
    ds = from_arrays(rng.poisson(2.0, size=(5, 3, 2)), dims=("trial", "time", "unit"), bin_ms=10,
                     coords={"stimulus": ("trial", [1, 2, 3, 4, 5])}, attrs={"source": "synthetic"})
    xr.testing.assert_identical(load_recording(save_recording(ds, tmp_path / "rec.nc")), ds)
    with pytest.raises(FileNotFoundError, match="path must be an existing netCDF file"):
        load_recording(tmp_path / "missing.nc")
