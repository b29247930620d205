"""The labelled fast paths (cached coordinates, checks skipped on valid arrays) change nothing.

``Task.sample`` builds its Dataset from coordinates cached per shape and names, and reads
the task's config and channel names once; ``simulate`` copies the trials' variables
directly. Each Dataset must be identical, in order, dtypes and attrs, to one built
independently with xarray's public constructor from the same draws, and every bad
input must still fail with its message.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import re

import numpy as np
import pytest
import xarray as xr

import neurodis
from neurodis._validation import check_array, rng_provenance
from neurodis.models import CTRNN
from neurodis.simulator import simulate, simulate_arrays
from neurodis.tasks import list_tasks, make_task
from neurodis.tasks.encoders import Encoder
from neurodis.trials import (
    TIME_ATTRS,
    VARIABLE_ATTRS,
    VARIABLE_DIMS,
    make_trials,
    validate_trials,
)


def _identical(fast: xr.Dataset, slow: xr.Dataset) -> None:
    """Identical, with the same variable, coordinate and dimension order and the same types."""
    xr.testing.assert_identical(fast, slow)
    assert list(fast.variables) == list(slow.variables)
    assert list(fast.coords) == list(slow.coords)
    assert list(fast.sizes) == list(slow.sizes)
    assert {k: (type(v), v.dtype) for k, v in fast.variables.items()} == \
        {k: (type(v), v.dtype) for k, v in slow.variables.items()}
    assert {k: type(v) for k, v in fast.attrs.items()} == {k: type(v) for k, v in slow.attrs.items()}
    assert {k: type(v) for k, v in fast.xindexes.items()} == {k: type(v) for k, v in slow.xindexes.items()}


def _public_sample(task, n_trials: int, seed: int, encoder=None) -> xr.Dataset:
    """What ``task.sample(n_trials, seed, encoder=encoder)`` holds, built the public way."""
    generator = np.random.default_rng(seed)
    provenance = rng_provenance(seed, generator)
    batch = task.sample_arrays(n_trials, generator)
    inputs, input_names = batch.inputs, list(task.input_names)
    attrs = {"dt": float(task.dt), "task": task.name, "config": json.dumps(task.config(), sort_keys=True),
             **provenance, "neurodis_version": neurodis.__version__}
    if encoder is not None:
        inputs, input_names = encoder.encode_inputs(inputs, input_names)
        attrs["encoder"] = json.dumps(encoder.config(), sort_keys=True)
    n_steps = inputs.shape[1]
    coords = {
        "trial": np.arange(n_trials),
        "time": xr.DataArray(np.arange(n_steps, dtype=np.float64) * task.dt, dims=("time",), attrs=TIME_ATTRS),
        "input": np.asarray(input_names),
        "output": np.asarray(list(task.output_names)),
        "latent": np.asarray(list(task.latent_names)),
        **{key: ("trial", value) for key, value in batch.trial_coords.items()},
    }
    arrays = {"inputs": inputs, "targets": batch.targets, "loss_mask": batch.loss_mask, "latents": batch.latents}
    data = {name: (VARIABLE_DIMS[name], array, dict(VARIABLE_ATTRS[name])) for name, array in arrays.items()}
    return xr.Dataset(data, coords=coords, attrs=attrs)


@pytest.mark.parametrize("name", [name for name in list_tasks() if name != "neurogym"])
@pytest.mark.parametrize("n_trials", [1, 16, 1500])  # 1500: a trial axis too long to cache
def test_sample_equals_the_public_constructors_dataset(name, n_trials):
    task = make_task(name)
    first, again = task.sample(n_trials, 3), task.sample(n_trials, 3)  # the second reads the caches
    _identical(first, _public_sample(task, n_trials, 3))
    _identical(again, first)


@pytest.mark.parametrize("name", ["classification", "accumulation", "regression"])
def test_encoded_samples_equal_the_public_constructors_dataset(name):
    task, encoder = make_task(name), Encoder(n_dims=2, hidden=(8,), n_out=5, seed=0)
    for n_trials in (16, 16, 1200):
        _identical(task.sample(n_trials, 5, encoder=encoder), _public_sample(task, n_trials, 5, encoder))


def test_tasks_that_differ_only_in_a_parameter_keep_their_own_config():
    one, two = make_task("classification", n_tasks=2), make_task("classification", n_tasks=2, sigma=0.5)
    one.sample(2, 0)
    assert json.loads(two.sample(2, 0).attrs["config"])["sigma"] == 0.5
    assert json.loads(one.sample(2, 0).attrs["config"]) == one.config()


def test_reading_the_task_once_leaves_it_equal_copyable_and_picklable():
    task = make_task("classification", n_tasks=3)
    fresh = make_task("classification", n_tasks=3)
    trials = task.sample(4, 0)
    assert task == fresh and dataclasses.asdict(task) == dataclasses.asdict(fresh)
    assert task.config() == fresh.config()
    _identical(pickle.loads(pickle.dumps(task)).sample(4, 0), trials)
    _identical(copy.deepcopy(task).sample(4, 0), trials)
    _identical(dataclasses.replace(task, sigma=task.sigma).sample(4, 0), trials)


def test_datasets_of_one_shape_do_not_share_mutable_coordinates():
    task = make_task("classification", n_tasks=3)
    first, second = task.sample(4, 0), task.sample(4, 1)
    for name in ("trial", "time", "input", "output", "latent"):
        first[name].attrs["note"] = "changed"
    for name in ("trial", "time", "input", "output", "latent"):
        assert "note" not in second[name].attrs and "note" not in task.sample(4, 2)[name].attrs
    assert second["time"].attrs == TIME_ATTRS


def _arrays(n_trials=2, n_steps=3):
    return {"inputs": np.zeros((n_trials, n_steps, 2)), "targets": np.zeros((n_trials, n_steps, 1)),
            "loss_mask": np.ones((n_trials, n_steps, 1)), "latents": np.zeros((n_trials, 2)), "dt": 10.0}


def _public_trials(inputs, targets, loss_mask, latents, dt, input_names, output_names, latent_names):
    n_trials, n_steps, _ = np.shape(inputs)
    coords = {"trial": np.arange(n_trials),
              "time": xr.DataArray(np.arange(n_steps) * dt, dims=("time",), attrs=TIME_ATTRS),
              "input": np.asarray(list(input_names)), "output": np.asarray(list(output_names)),
              "latent": np.asarray(list(latent_names))}
    arrays = {"inputs": inputs, "targets": targets, "loss_mask": loss_mask, "latents": latents}
    data = {name: (VARIABLE_DIMS[name], np.asarray(array), dict(VARIABLE_ATTRS[name])) for name, array in arrays.items()}
    return xr.Dataset(data, coords=coords, attrs={"dt": dt})


@pytest.mark.parametrize("input_names", [["a", "b"], ("a", "b"), np.array(["a", "b"]), [0, 1], [0.5, 1.5],
                                         [True, False], ["a", 1]])
def test_make_trials_labels_keep_their_type_cached_or_not(input_names):
    args = {**_arrays(), "input_names": input_names, "output_names": ["y"], "latent_names": ["x0", "x1"]}
    _identical(make_trials(**args), _public_trials(**args))
    _identical(make_trials(**args), _public_trials(**args))


def test_make_trials_takes_array_likes_as_before():
    args = {**_arrays(), "input_names": ["a", "b"], "output_names": ["y"], "latent_names": ["x0", "x1"]}
    listed = {**args, **{name: args[name].tolist() for name in ("inputs", "targets", "loss_mask", "latents")}}
    as_int = {**args, "inputs": args["inputs"].astype(np.int64), "loss_mask": args["loss_mask"].astype(bool)}
    for kwargs in (listed, as_int):
        _identical(make_trials(**kwargs), _public_trials(**kwargs))


@pytest.mark.parametrize("value", [np.ones((2, 3)), np.array([[1.0, np.nan]]), np.ma.masked_array(np.ones((1, 2))),
                                   [[1, 2]], np.array([["a"]]), np.ones((2, 2), dtype=np.float32)])
def test_checked_array_returns_or_raises_what_check_array_does(value):
    from neurodis.trials import _checked_array

    try:
        expected = check_array("x", value, ndim=2)
    except (TypeError, ValueError) as err:
        with pytest.raises(type(err), match=f"^{re.escape(str(err))}$"):
            _checked_array("x", value, ndim=2)
    else:
        got = _checked_array("x", value, ndim=2)
        assert type(got) is type(expected) and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("names", "match"), [
    ({"input_names": ["a"]}, r"input_names must have 2 entries to match the data; got 1"),
    ({"input_names": ["a", "a"]}, r"input_names must be unique; got \['a', 'a'\] \(repeated: \['a'\]\)"),
    ({"output_names": ["y", "z"]}, r"output_names must have 1 entries to match the data; got 2"),
    ({"latent_names": ("x", "x")}, r"latent_names must be unique; got \['x', 'x'\]"),
])
def test_bad_names_fail_every_time_and_are_not_cached(names, match):
    args = {**_arrays(), "input_names": ["a", "b"], "output_names": ["y"], "latent_names": ["x0", "x1"]}
    for _ in range(2):
        with pytest.raises(ValueError, match=match):
            make_trials(**{**args, **names})
        make_trials(**args)


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"inputs": np.zeros((2, 3))}, ValueError, r"inputs must have 3 dimensions; got array of shape \(2, 3\)"),
    ({"targets": np.zeros((2, 4, 1))}, ValueError, r"targets must have shape \(2, 3, 'any'\)"),
    ({"loss_mask": np.full((2, 3, 1), np.inf)}, ValueError, r"loss_mask must be finite; got 6 non-finite values"),
    ({"latents": np.array([[0.0, np.nan], [0.0, 0.0]])}, ValueError, r"latents must be finite; .* index \(0, 1\)"),
    ({"inputs": np.full((2, 3, 2), "a")}, TypeError, "inputs must be a numeric array"),
    ({"loss_mask": -np.ones((2, 3, 1))}, ValueError, r"trials\['loss_mask'\] must be non-negative"),
])
def test_make_trials_still_refuses_bad_arrays(change, error, match):
    args = {**_arrays(), "input_names": ["a", "b"], "output_names": ["y"], "latent_names": ["x0", "x1"]}
    with pytest.raises(error, match=match):
        make_trials(**{**args, **change})


def test_validate_trials_reads_time_without_an_index_or_in_float32_alike():
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    unindexed = trials.drop_indexes("time")
    assert validate_trials(unindexed) is unindexed
    for dtype in (np.float64, np.float32):
        skewed = trials.assign_coords(time=("time", (np.arange(22) * 150.0).astype(dtype), TIME_ATTRS))
        assert skewed["time"].dtype == dtype
        for ds in (skewed, skewed.drop_indexes("time")):
            with pytest.raises(ValueError, match=re.escape(f"must be spaced by dt=100.0 ms; got "
                                                           f"{skewed['time'].values[:5]}...")):
                validate_trials(ds)
    shifted = trials.assign_coords(time=("time", (np.arange(22) * 100.0 + 0.004).astype(np.float32), TIME_ATTRS))
    assert validate_trials(shifted) is shifted  # a later origin, in float32 steps


def test_validate_trials_still_refuses_non_finite_and_misshaped_variables():
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    bad = trials.copy(deep=True)
    bad["targets"].values[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"trials\['targets'\] must be finite; got 1 non-finite values, the first at "
                                         r"index \(1, 2, 0\)"):
        validate_trials(bad)
    with pytest.raises(ValueError, match=r"trials\['latents'\] must have dims \('trial', 'latent'\); got "):
        validate_trials(trials.assign(latents=trials["latents"].T))
    validate_trials(trials.assign(latents=trials["latents"].astype(np.int64)))


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


@pytest.mark.parametrize("name", ["classification", "accumulation", "regression", "pulses"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simulated_trials_of_each_task_equal_the_public_methods_result(name, dtype):
    trials = make_task(name).sample(6, 0)
    model = CTRNN(trials.sizes["input"], trials.sizes["output"], n_units=8, seed=0, dt=trials.attrs["dt"])
    ds = simulate(model, trials, rng=1, dtype=dtype)
    _identical(ds, _public_simulate(trials, ds))
    arrays = simulate_arrays(model, trials["inputs"].values, dtype=dtype)
    for variable in ("rates", "logits", "outputs"):
        np.testing.assert_array_equal(ds[variable].values, getattr(arrays, variable))
    assert json.loads(ds.attrs["simulation"]) == {"dtype": np.dtype(dtype).name, "noise": "off"}
    assert ds.attrs["neurodis_version"] == neurodis.__version__


def test_simulated_datasets_do_not_share_variables_with_the_trials():
    trials = make_task("classification", n_tasks=2).sample(3, 0)
    ds = simulate(CTRNN(3, 2, n_units=4, seed=0), trials, rng=0)
    for name in trials.variables:
        ds[name].attrs["note"] = "changed"
        assert "note" not in trials[name].attrs, name


@pytest.mark.parametrize("inputs", [np.ones((3, 5, 2)), np.ones((3, 5, 2), dtype=np.float32), [[[1, 2]] * 5] * 3])
def test_simulating_raw_inputs_equals_the_public_constructors_dataset(inputs):
    model = CTRNN(2, 1, n_units=4, seed=0)
    ds = simulate(model, inputs, rng=0)
    weights = neurodis.simulator.as_weights(model)
    trials = xr.Dataset(
        {"inputs": (("trial", "time", "input"), np.asarray(inputs), dict(VARIABLE_ATTRS["inputs"]))},
        coords={"trial": np.arange(3), "time": xr.DataArray(np.arange(5) * weights.dt, dims="time", attrs=TIME_ATTRS),
                "input": np.arange(2)},
        attrs={"dt": weights.dt},
    )
    _identical(ds, _public_simulate(trials, ds))
    assert ds["inputs"].dtype == np.asarray(inputs).dtype
