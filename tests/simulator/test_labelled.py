"""The labelled paths build their Datasets directly: identical to xarray's public constructors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodis.models import CTRNN
from neurodis.simulator import simulate
from neurodis.tasks import list_tasks, make_task
from neurodis.trials import (
    TIME_ATTRS,
    VARIABLE_ATTRS,
    VARIABLE_DIMS,
    assemble_dataset,
    dataset_parts,
    dim_coord,
    make_trials,
    save_trials,
    shallow_copy,
    validate_trials,
)


def _identical(fast: xr.Dataset, slow: xr.Dataset) -> None:
    """Identical, in the same variable and dimension order, with the same dtypes."""
    xr.testing.assert_identical(fast, slow)
    assert list(fast.variables) == list(slow.variables)
    assert list(fast.sizes) == list(slow.sizes)
    assert {k: v.dtype for k, v in fast.variables.items()} == {k: v.dtype for k, v in slow.variables.items()}
    assert set(fast.xindexes) == set(slow.xindexes)


def _public_trials(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` rebuilt from its raw arrays with the public ``xr.Dataset`` constructor."""
    coords = {name: xr.DataArray(ds[name].values, dims=(name,), attrs=ds[name].attrs) for name in ds.dims}
    coords.update({name: (var.dims, var.values) for name, var in ds.coords.items() if name not in ds.dims})
    data = {name: (VARIABLE_DIMS[name], ds[name].values, dict(VARIABLE_ATTRS[name])) for name in ds.data_vars}
    return xr.Dataset(data, coords=coords, attrs=ds.attrs)


@pytest.mark.parametrize("name", list_tasks())
def test_sampled_trials_equal_the_public_constructors_dataset(name):
    ds = make_task(name).sample(4, 0)
    _identical(ds, _public_trials(ds))
    assert ds["time"].attrs == TIME_ATTRS


def test_long_coordinates_equal_the_public_constructors_too():
    ds = make_task("classification", n_tasks=2).sample(1500, 0)  # a trial axis too long to cache
    _identical(ds, _public_trials(ds))


def test_datasets_do_not_share_mutable_coordinates():
    task = make_task("classification", n_tasks=3)
    first, second = task.sample(4, 0), task.sample(4, 1)
    first["time"].attrs["units"] = "s"
    first["output"].attrs["note"] = "changed"
    assert second["time"].attrs == TIME_ATTRS and not second["output"].attrs
    assert task.sample(4, 0)["time"].attrs["units"] == "ms"


def test_make_trials_refuses_negative_loss_weights():
    with pytest.raises(ValueError, match=r"trials\['loss_mask'\] must be non-negative"):
        make_trials(inputs=np.zeros((2, 3, 1)), targets=np.zeros((2, 3, 1)), loss_mask=-np.ones((2, 3, 1)),
                    latents=np.zeros((2, 2)), dt=100.0, input_names=["fixation"], output_names=["y0"])


def test_dim_coord_keeps_the_values_dtype():
    index, variable = dim_coord("output", np.array(["left", "right"]))
    assert variable.dtype == np.array(["left", "right"]).dtype and list(index.index) == ["left", "right"]


def test_assemble_dataset_equals_the_public_constructor():
    index, unit = dim_coord("unit", np.arange(3), {"long_name": "unit"})
    rates = xr.Variable(("trial", "unit"), np.ones((2, 3)), {"units": "1"})
    label = xr.Variable(("trial",), np.array(["a", "b"]))
    fast = assemble_dataset({"rates": rates, "unit": unit, "label": label}, ["unit", "label"], {"dt": 1.0},
                            {"unit": index})
    slow = xr.Dataset({"rates": rates}, coords={"unit": unit, "label": label}, attrs={"dt": 1.0})
    _identical(fast, slow)


def test_assemble_dataset_with_the_sizes_given_equals_it_with_them_read():
    index, unit = dim_coord("unit", np.arange(3))
    variables = {"rates": xr.Variable(("trial", "unit"), np.ones((2, 3))), "unit": unit,
                 "label": xr.Variable(("trial",), np.array(["a", "b"]))}
    read = assemble_dataset(variables, ["unit", "label"], {}, {"unit": index})
    _identical(assemble_dataset(variables, ["unit", "label"], {}, {"unit": index}, sizes={"trial": 2, "unit": 3}),
               read)


def _copy_cases(tmp_path) -> dict[str, xr.Variable]:
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    with xr.open_dataset(save_trials(trials, tmp_path / "trials.nc"), engine="h5netcdf") as lazy:
        lazy_inputs = lazy.variables["inputs"]  # not loaded: xarray's copy re-wraps its cache
    return {
        "data": trials.variables["inputs"],
        "index": trials.variables["time"],
        "non-index coord": trials.variables["quadrant"],
        "no attrs": xr.Variable(("a",), np.arange(2), {}),
        "encoding": xr.Variable(("a",), np.arange(2.0), {"units": "1"}, {"dtype": "float32"}),
        "lazily loaded": lazy_inputs,
    }


@pytest.mark.parametrize("case", ["data", "index", "non-index coord", "no attrs", "encoding", "lazily loaded"])
def test_shallow_copy_equals_xarrays_shallow_copy(case, tmp_path):
    variable = _copy_cases(tmp_path)[case]
    fast, slow = shallow_copy(variable), variable.copy(deep=False)
    assert type(fast) is type(slow) and type(fast._data) is type(slow._data)
    assert (fast._data is variable._data) == (slow._data is variable._data)
    assert (fast._attrs, fast._encoding) == (slow._attrs, slow._encoding)
    xr.testing.assert_identical(fast, slow)
    fast.attrs["note"] = fast.encoding["note"] = "changed"
    assert "note" not in variable.attrs and "note" not in variable.encoding


def test_dataset_parts_are_read_only_views_of_the_dataset():
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    variables, coord_names, indexes = dataset_parts(trials)
    assert list(variables) == list(trials.variables) and coord_names == set(trials.coords)
    assert dict(indexes) == dict(trials.xindexes)
    with pytest.raises(TypeError):
        indexes["time"] = None
    with pytest.raises(TypeError):
        variables["inputs"] = None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_time_on_the_grid_passes_and_off_it_fails_the_same_way(dtype):
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    grid = (np.arange(22) * 100.0).astype(dtype)
    for time in (grid, grid + dtype(50.0)):  # exactly the grid, or from a later origin
        validate_trials(trials.assign_coords(time=("time", time, TIME_ATTRS)))
    for time in (grid * 1.5, np.where(np.arange(22) == 3, np.nan, grid).astype(dtype)):
        off = trials.assign_coords(time=("time", time, TIME_ATTRS))
        with pytest.raises(ValueError, match=r"trials\['time'\] must be spaced by dt=100.0 ms; got "):
            validate_trials(off)
        with pytest.raises(ValueError, match=r"trials\['time'\] must be spaced by dt=100.0 ms; got "):
            simulate(CTRNN(3, 2, n_units=4), off)


def _public_simulate(trials: xr.Dataset, result: xr.Dataset) -> xr.Dataset:
    """What ``simulate`` returned when it used ``drop_vars``/``assign_coords``/``assign``."""
    names = [n for n in ("rates", "logits", "outputs", "final_rates", "final_logits", "final_outputs") if n in result]
    stale = [n for n in (*names, "unit") if n in trials.variables]
    coords = {"unit": result["unit"].values}
    if "output" not in trials.dims:
        coords["output"] = result["output"].values
    ds = trials.drop_vars(stale).assign_coords(coords).assign({n: result[n].variable for n in names})
    ds.attrs = result.attrs
    return ds


@pytest.mark.parametrize("final_only", [False, True])
def test_simulated_datasets_equal_the_public_methods_result(final_only):
    trials = make_task("classification", n_tasks=3).sample(5, 0)
    model = CTRNN(3, 3, n_units=8, seed=0, recurrent_noise=0.1)
    once = simulate(model, trials, rng=1, final_only=final_only)
    _identical(once, _public_simulate(trials, once))
    again = simulate(model, once, rng=2, final_only=final_only)  # earlier results are replaced
    _identical(again, _public_simulate(once, again))
    validate_trials(again)


def test_simulating_raw_inputs_adds_an_output_coordinate():
    inputs = make_task("classification", n_tasks=2).sample(3, 0)[["inputs"]]
    ds = simulate(CTRNN(3, 2, n_units=4), inputs.drop_vars("output", errors="ignore"), rng=0)
    assert ds["output"].values.tolist() == [0, 1]
    _identical(ds, _public_simulate(inputs, ds))


def test_other_variables_over_units_take_xarrays_checked_path():
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    extra = trials.assign(gain=(("unit",), np.ones(4)))
    ds = simulate(CTRNN(3, 2, n_units=4), extra, rng=0)
    assert ds["gain"].dims == ("unit",) and ds.sizes["unit"] == 4
    with pytest.raises(ValueError, match="unit"):
        simulate(CTRNN(3, 2, n_units=5), extra, rng=0)
