"""The `generalize` verb writes what the library computes for a saved run."""

import numpy as np
import pytest

from neurodis.analysis import ood_generalization
from neurodis.cli import main
from neurodis.models import CTRNN
from neurodis.tasks import make_task
from neurodis.training import TrainConfig, load_run, train
from neurodis.trials import load_dataset


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generalize") / "run"
    task = make_task("classification", n_tasks=3)
    config = TrainConfig(n_batches=20, batch_size=8, log_every=10, checkpoint_every=20, seed=1)
    train(task, CTRNN(41, 3, n_units=12, seed=1), config, out=folder, progress=False)
    return folder


def test_generalize_verb_matches_the_library(run_dir, capsys):
    assert main(["generalize", str(run_dir), "--n-trials", "200", "--authors-default", "--seed", "4"]) == 0
    written = load_dataset(run_dir / "generalization.nc")
    run = load_run(run_dir)
    direct = ood_generalization(run.model, run.task, run.encoder, n_trials=200, n_test=100, rng=4)
    np.testing.assert_array_equal(written["r2_paper"].values, direct["r2_paper"].values)
    assert written["authors_r2_paper"].dims == ("fold",)
    out = capsys.readouterr().out
    assert "Q1" in out and "ceiling 0.976" in out


def test_generalize_verb_time_resolved(run_dir, tmp_path):
    path = tmp_path / "g.nc"
    assert main(["generalize", str(run_dir), "--n-trials", "200", "--time", "all", "--out", str(path)]) == 0
    assert load_dataset(path)["r2_paper"].dims == ("fold", "time")


def test_generalize_verb_rejects_bad_time_and_missing_runs(run_dir, tmp_path):
    with pytest.raises(SystemExit, match=r"--time must be 'decision', 'all' or a step index; got 'late'"):
        main(["generalize", str(run_dir), "--time", "late"])
    with pytest.raises(SystemExit, match=r"config.json"):
        main(["generalize", str(tmp_path / "nowhere")])
