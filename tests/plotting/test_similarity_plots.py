"""Content checks of the model-brain comparison figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from neurodis.analysis.similarity import linear_cka, rdm, rsa
from neurodis.plotting import plot_kernels, plot_null, plot_rdms


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rsa_result(rng):
    x = xr.DataArray(rng.normal(size=(6, 4)), dims=("condition", "unit"), coords={"condition": np.arange(6) * 60})
    return rsa(x, x + rng.normal(size=(6, 4)), null=None)


def test_rdms_side_by_side_show_the_matrices(rsa_result):
    fig = plot_rdms(rsa_result, titles=["model", "brain"])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    np.testing.assert_array_equal(images[0].get_array(), rsa_result.rdm_x.values)
    np.testing.assert_array_equal(images[1].get_array(), rsa_result.rdm_y.values)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["model", "brain"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "60", "120", "180", "240", "300"]


def test_rdms_on_given_axes(rng):
    rdms = [rdm(xr.DataArray(rng.normal(size=(4, 3)), dims=("condition", "unit"))) for _ in range(3)]
    fig, axes = plt.subplots(1, 3)
    assert plot_rdms(rdms, ax=list(axes)) is fig
    assert all(ax.images for ax in axes)


def test_rdm_plot_errors(rsa_result, rng):
    with pytest.raises(ValueError, match="titles must have 2 entries, one per RDM; got 1"):
        plot_rdms(rsa_result, titles=["only"])
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="ax must hold 2 Axes, one per RDM; got 3"):
        plot_rdms(rsa_result, ax=list(axes))
    with pytest.raises(TypeError, match=r"ax\[0\] must be a matplotlib Axes"):
        plot_rdms(rsa_result, ax=["a", "b"])
    with pytest.raises(ValueError, match=r"rdms must hold the variables 'rdm_x' and 'rdm_y' \(an rsa result\)"):
        plot_rdms(rsa_result.drop_vars("rdm_y"))
    with pytest.raises(TypeError, match="rdms must be an rsa result Dataset or a non-empty sequence"):
        plot_rdms(rsa_result.rdm_x)
    with pytest.raises(ValueError, match=r"rdms\[0\] must be a square 2-D RDM"):
        plot_rdms([xr.DataArray(np.zeros((2, 3)), dims=("a", "b"))])
    with pytest.raises(TypeError, match=r"rdms\[1\] must be an RDM DataArray"):
        plot_rdms([rsa_result.rdm_x, np.zeros((2, 2))])


def test_null_histogram_marks_the_score(rng):
    x = xr.DataArray(rng.normal(size=(10, 3)), dims=("condition", "unit"))
    result = linear_cka(x, x + rng.normal(size=(10, 3)), n_shuffles=40, rng=0)
    fig = plot_null(result, bins=8)
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 40
    assert ax.lines[0].get_xdata()[0] == pytest.approx(float(result.score))
    assert ax.get_title() == f"p = {float(result.p_value):.3g}"


def test_null_plot_errors(rng):
    x = xr.DataArray(rng.normal(size=(10, 3)), dims=("condition", "unit"))
    with pytest.raises(ValueError, match="result\\['null'\\] must hold finite null draws to plot; it is empty"):
        plot_null(linear_cka(x, x, null=None))
    with pytest.raises(ValueError, match=r"result must contain 'score', 'null' and 'p_value'; missing \['null', 'p_value'\]"):
        plot_null(xr.Dataset({"score": 1.0}))
    with pytest.raises(TypeError, match="result must be a similarity result Dataset"):
        plot_null({"score": 1.0})
    with pytest.raises(ValueError, match="bins must be an integer >= 1; got 0"):
        plot_null(linear_cka(x, x, n_shuffles=3, rng=0), bins=0)


def test_kernels_draw_one_line_per_source():
    weights = np.array([[0.083, 0.081, 0.054, 0.048, 0.045, 0.041, 0.039], [0.06] * 7])
    kernels = xr.DataArray(weights, dims=("source", "pulse"),
                           coords={"source": ["monkey", "network"], "pulse": np.arange(1, 8)})
    fig, ax = plt.subplots()
    assert plot_kernels(kernels, ax=ax) is fig
    lines = [line for line in ax.lines if len(line.get_xdata()) == 7]
    np.testing.assert_allclose([line.get_ydata() for line in lines], weights)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["monkey", "network"]
    single = plot_kernels(kernels.sel(source="monkey"))
    np.testing.assert_allclose(single.axes[0].lines[0].get_ydata(), weights[0])


def test_kernel_plot_errors():
    with pytest.raises(TypeError, match="kernels must be a DataArray with a 'pulse' dim"):
        plot_kernels(np.zeros(7))
    with pytest.raises(ValueError, match="kernels must have a 'pulse' dim and at most one other dim"):
        plot_kernels(xr.DataArray(np.zeros((2, 7)), dims=("source", "step")))
    with pytest.raises(ValueError, match="kernels must have a 'pulse' dim and at most one other dim"):
        plot_kernels(xr.DataArray(np.zeros((2, 2, 7)), dims=("a", "b", "pulse")))
