"""The `generalize` verb's repeated evaluations and the authors' Adam decoder."""

import numpy as np
import pytest

from neurodis.cli import main
from neurodis.experiments import generalization
from neurodis.models import CTRNN
from neurodis.tasks import make_task
from neurodis.training import TrainConfig, TrainedNetwork, train
from neurodis.trials import load_dataset


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generalize_repeats") / "run"
    config = TrainConfig(n_batches=20, batch_size=8, log_every=10, checkpoint_every=20, seed=1)
    train(make_task("classification", n_tasks=3), CTRNN(41, 3, n_units=12, seed=1), config, out=folder,
          progress=False)
    return folder


def test_generalize_verb_repeats_evaluations_and_prints_their_medians_and_spread(run_dir, tmp_path, capsys):
    path = tmp_path / "g.nc"
    assert main(["generalize", str(run_dir), "--trials", "300", "--repeats", "2", "--adam", "--seed", "4",
                 "--out", str(path)]) == 0
    written = load_dataset(path)
    direct = generalization(TrainedNetwork.load(run_dir), n_trials=300, decoders=["lstsq", "ridge", "adam"],
                            n_repeats=2, rng=4)
    for name in ("r2_paper", "ridge_r2_paper", "adam_r2_paper", "n_extrapolating", "ridge_at_grid_end"):
        np.testing.assert_array_equal(written[name].values, direct[name].values)
    assert written["r2_paper"].dims == ("repeat", "fold") and "authors_r2_paper" not in written
    out = capsys.readouterr().out
    medians = written[["r2_paper", "ridge_r2_paper", "adam_r2_paper"]].median("repeat")
    for i, fold in enumerate(written["heldout"].values):
        row = medians.isel(fold=i)
        assert (f"{fold:<10}{float(row['r2_paper']):>8.3f}{float(row['ridge_r2_paper']):>8.3f}"
                f"{float(row['adam_r2_paper']):>9.3f}") in out
    spread = float(written["r2_paper"].std("repeat", ddof=1).median())
    assert "(medians over evaluations)" in out and "spread between 2 evaluations" in out
    assert f"lstsq {spread:.3f}" in out


def test_generalize_verb_rejects_zero_repeats(run_dir, capsys):
    assert main(["generalize", str(run_dir), "--repeats", "0"]) == 1
    assert "--repeats must be an integer >= 1; got 0" in capsys.readouterr().err
