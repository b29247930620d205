"""Content checks of the geometry and fixed-point figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from neurodis.analysis import pca, tuning_maps
from neurodis.plotting import (
    plot_amplification,
    plot_eigenvalues,
    plot_explained_variance,
    plot_pc_trajectories,
    plot_tuning_maps,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def pca_result(rng):
    states = xr.DataArray(
        rng.normal(size=(8, 6, 5)),
        dims=("trial", "time", "unit"),
        coords={"time": np.arange(6) * 100.0, "quadrant": ("trial", np.repeat([1, 2, 3, 4], 2))},
    )
    return pca(states)


@pytest.fixture
def fixed_points(rng):
    """Three fixed points with four modes each, in the netCDF layout (real/imag pairs)."""
    mu = rng.uniform(0.2, 1.3, size=(3, 4)) * np.exp(1j * rng.uniform(-0.5, 0.5, size=(3, 4)))
    return xr.Dataset(
        {
            "eigenvalues_real": (("fixed_point", "mode"), mu.real),
            "eigenvalues_imag": (("fixed_point", "mode"), mu.imag),
            "amplification": (("fixed_point", "mode"), 0.1 / np.abs(np.log(np.abs(mu)))),
            "points": (("fixed_point", "unit"), rng.normal(size=(3, 5))),
        },
        attrs={"alpha": 0.1},
    )


def test_pc_trajectories_one_line_per_trial_coloured_by_quadrant(pca_result, fixed_points):
    fig = plot_pc_trajectories(pca_result, fixed_points=fixed_points["points"])
    ax = fig.axes[0]
    assert ax.name == "3d"
    lines = [c for c in ax.collections if hasattr(c, "get_segments")]
    assert len(lines) == 4  # one collection per quadrant
    fig.canvas.draw()  # 3-D segments are projected to 2-D when drawn
    assert sum(len(c.get_segments()) for c in lines) == 8  # one line per trial
    assert all(len(segment) == 6 for c in lines for segment in c.get_segments())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["quadrant 1", "quadrant 2", "quadrant 3", "quadrant 4", "fixed points"]
    # the overlaid points are the fixed points projected on the PCA's components
    scatter = [c for c in ax.collections if not hasattr(c, "get_segments")][0]
    expected = (fixed_points["points"].values - pca_result["mean"].values) @ pca_result["components"].values.T
    np.testing.assert_allclose(np.column_stack(scatter._offsets3d), expected[:, :3])


def test_pc_trajectories_accepts_projected_points_and_an_axes(pca_result):
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    points = xr.DataArray(np.zeros((2, 5)), dims=("fixed_point", "component"))
    assert (
        plot_pc_trajectories(pca_result, color_by=None, fixed_points=points, components=(2, 0, 1), ax=ax)
        is fig
    )
    assert ax.get_xlabel() == "PC3"


def test_pc_trajectories_errors(pca_result):
    with pytest.raises(ValueError, match="color_by must be a coord"):
        plot_pc_trajectories(pca_result, color_by="orthant")
    with pytest.raises(ValueError, match="components must name 3 components"):
        plot_pc_trajectories(pca_result, components=(0, 1))
    with pytest.raises(ValueError, match=r"components must be an integer in \[0, 4\]"):
        plot_pc_trajectories(pca_result, components=(0, 1, 5))
    with pytest.raises(ValueError, match="ax must be a 3-D Axes"):
        plot_pc_trajectories(pca_result, ax=plt.figure().add_subplot())
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_pc_trajectories(pca_result, ax="left")
    with pytest.raises(ValueError, match="result must contain the variable 'projections'"):
        plot_pc_trajectories(pca_result.drop_vars("projections"))
    with pytest.raises(TypeError, match="result must be an xarray.Dataset"):
        plot_pc_trajectories(pca_result["projections"])
    with pytest.raises(ValueError, match="fixed_points must have 5 units like the PCA; got 4"):
        plot_pc_trajectories(
            pca_result, fixed_points=xr.DataArray(np.zeros((2, 4)), dims=("fixed_point", "unit"))
        )
    with pytest.raises(ValueError, match=r"fixed_points must have dims \(fixed_point, unit\)"):
        plot_pc_trajectories(pca_result, fixed_points=xr.DataArray(np.zeros((2, 5)), dims=("point", "unit")))
    with pytest.raises(TypeError, match="fixed_points must be an xarray.DataArray"):
        plot_pc_trajectories(pca_result, fixed_points=np.zeros((2, 5)))


def test_explained_variance_bars_and_cumulative_line(pca_result):
    fig = plot_explained_variance(pca_result)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, pca_result["explained_variance_ratio"].values)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.cumsum(heights))
    assert not plot_explained_variance(pca_result, cumulative=False).axes[0].lines


def test_tuning_maps_grid(rng):
    latents = xr.DataArray(
        rng.uniform(-0.5, 0.5, size=(200, 2)), dims=("trial", "latent"), coords={"latent": ["x0", "x1"]}
    )
    rates = xr.DataArray(rng.exponential(size=(200, 5)), dims=("trial", "unit"))
    maps = tuning_maps(rates, latents, n_bins=4)
    fig = plot_tuning_maps(maps, ncols=2)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(panels) == 5
    np.testing.assert_allclose(panels[3].images[0].get_array(), maps["tuning"].isel(unit=3).values)
    assert panels[0].get_xlabel() == "x1" and panels[0].get_ylabel() == "x0"
    assert panels[0].get_title().startswith("unit 0\nr=")
    fig, axes = plt.subplots(1, 2)
    assert plot_tuning_maps(maps["tuning"], units=[4, 1], ax=axes) is fig
    np.testing.assert_allclose(axes[0].images[0].get_array(), maps["tuning"].sel(unit=4).values)
    with pytest.raises(ValueError, match="ax must hold at least 5 Axes, one per unit; got 2"):
        plot_tuning_maps(maps, ax=axes)
    with pytest.raises(ValueError, match=r"tuning must have dims \(unit, <factor>_bin, <factor>_bin\)"):
        plot_tuning_maps(maps["count"])
    with pytest.raises(TypeError, match="tuning must be an xarray.Dataset or DataArray"):
        plot_tuning_maps(np.zeros((2, 3, 3)))


def test_eigenvalue_scatter_with_the_unit_circle(fixed_points):
    ax = plot_eigenvalues(fixed_points).axes[0]
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == 3 * 4  # fixed points x modes
    np.testing.assert_allclose(offsets[:, 0], fixed_points["eigenvalues_real"].values.ravel())
    circle = [line for line in ax.lines if line.get_label() == "|μ| = 1"][0]
    np.testing.assert_allclose(np.hypot(circle.get_xdata(), circle.get_ydata()), 1.0)
    # colours: stable modes (inside the circle) blue, the others red
    stable = (
        np.abs(fixed_points["eigenvalues_real"] + 1j * fixed_points["eigenvalues_imag"]).values.ravel() < 1
    )
    blue = np.all(
        np.isclose(ax.collections[0].get_facecolors(), plt.matplotlib.colors.to_rgba("tab:blue")), axis=1
    )
    np.testing.assert_array_equal(blue, stable)


def test_continuous_eigenvalues_with_the_imaginary_axis(fixed_points):
    mu = (fixed_points["eigenvalues_real"] + 1j * fixed_points["eigenvalues_imag"]).values.ravel()
    ax = plot_eigenvalues(fixed_points, kind="continuous").axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], (mu.real - 1) / 0.1)
    boundary = [line for line in ax.lines if line.get_label() == "Re λ = 0"][0]
    np.testing.assert_allclose(boundary.get_xdata(), 0.0)
    complex_layout = xr.Dataset({"eigenvalues": (("fixed_point", "mode"), mu.reshape(3, 4))})
    ax = plot_eigenvalues(complex_layout, kind="continuous", alpha=0.5).axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], mu.imag / 0.5)


def test_eigenvalue_errors(fixed_points):
    with pytest.raises(ValueError, match="alpha must be given for kind='continuous'"):
        plot_eigenvalues(fixed_points.drop_attrs(), kind="continuous")
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_eigenvalues(fixed_points, kind="both")
    with pytest.raises(ValueError, match="fixed_points must contain 'eigenvalues'"):
        plot_eigenvalues(fixed_points.drop_vars("eigenvalues_imag"))
    with pytest.raises(
        ValueError, match=r"fixed_points eigenvalues must have dims \('fixed_point', 'mode'\)"
    ):
        plot_eigenvalues(fixed_points.rename(mode="eigenmode"))
    with pytest.raises(TypeError, match="fixed_points must be an xarray.Dataset"):
        plot_eigenvalues(fixed_points["eigenvalues_real"])


def test_amplification_histogram_counts_every_finite_mode(fixed_points):
    data = fixed_points.copy(deep=True)
    data["amplification"][0, 0] = np.inf
    ax = plot_amplification(data, bins=5).axes[0]
    assert sum(p.get_height() for p in ax.patches) == 11
    assert ax.get_xscale() == "log" and ax.get_title() == "11 modes (1 not shown)"
    linear = plot_amplification(fixed_points, log=False).axes[0]
    assert sum(p.get_height() for p in linear.patches) == 12 and linear.get_xscale() == "linear"
    with pytest.raises(ValueError, match="fixed_points must contain the variable 'amplification'"):
        plot_amplification(fixed_points.drop_vars("amplification"))
    with pytest.raises(ValueError, match="bins must be an integer >= 1"):
        plot_amplification(fixed_points, bins=0)
