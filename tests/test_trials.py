"""The trials schema: constructor, validation errors and the netCDF round trip."""

import numpy as np
import pytest
import xarray as xr

from neurodis.trials import (
    load_dataset,
    load_trials,
    make_trials,
    save_dataset,
    save_trials,
    time_coord,
    validate_trials,
)


def _arrays(n_trials=3, n_steps=4, n_inputs=2, n_outputs=2, n_latents=2):
    rng = np.random.default_rng(0)
    return {
        "inputs": rng.normal(size=(n_trials, n_steps, n_inputs)),
        "targets": rng.normal(size=(n_trials, n_steps, n_outputs)),
        "loss_mask": np.ones((n_trials, n_steps, n_outputs)),
        "latents": rng.normal(size=(n_trials, n_latents)),
        "dt": 50.0,
        "input_names": [f"in{i}" for i in range(n_inputs)],
        "output_names": [f"out{i}" for i in range(n_outputs)],
    }


@pytest.fixture
def trials():
    return make_trials(**_arrays(), trial_coords={"quadrant": np.array([1, 2, 4])},
                       attrs={"config": {"sigma": 0.2, "n": [1, 2]}, "seed": 3, "flag": True})


def test_make_trials_labels_every_axis(trials):
    assert dict(trials.sizes) == {"trial": 3, "time": 4, "input": 2, "output": 2, "latent": 2}
    np.testing.assert_array_equal(trials["time"], [0.0, 50.0, 100.0, 150.0])
    assert trials["time"].attrs["units"] == "ms"
    assert list(trials["latent"].values) == ["x0", "x1"]
    assert trials["quadrant"].dims == ("trial",)
    assert trials.attrs["config"] == '{"n": [1, 2], "sigma": 0.2}' and trials.attrs["flag"] == 1
    np.testing.assert_array_equal(time_coord(2, 10.0), [0.0, 10.0])


def test_netcdf_round_trip_is_identical(trials, tmp_path):
    loaded = load_trials(save_trials(trials, tmp_path / "sub" / "trials.nc"))
    xr.testing.assert_identical(loaded, trials)
    assert not list((tmp_path / "sub").glob("*.tmp"))  # the temporary file was renamed away


def test_save_dataset_round_trips_any_dataset(tmp_path):
    ds = xr.Dataset({"r2": ("n_tasks", [0.5, 0.9])}, coords={"n_tasks": [2, 24]},
                    attrs={"config": {"a": 1}, "weights": np.array([1.0, 2.0])})
    ds["r2"].attrs["meta"] = {"b": [1, 2]}
    loaded = load_dataset(save_dataset(ds, tmp_path / "r.nc"))
    assert loaded.attrs["config"] == '{"a": 1}' and loaded["r2"].attrs["meta"] == '{"b": [1, 2]}'
    np.testing.assert_array_equal(loaded["r2"], ds["r2"])


def _replace(**changes):
    arrays = _arrays()
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"inputs": np.zeros((3, 4))}, ValueError, "inputs must have 3 dimensions; got array of shape"),
        ({"targets": np.zeros((3, 5, 2))}, ValueError, r"targets must have shape \(3, 4, 'any'\); got array of shape \(3, 5, 2\)"),
        ({"loss_mask": np.ones((3, 4, 1))}, ValueError, r"loss_mask must have shape \(3, 4, 2\)"),
        ({"latents": np.zeros((2, 2))}, ValueError, r"latents must have shape \(3, 'any'\)"),
        ({"inputs": np.full((3, 4, 2), np.nan)}, ValueError, "inputs must be finite; got 24 non-finite values"),
        ({"dt": 0.0}, ValueError, r"dt must be > 0.0; got 0.0"),
        ({"dt": float("nan")}, ValueError, "dt must be a finite real number; got nan"),
        ({"input_names": ["a"]}, ValueError, "input_names must have 2 entries to match the data; got 1"),
        ({"output_names": ["a", "b", "c"]}, ValueError, "output_names must have 2 entries to match the data; got 3"),
        ({"latent_names": ["a"]}, ValueError, "latent_names must have 2 entries to match the data; got 1"),
        ({"trial_coords": {"quadrant": np.zeros(2)}}, ValueError,
         r"trial_coords\['quadrant'\] must have shape \(3,\); got array of shape \(2,\)"),
        ({"attrs": {"obj": object()}}, TypeError, r"attrs\['obj'\] must be a str, number, JSON-serialisable"),
        ({"inputs": np.empty((3, 4, 2), dtype=object)}, TypeError, "inputs must be a numeric array"),
    ],
)
def test_make_trials_rejects_bad_arrays(changes, error, match):
    with pytest.raises(error, match=match):
        make_trials(**_replace(**changes))


@pytest.mark.parametrize(
    "corrupt, error, match",
    [
        (lambda ds: ds["inputs"].values, TypeError, "trials must be an xarray.Dataset; got array"),
        (lambda ds: ds.drop_vars("targets"), ValueError, r"trials must contain variables .*; missing \['targets'\]"),
        (lambda ds: ds.assign(inputs=ds["inputs"].transpose("time", "trial", "input")), ValueError,
         r"trials\['inputs'\] must have dims \('trial', 'time', 'input'\); got \('time', 'trial', 'input'\)"),
        (lambda ds: ds.assign(latents=ds["latents"] * np.inf), ValueError, r"trials\['latents'\] must be finite"),
        (lambda ds: ds.drop_attrs(deep=False), ValueError, r"trials.attrs must contain 'dt'"),
        (lambda ds: ds.assign_attrs(dt=-1.0), ValueError, r"trials.attrs\['dt'\] must be > 0.0; got -1.0"),
        (lambda ds: ds.assign_coords(time=ds["time"].assign_attrs(units="s")), ValueError,
         r"trials\['time'\].attrs\['units'\] must be 'ms'; got 's'"),
        (lambda ds: ds.assign_coords(time=("time", [0.0, 50.0, 120.0, 150.0], {"units": "ms"})), ValueError,
         r"trials\['time'\] must be spaced by dt=50.0 ms"),
        (lambda ds: ds.assign(loss_mask=-ds["loss_mask"]), ValueError, r"trials\['loss_mask'\] must be non-negative"),
    ],
)
def test_validate_trials_rejects_broken_datasets(trials, corrupt, error, match):
    with pytest.raises(error, match=match):
        validate_trials(corrupt(trials))


def test_validate_trials_accepts_a_later_time_origin_and_extra_variables(trials):
    shifted = trials.assign_coords(time=trials["time"] + 1000.0)
    rates = xr.DataArray(np.zeros((3, 4, 5)), dims=("trial", "time", "unit"))
    assert validate_trials(shifted.assign(rates=rates)) is not None
    assert validate_trials(trials[["inputs"]].assign_attrs(dt=50.0), required=("inputs",)) is not None


def test_io_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path must be an existing netCDF file; got"):
        load_dataset(tmp_path / "missing.nc")
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset; got {'a': 1}"):
        save_dataset({"a": 1}, tmp_path / "x.nc")
    bad = xr.Dataset(attrs={"obj": {1, 2}})
    with pytest.raises(TypeError, match=r"ds.attrs\['obj'\] must be a str, number"):
        save_dataset(bad, tmp_path / "x.nc")
    assert not list(tmp_path.iterdir())
