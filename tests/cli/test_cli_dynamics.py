"""The `fixed-points` and `geometry` verbs on a tiny freshly trained run."""

import numpy as np
import xarray as xr

from neurodis.analysis import pca
from neurodis.cli import main
from neurodis.experiments import find_fixed_points, zero_evidence_input
from neurodis.simulator import simulate
from neurodis.training import TrainedNetwork
from neurodis.trials import load_dataset


def _rates(folder, n_trials, seed):
    run = TrainedNetwork.load(folder)
    trials = run.task.sample(n_trials, rng=seed, encoder=run.encoder)
    return run, simulate(run.model, trials, noise=False, dtype=np.float64)["rates"]


def test_fixed_points_verb_writes_what_the_library_finds(tiny_run, tmp_path, capsys):
    out = tmp_path / "fp"
    assert main(["fixed-points", str(tiny_run), "--n-inits", "12", "--n-trials", "10", "--seed", "3",
                 "--out", str(out)]) == 0
    written = load_dataset(out / "fixed_points.nc")
    run, rates = _rates(tiny_run, 10, 3)
    expected = find_fixed_points(run.model, zero_evidence_input(run.task, run.encoder), states=rates,
                                 n_inits=12, rng=3)
    xr.testing.assert_allclose(written[["states", "q", "eigenvalues_real", "amplification"]],
                               expected[["states", "q", "eigenvalues_real", "amplification"]])
    np.testing.assert_array_equal(written["inputs"].values[1:], run.encoder.offset())
    for name in ("eigenvalues", "eigenvalues_continuous", "amplification", "fixed_points_pcs"):
        assert (out / f"{name}.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert f"{written.sizes['fixed_point']} points from 12 starts" in printed
    assert "wrote 5 files" in printed


def test_geometry_verb_writes_pca_sparseness_and_tuning(tiny_run, tmp_path, capsys):
    out = tmp_path / "geo"
    assert main(["geometry", str(tiny_run), "--n-trials", "20", "--seed", "1", "--out", str(out)]) == 0
    written = load_dataset(out / "geometry.nc")
    _, rates = _rates(tiny_run, 20, 1)
    np.testing.assert_allclose(written["explained_variance_ratio"], pca(rates)["explained_variance_ratio"],
                               rtol=1e-10)
    assert written["sparseness"].sizes["unit"] == 8
    maps = load_dataset(out / "tuning_maps.nc")
    assert maps["tuning"].dims == ("unit", "x0_bin", "x1_bin")
    for name in ("explained_variance", "pc_trajectories", "tuning_maps"):
        assert (out / f"{name}.png").stat().st_size > 0
    assert "variance explained by PC1..3" in capsys.readouterr().out


def test_dynamics_verbs_refuse_folders_that_are_not_single_runs(tmp_path, capsys):
    assert main(["geometry", str(tmp_path)]) == 1
    assert "path must be a run folder holding config.json" in capsys.readouterr().err
    (tmp_path / "ensemble.json").write_text("{}")
    (tmp_path / "member_000").mkdir()
    assert main(["fixed-points", str(tmp_path)]) == 1
    assert (f"RUN_DIR must be a single run; {str(tmp_path)!r} is an ensemble, pass one of its members ['member_000']"
            in capsys.readouterr().err)


def test_dynamics_verbs_write_what_the_experiments_measure(tiny_run, tmp_path):
    """The verbs save experiments.dynamics' results (the sweep's attractor job calls the same)."""
    from neurodis.experiments import attractor, geometry, visited_states

    assert main(["fixed-points", str(tiny_run), "--n-inits", "6", "--n-trials", "8", "--seed", "2",
                 "--out", str(tmp_path)]) == 0
    assert main(["geometry", str(tiny_run), "--n-trials", "8", "--seed", "2", "--out", str(tmp_path)]) == 0
    run = TrainedNetwork.load(tiny_run)
    states = visited_states(run, run.task.sample(8, rng=2, encoder=run.encoder))
    # equal values, dims and coords (the files add provenance attrs)
    xr.testing.assert_equal(load_dataset(tmp_path / "fixed_points.nc"), attractor(run, states, n_inits=6, rng=2))
    written = load_dataset(tmp_path / "geometry.nc")
    xr.testing.assert_equal(written, geometry(states)[list(written.data_vars)])
