"""The `generalize` verb simulates a saved run once and writes what the library
computes from those states for every decoder."""

import json

import numpy as np
import pytest

import neurodis.experiments.ood
from neurodis.analysis import fit_ood_decoders
from neurodis.cli import main
from neurodis.experiments import regression_rates
from neurodis.models import CTRNN
from neurodis.tasks import make_task
from neurodis.training import TrainConfig, TrainedNetwork, train
from neurodis.trials import load_dataset


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generalize") / "run"
    task = make_task("classification", n_tasks=3)
    config = TrainConfig(n_batches=20, batch_size=8, log_every=10, checkpoint_every=20, seed=1)
    train(task, CTRNN(41, 3, n_units=12, seed=1), config, out=folder, progress=False)
    return folder


@pytest.fixture
def simulations(monkeypatch):
    """Counts the calls of regression_rates made by the OOD protocol."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["n_trials"])
        return regression_rates(*args, **kwargs)

    monkeypatch.setattr(neurodis.experiments.ood, "regression_rates", counted)
    return calls


def test_generalize_verb_scores_every_decoder_from_one_simulation(run_dir, simulations, capsys):
    assert main(["generalize", str(run_dir), "--trials", "400", "--authors-default", "--seed", "4"]) == 0
    assert simulations == [400]  # one pool of 400 trials serves every fold and decoder
    written = load_dataset(run_dir / "generalization.nc")
    run = TrainedNetwork.load(run_dir)
    simulation_rng, fit_rng = np.random.SeedSequence(4).spawn(2)
    states, latents = regression_rates(run, n_trials=400, rng=simulation_rng)
    for prefix, options, names in (
        ("", {}, ("r2_paper", "r2", "weights", "id_r2_paper", "trial_role")),
        ("ridge_", {"method": "ridge_cv"}, ("r2_paper", "r2", "weights", "alpha", "id_r2_paper")),
        ("authors_", {"evaluation": "authors_default"}, ("r2_paper", "r2", "weights", "trial_role")),
    ):
        direct = fit_ood_decoders(states, latents, rng=fit_rng, **options)
        for name in names:
            np.testing.assert_array_equal(written[prefix + name].values, direct[name].values)
    assert np.all(written["ridge_alpha"] > 0) and np.all(written["alpha"] == 0)
    np.testing.assert_array_equal(written["authors_test_is_heldout"].values, [True, False, True, False])
    np.testing.assert_array_equal(written["test_is_heldout"].values, True)
    assert set(json.loads(written.attrs["decoders"])) == {"", "ridge_", "authors_"}
    assert written["trial"].size == 400 and written.attrs["n_trials"] == 400 and written.attrs["seed"] == 4
    out = capsys.readouterr().out
    assert "lstsq" in out and "ridge" in out and "authors" in out and "ceiling 0.976" in out
    for fold, lstsq, ridge, authors in zip(written["heldout"].values, written["r2_paper"].values,
                                           written["ridge_r2_paper"].values, written["authors_r2_paper"].values,
                                           strict=True):
        assert f"{fold:<10}{lstsq:>8.3f}{ridge:>8.3f}{authors:>9.3f}" in out


def test_generalize_verb_time_resolved_without_authors(run_dir, simulations, tmp_path):
    path = tmp_path / "g.nc"
    assert main(["generalize", str(run_dir), "--n-trials", "300", "--time", "all", "--out", str(path)]) == 0
    written = load_dataset(path)
    assert written["r2_paper"].dims == ("fold", "time") and written["ridge_r2_paper"].dims == ("fold", "time")
    assert "authors_r2_paper" not in written and written.attrs["decoded_step"] == "all"
    assert simulations == [300]


def test_generalize_verb_rejects_bad_arguments_and_missing_runs(run_dir, tmp_path, capsys):
    assert main(["generalize", str(run_dir), "--time", "late"]) == 1
    assert "--time must be 'decision', 'all' or a step index; got 'late'" in capsys.readouterr().err
    assert main(["generalize", str(run_dir), "--folds", "halfspace", "--authors-default"]) == 1
    assert "--authors-default needs --folds quadrant (the published run's folds); got 'halfspace'" in (
        capsys.readouterr().err)
    assert main(["generalize", str(tmp_path / "nowhere")]) == 1
    assert "config.json" in capsys.readouterr().err
