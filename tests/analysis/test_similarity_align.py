"""Alignment of two labelled representations before they are compared."""

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis.similarity import align_pair


def _da(shape, dims, **coords):
    return xr.DataArray(np.random.default_rng(0).normal(size=shape), dims=dims, coords=coords)


def test_units_may_differ_and_dims_are_put_in_one_order():
    x = _da((3, 4, 5), ("condition", "time", "unit"), condition=[0, 1, 2])
    y = _da((7, 4, 3), ("unit", "time", "condition"), condition=[0, 1, 2])
    xa, ya, dims = align_pair(x, y)
    assert dims == ("condition", "time")
    assert xa.dims == ya.dims == ("condition", "time", "unit")
    np.testing.assert_array_equal(ya.values, y.transpose("condition", "time", "unit").values)


def test_coord_on_only_one_array_is_accepted():
    x = _da((3, 2), ("trial", "unit"), stimulus=("trial", [1, 2, 3]))
    y = _da((3, 4), ("trial", "unit"))
    assert align_pair(x, y)[2] == ("trial",)


@pytest.mark.parametrize(
    ("x", "y", "error", "match"),
    [
        (np.zeros((3, 2)), _da((3, 2), ("trial", "unit")), TypeError, "x must be an xarray.DataArray"),
        (_da((3, 2), ("trial", "neuron")), _da((3, 2), ("trial", "unit")), ValueError, "x must have a 'unit' dim"),
        (_da((3, 2), ("trial", "unit")), _da((3, 0), ("trial", "unit")), ValueError, "y must have at least one unit"),
        (_da((3,), ("unit",)), _da((3,), ("unit",)), ValueError, "at least one sample dim"),
        (_da((3, 2), ("trial", "unit")), _da((3, 4, 2), ("trial", "time", "unit")), ValueError, r"x lacks \['time'\]"),
        (_da((3, 2), ("trial", "unit")), _da((4, 2), ("trial", "unit")), ValueError, "same size along 'trial'"),
        (
            _da((3, 2), ("condition", "unit"), condition=[0, 45, 90]),
            _da((3, 2), ("condition", "unit"), condition=[0, 90, 45]),
            ValueError,
            r"agree on coord 'condition'; they first differ at index \(1,\): np.int64\(45\) in x vs np.int64\(90\)",
        ),
    ],
)
def test_bad_pairs_are_refused_with_a_message_naming_the_problem(x, y, error, match):
    with pytest.raises(error, match=match):
        align_pair(x, y)


def test_nan_values_are_refused():
    y = _da((3, 2), ("trial", "unit"))
    y[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite; got 1 non-finite values, the first at index \(1, 0\)"):
        align_pair(_da((3, 2), ("trial", "unit")), y)


def test_complex_values_are_refused():
    y = xr.DataArray(np.ones((3, 2), dtype=complex), dims=("trial", "unit"))
    with pytest.raises(TypeError, match="y must hold real numbers; got dtype complex128"):
        align_pair(_da((3, 2), ("trial", "unit")), y)


def test_mismatched_trial_labels_are_refused():
    pulses = np.arange(21).reshape(3, 7)
    other = pulses.copy()
    other[2, 6] = -1
    x = _da((3, 2), ("trial", "unit"), **{f"pulse_{k + 1}": ("trial", pulses[:, k]) for k in range(7)})
    y = _da((3, 5), ("trial", "unit"), **{f"pulse_{k + 1}": ("trial", other[:, k]) for k in range(7)})
    with pytest.raises(ValueError, match=r"coord 'pulse_7'; they first differ at index \(2,\)"):
        align_pair(x, y)


def test_labels_along_different_dims_are_refused():
    x = _da((3, 3, 2), ("trial", "time", "unit"), label=("trial", [0, 1, 2]))
    y = _da((3, 3, 2), ("trial", "time", "unit"), label=("time", [0, 1, 2]))
    with pytest.raises(ValueError, match=r"agree on coord 'label'; got dims \('trial',\) shape \(3,\) in x"):
        align_pair(x, y)
