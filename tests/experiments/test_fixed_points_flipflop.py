"""The fixed-point finder on a trained network: a 3-bit flip-flop must hold its 8 memories
as 8 stable fixed points at the corners of the output cube; the figures draw the result."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import xarray as xr

from neurodis.analysis import pca
from neurodis.experiments import find_fixed_points
from neurodis.models import CTRNN
from neurodis.plotting import plot_amplification, plot_eigenvalues, plot_pc_trajectories
from neurodis.tasks import make_task
from neurodis.trials import load_dataset, save_dataset


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def flipflop():
    """A 24-unit tanh network trained on the 3-bit flip-flop (once per module, ~10-30 s),
    its visited states and its fixed points under zero input."""
    from neurodis.training import TrainConfig, train

    task = make_task("flipflop", n_bits=3, p_pulse=0.1, duration=200.0, dt=10.0)
    model = CTRNN(3, 3, n_units=24, tau=10.0, dt=10.0, activation="tanh", readout="linear", seed=0)
    config = TrainConfig(n_batches=1500, batch_size=32, lr=0.01, encoder="none", loss="mse",
                         log_every=500, checkpoint_every=1500, ideal_trials=0, seed=0)
    trained = train(task, model, config, progress=False).model
    trials = task.sample(64, rng=1)
    with torch.no_grad():
        states, _ = trained(torch.tensor(trials["inputs"].values, dtype=torch.float32))
    rates = xr.DataArray(states.numpy(), dims=("trial", "time", "unit"),
                         coords={"n_pulses": ("trial", trials["n_pulses"].values)})
    found = find_fixed_points(trained, np.zeros(3), states=rates, n_inits=256, rng=0)
    return trained, rates, found


def test_flipflop_network_has_eight_stable_fixed_points_at_the_corners(flipflop):
    _, _, ds = flipflop
    stable = ds.isel(fixed_point=ds["stable_discrete"].values)
    assert stable.sizes["fixed_point"] == 8
    assert set(stable["kind"].values) == {"exact"}
    corners = {tuple(np.sign(row)) for row in stable["outputs"].values}
    assert corners == {(a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)}
    assert np.all(np.abs(stable["outputs"].values) > 0.5)
    assert np.all(stable["stable_continuous"].values)
    # the other exact points are saddles: at least one unstable mode each
    others = ds.isel(fixed_point=~ds["stable_discrete"].values)
    assert np.all(np.hypot(others["eigenvalues_real"][:, 0], others["eigenvalues_imag"][:, 0]) > 1)


def test_fixed_point_figures_draw_the_real_output(flipflop, tmp_path):
    _, rates, ds = flipflop
    loaded = load_dataset(save_dataset(ds, tmp_path / "fp.nc"))  # the netCDF layout (real/imag pairs)
    fig = plot_eigenvalues(loaded)
    assert len(fig.axes[0].collections[0].get_offsets()) == ds.sizes["fixed_point"] * ds.sizes["mode"]
    fig = plot_eigenvalues(loaded, kind="continuous")
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(ds["lambda_real"].values.ravel()), atol=1e-12)
    fig = plot_amplification(loaded)
    assert fig.axes[0].get_title().startswith(f"{np.isfinite(ds['amplification']).sum().item()} modes")
    result = pca(rates)
    fig = plot_pc_trajectories(result, color_by="n_pulses", fixed_points=loaded["states"])
    fig.savefig(tmp_path / "pcs.png")
    scatter = next(c for c in fig.axes[0].collections if c.get_label() == "fixed points")
    assert len(scatter._offsets3d[0]) == ds.sizes["fixed_point"]
