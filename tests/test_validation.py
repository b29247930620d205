"""Tests of the shared argument checks: each error names the argument, the expected and the received value."""

import numpy as np
import pytest
import xarray as xr

from neurodis import _validation as v


def test_check_int_accepts_numpy_integers():
    assert v.check_int("n", np.int64(3), minimum=1) == 3


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "match"),
    [
        (1.5, {}, TypeError, r"n must be an integer; got float 1.5"),
        (True, {}, TypeError, r"n must be an integer; got bool True"),
        (0, {"minimum": 1}, ValueError, r"n must be an integer >= 1; got 0"),
        (9, {"maximum": 8}, ValueError, r"n must be an integer <= 8; got 9"),
        (9, {"minimum": 1, "maximum": 8}, ValueError, r"n must be an integer in \[1, 8\]; got 9"),
    ],
)
def test_check_int_errors(value, kwargs, error, match):
    with pytest.raises(error, match=match):
        v.check_int("n", value, **kwargs)


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "match"),
    [
        ("a", {}, TypeError, r"x must be a real number; got str 'a'"),
        (float("inf"), {}, ValueError, r"x must be a finite real number; got inf"),
        (-1.0, {"minimum": 0.0}, ValueError, r"x must be >= 0.0; got -1.0"),
        (0.0, {"minimum": 0.0, "strict_minimum": True}, ValueError, r"x must be > 0.0; got 0.0"),
        (2.0, {"maximum": 1.0}, ValueError, r"x must be <= 1.0; got 2.0"),
        (1.0, {"maximum": 1.0, "strict_maximum": True}, ValueError, r"x must be < 1.0; got 1.0"),
    ],
)
def test_check_real_errors(value, kwargs, error, match):
    with pytest.raises(error, match=match):
        v.check_real("x", value, **kwargs)


def test_check_probability_bounds():
    assert v.check_probability("p", 1.0) == 1.0
    with pytest.raises(ValueError, match=r"p must be < 1.0; got 1.0"):
        v.check_probability("p", 1.0, open_interval=True)


def test_check_multiple_counts_steps_and_rejects_remainders():
    assert v.check_multiple("stimulus", 2000.0, 100.0) == 20
    assert v.check_multiple("stimulus", 0.3, 0.1) == 3  # float round-off is tolerated
    with pytest.raises(ValueError, match=r"stimulus must be a non-negative multiple of dt=100.0 ms; got -100.0"):
        v.check_multiple("stimulus", -100.0, 100.0)


def test_check_array_shape_ndim_finite_and_type():
    assert v.check_array("a", [[1, 2]], shape=(1, None)).shape == (1, 2)
    with pytest.raises(ValueError, match=r"a must have 3 dimensions; got array of shape \(2,\)"):
        v.check_array("a", np.zeros(2), ndim=3)
    with pytest.raises(ValueError, match=r"a must have shape \(3, 'any'\); got array of shape \(2, 2\)"):
        v.check_array("a", np.zeros((2, 2)), shape=(3, None))
    with pytest.raises(ValueError, match=r"a must be finite; got 1 non-finite values, the first at index \(1,\)"):
        v.check_array("a", [0.0, np.nan])
    with pytest.raises(TypeError, match=r"a must be a numeric array; got array of shape \(1,\) and dtype object"):
        v.check_array("a", np.array([object()]))
    with pytest.raises(TypeError, match=r"a must be array-like; got"):
        v.check_array("a", [[1, 2], [3]], dtype=float)


def test_check_in_and_type():
    with pytest.raises(ValueError, match=r"mode must be one of \['a', 'b'\]; got 'c'"):
        v.check_in("mode", "c", ["a", "b"])
    with pytest.raises(TypeError, match=r"model must be a module; got int 3"):
        v.check_type("model", 3, str, "a module")


def test_check_dims_exact_and_subset():
    da = xr.DataArray(np.zeros((2, 3)), dims=("trial", "unit"))
    assert v.check_dims("rates", da, ("unit",), exact=False) is da
    with pytest.raises(ValueError, match=r"rates must have at least dims \('time',\); got \('trial', 'unit'\)"):
        v.check_dims("rates", da, ("time",), exact=False)
    with pytest.raises(ValueError, match=r"ds must have dims \('trial',\); got \('trial', 'unit'\)$"):
        v.check_dims("ds", xr.Dataset({"a": da}), ("trial",))
    with pytest.raises(TypeError, match=r"rates must be an xarray object with dims \('trial',\); got array"):
        v.check_dims("rates", np.zeros(2), ("trial",))


def test_check_rng_is_reproducible_and_passes_generators_through():
    g = np.random.default_rng(1)
    assert v.check_rng(g) is g
    seq = np.random.SeedSequence(5)
    assert v.check_rng(seq).random() == np.random.default_rng(np.random.SeedSequence(5)).random()
    assert v.check_rng(7).random() == v.check_rng(7).random()
    assert v.check_rng(7).random() != v.check_rng(8).random()
    with pytest.raises(ValueError, match=r"rng must be a non-negative integer seed; got -1"):
        v.check_rng(-1)
    with pytest.raises(TypeError, match=r"rng must be an int, numpy.random.SeedSequence"):
        v.check_rng(1.0)


def test_rng_provenance_replays_the_draws():
    g = v.check_rng(3)
    attrs = v.rng_provenance(3, g)
    first = g.standard_normal(5)
    replay = np.random.Generator(np.random.PCG64())
    import json

    replay.bit_generator.state = json.loads(attrs["rng_state"])
    np.testing.assert_array_equal(replay.standard_normal(5), first)
    assert attrs["seed"] == 3
    assert v.rng_provenance(g, g)["seed"] == -1


def test_check_array_refuses_strings_and_datetimes_as_types():
    with pytest.raises(TypeError, match=r"x must be a numeric array; got array of shape \(\) and dtype <U3"):
        v.check_array("x", "abc")
    with pytest.raises(TypeError, match="x must be a numeric array"):
        v.check_array("x", np.array(["2020-01-01"], dtype="datetime64[D]"))
    assert v.check_array("x", [True, False]).dtype == bool


def test_memory_limit_is_the_physical_memory():
    import os

    expected = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert v.memory_limit() == expected > 2**30


def test_check_memory_names_the_argument_the_bytes_and_the_advice():
    v.check_memory("n_trials", 8000, 8000 * 22 * 30 * 8.0, "inputs")  # the paper's evaluation size
    with pytest.raises(ValueError, match=r"n_trials=10000000000000 would need about 9.1e\+14 bytes \(inputs\), "
                                         r"more than the limit of 1e\+09 bytes \(physical memory\); split it"):
        v.check_memory("n_trials", 10**13, 9.1e14, "inputs", advice="split it", limit=1e9)
    with pytest.raises(ValueError, match="; reduce n_units$"):
        v.check_memory("n_units", 10**7, 1e15, "weights")


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        (np.ones((4, 2)), {}, r"x must vary across samples; got 4 samples that are all equal \(a constant array "
                              r"of shape \(4, 2\)\)"),
        (np.zeros((3, 2)), {}, "x must vary across samples"),
        (np.full((3, 2), 0.1) + np.array([[0.0], [1e-17], [0.0]]), {}, "x must vary"),  # rounding noise only
        (np.ones((1, 2)), {}, r"x must have at least 2 samples; got 1 \(an array of shape \(1, 2\)\)"),
        (np.arange(6.0).reshape(3, 2), {"min_samples": 4, "samples": "items"}, "x must have at least 4 items; got 3"),
        (np.zeros((0, 2)), {}, "x must have at least 2 samples; got 0"),
    ],
)
def test_check_samples_refuses_degenerate_input(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        v.check_samples("x", values, **kwargs)


def test_check_samples_accepts_varying_or_constant_when_allowed():
    values = np.arange(6.0).reshape(3, 2)
    assert v.check_samples("x", values) is values
    assert v.check_samples("x", np.ones((2, 3)), vary=False).shape == (2, 3)
