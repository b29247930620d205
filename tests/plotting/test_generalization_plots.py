"""Smoke and content tests of the generalization figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from neurodis.analysis.theory import r2_ceiling
from neurodis.plotting import plot_decoder_angle_vs_tasks, plot_r2_vs_tasks
from neurodis.plotting.generalization import plot_evaluation_spread

N_TASKS = [2, 3, 6, 12, 24]


@pytest.fixture
def results(rng) -> xr.Dataset:
    """Results stacked along n_tasks, seed and fold, like a sweep's output."""
    shape = (len(N_TASKS), 3, 4)
    return xr.Dataset(
        {
            "r2_paper": (("n_tasks", "seed", "fold"), rng.uniform(0.5, 0.97, shape)),
            "id_r2_paper": (("n_tasks", "seed"), rng.uniform(0.9, 0.976, shape[:2])),
            "angle": (("n_tasks", "seed", "fold"), rng.uniform(40, 100, shape)),
            "id_angle": (("n_tasks", "seed"), rng.uniform(80, 95, shape[:2])),
        },
        coords={"n_tasks": N_TASKS, "fold": ["Q1", "Q2", "Q3", "Q4"]},
        attrs={"sigma": 0.2, "n_steps": 20},
    )


def _line(ax, label):
    (line,) = [line for line in ax.get_lines() if line.get_label() == label]
    return line


def _errorbar_points(ax, index):
    """x and y of the ``index``-th errorbar series (its data line)."""
    container = ax.containers[index]
    return container.lines[0].get_xdata(), container.lines[0].get_ydata()


def test_r2_plot_draws_medians_reference_and_the_theoretical_ceiling(results):
    fig = plot_r2_vs_tasks(results)
    ax = fig.axes[0]
    np.testing.assert_allclose(_line(ax, "ceiling").get_ydata(), r2_ceiling(0.2, 20))
    x, y = _errorbar_points(ax, 0)
    np.testing.assert_array_equal(x, N_TASKS)
    np.testing.assert_allclose(y, results["r2_paper"].median(("seed", "fold")).values)
    _, y_id = _errorbar_points(ax, 1)
    np.testing.assert_allclose(y_id, results["id_r2_paper"].median("seed").values)
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ceiling", "out of distribution", "in distribution"]
    plt.close(fig)


def test_r2_plot_ceiling_options_and_given_axes(results):
    fig, ax = plt.subplots()
    assert plot_r2_vs_tasks(results, ax=ax, sigma=0.3, n_steps=10, free_rt=True) is fig
    np.testing.assert_allclose(_line(ax, "ceiling").get_ydata(), r2_ceiling(0.3, 10, free_rt=True))
    fig2 = plot_r2_vs_tasks(results, ceiling=0.9, reference=False)
    np.testing.assert_allclose(_line(fig2.axes[0], "ceiling").get_ydata(), 0.9)
    assert len(fig2.axes[0].containers) == 1
    fig3 = plot_r2_vs_tasks(results.drop_attrs(), ceiling=False)
    assert not [line for line in fig3.axes[0].get_lines() if line.get_label() == "ceiling"]
    fig4 = plot_r2_vs_tasks(results.assign_attrs(free_rt=1))
    np.testing.assert_allclose(_line(fig4.axes[0], "ceiling").get_ydata(), r2_ceiling(0.2, 20, free_rt=True))
    for figure in (fig, fig2, fig3, fig4):
        plt.close(figure)


def test_angle_plot_draws_medians_and_the_orthogonal_line(results):
    fig = plot_decoder_angle_vs_tasks(results)
    ax = fig.axes[0]
    np.testing.assert_allclose(_line(ax, "orthogonal").get_ydata(), 90.0)
    x, y = _errorbar_points(ax, 0)
    np.testing.assert_array_equal(x, N_TASKS)
    np.testing.assert_allclose(y, results["angle"].median(("seed", "fold")).values)
    lower, upper = results["angle"].quantile([0.25, 0.75], dim=("seed", "fold")).values
    segments = ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 1] for s in segments], np.stack([lower, upper], axis=1))
    plt.close(fig)


def test_plots_reject_bad_input(results):
    with pytest.raises(TypeError, match="results must be an xarray.Dataset"):
        plot_r2_vs_tasks(results["r2_paper"])
    with pytest.raises(ValueError, match="results must contain 'r2'"):
        plot_r2_vs_tasks(results, variable="r2")
    with pytest.raises(ValueError, match=r"results\['r2_paper'\] must have a 'n_tasks' dim"):
        plot_r2_vs_tasks(results.isel(n_tasks=0))
    timed = results.expand_dims(time=[0.0, 100.0])
    with pytest.raises(ValueError, match=r"results\['angle'\] must not have a 'time' dim"):
        plot_decoder_angle_vs_tasks(timed)
    with pytest.raises(ValueError, match="sigma and n_steps are needed to draw the ceiling"):
        plot_r2_vs_tasks(results.drop_attrs())
    with pytest.raises(ValueError, match="ceiling must be a finite real number"):
        plot_r2_vs_tasks(results, ceiling=float("nan"))
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_decoder_angle_vs_tasks(results, ax="left")
    plt.close("all")


def test_r2_plot_draws_the_ridge_and_authors_decoders_when_present(results, rng):
    shape = results["r2_paper"].shape
    more = results.assign(
        ridge_r2_paper=(results["r2_paper"].dims, rng.uniform(0.8, 0.97, shape)),
        authors_r2_paper=(results["r2_paper"].dims, rng.uniform(0.85, 0.97, shape)),
    )
    fig = plot_r2_vs_tasks(more)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ceiling", "out of distribution", "ridge, out of distribution", "authors' evaluation",
                      "in distribution"]
    for index, name in ((1, "ridge_r2_paper"), (2, "authors_r2_paper")):
        x, y = _errorbar_points(ax, index)
        np.testing.assert_array_equal(x, N_TASKS)
        np.testing.assert_allclose(y, more[name].median(("seed", "fold")).values)
    np.testing.assert_allclose(_line(ax, "ceiling").get_ydata(), r2_ceiling(0.2, 20))
    only_ridge = plot_r2_vs_tasks(more.drop_vars("authors_r2_paper"), reference=False).axes[0]
    assert [t.get_text() for t in only_ridge.get_legend().get_texts()] == [
        "ceiling", "out of distribution", "ridge, out of distribution"]
    assert len(plot_r2_vs_tasks(more, decoders=False, reference=False).axes[0].containers) == 1
    plt.close("all")


def test_r2_plot_draws_the_adam_decoder_between_ridge_and_the_authors_evaluation(results, rng):
    dims, shape = results["r2_paper"].dims, results["r2_paper"].shape
    more = results.assign(ridge_r2_paper=(dims, rng.uniform(0.8, 0.97, shape)),
                          adam_r2_paper=(dims, rng.uniform(0.8, 0.95, shape)),
                          authors_r2_paper=(dims, rng.uniform(0.85, 0.97, shape)))
    ax = plot_r2_vs_tasks(more).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()][2:4] == [
        "ridge, out of distribution", "Adam (authors' decoder), out of distribution"]
    np.testing.assert_allclose(_errorbar_points(ax, 2)[1], more["adam_r2_paper"].median(("seed", "fold")).values)
    plt.close("all")


@pytest.fixture
def repeated(rng) -> xr.Dataset:
    """Four evaluations of every (network, fold): least squares spreads widely, ridge barely."""
    shape = (len(N_TASKS), 3, 4, 4)
    dims = ("n_tasks", "seed", "fold", "repeat")
    return xr.Dataset(
        {"r2_paper": (dims, rng.normal(0.8, 0.05, shape)), "ridge_r2_paper": (dims, rng.normal(0.9, 0.003, shape)),
         "adam_r2_paper": (dims, rng.normal(0.88, 0.01, shape))},
        coords={"n_tasks": N_TASKS},
    )


def test_evaluation_spread_draws_every_networks_sd_between_evaluations_per_decoder(repeated):
    fig = plot_evaluation_spread(repeated)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["least squares", "ridge", "Adam"]
    for name, label in (("r2_paper", "least squares"), ("ridge_r2_paper", "ridge"), ("adam_r2_paper", "Adam")):
        spread = repeated[name].std("repeat", ddof=1)
        np.testing.assert_allclose(_line(ax, label).get_ydata(), spread.median(("seed", "fold")).values)
    # one point per network and fold for each N and decoder
    points = [line for line in ax.get_lines() if line.get_marker() == "." and line.get_label().startswith("_")]
    assert len(points) == 3 * len(N_TASKS) and {len(line.get_ydata()) for line in points} == {12}
    first = np.sort(points[0].get_ydata())
    np.testing.assert_allclose(first, np.sort(repeated["r2_paper"].isel(n_tasks=0).std("repeat", ddof=1).values.ravel()))
    plt.close(fig)


def test_evaluation_spread_needs_repeats(repeated):
    with pytest.raises(ValueError, match=r"results\['r2_paper'\] must have a 'repeat' dim with at least 2 evaluations"):
        plot_evaluation_spread(repeated.isel(repeat=[0]))
    with pytest.raises(ValueError, match=r"must have a 'repeat' dim"):
        plot_evaluation_spread(repeated.isel(repeat=0))
    with pytest.raises(ValueError, match="results must contain 'r2'"):
        plot_evaluation_spread(repeated, variable="r2")
    plt.close("all")
