"""reproduce: presets, the train-and-generalize job, the results folder and the CLI verb."""

import json

import numpy as np
import pytest
import xarray as xr

from neurodis.cli import main
from neurodis.sweeps import presets
from neurodis.sweeps.jobs import build_task, measure_network
from neurodis.sweeps.presets import PRESETS, RUN_DEFAULTS, Preset, ensemble_key, get_preset
from neurodis.sweeps.reproduce import reproduce, summary_table
from neurodis.trials import load_dataset

TINY = Preset(name="tiny", description="two N, two seeds, a few batches",
              base={"n_batches": 20, "eval_trials": 200, "n_units": 16},
              grid={"n_tasks": [2, 6], "seed": [0, 1]})


@pytest.fixture(scope="module")
def tiny():
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(presets.PRESETS, "tiny", TINY)
        yield TINY


@pytest.fixture(scope="module")
def tiny_run(tiny, tmp_path_factory):
    """One synchronous run of the tiny preset, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("reproduce") / "tiny"
    return out, reproduce("tiny", out=out, scheduler="synchronous", progress=False)


def test_presets_expand_to_their_grids():
    quick = get_preset("quick")
    configs = quick.configs()
    assert len(configs) == 15
    assert {c["n_tasks"] for c in configs} == {2, 3, 6, 12, 24}
    assert all(set(c) == set(RUN_DEFAULTS) for c in configs)
    assert quick.configs(n_batches=7)[0]["n_batches"] == 7
    fig3 = get_preset("fig3").configs()
    assert len(fig3) == 50 and all(c["n_batches"] == 100_000 for c in fig3)


def test_ensembles_group_only_runs_that_differ_in_seed():
    configs = get_preset("quick").configs()
    groups = {ensemble_key(c) for c in configs}
    assert len(groups) == 5  # one ensemble of 3 seeds per number of tasks


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: get_preset("nope"), ValueError, r"preset must be one of \[.*'quick'.*\]; got 'nope'"),
        (lambda: Preset(name="x", description="", grid={"width": [1]}), ValueError,
         r"preset 'x' keys must be among \[.*\]; got unknown \['width'\]"),
        (lambda: get_preset("quick").configs(width=3), ValueError,
         r"overrides must be run keys among \[.*\]; got unknown \['width'\]"),
        (lambda: get_preset("quick").configs(seed=3), ValueError,
         r"overrides must not replace swept keys of preset 'quick'; got \['seed'\]"),
    ],
)
def test_preset_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_reproduce_writes_a_self_describing_folder_and_resumes(tiny_run):
    out, results = tiny_run
    assert results["r2_paper"].dims == ("n_tasks", "seed", "fold")
    assert results.sizes["fold"] == 4
    xr.testing.assert_identical(load_dataset(out / "results.nc").drop_attrs(), results.drop_attrs())
    meta = json.loads((out / "reproduce.json").read_text())
    assert meta["preset"] == "tiny" and len(meta["configs"]) == 4 and "torch" in meta["versions"]
    assert (out / "table.csv").read_text().startswith("n_tasks,ood_r2")
    assert {p.name for p in (out / "figures").iterdir()} == {"r2_vs_tasks.png", "angle_vs_tasks.png"}
    stamp = (out / "results.nc").stat().st_mtime_ns
    result_files = sorted((out / "store" / "runs").glob("*/result.nc"))
    stamps = [p.stat().st_mtime_ns for p in result_files]
    reproduce("tiny", out=out, scheduler="synchronous", progress=False)
    assert [p.stat().st_mtime_ns for p in result_files] == stamps  # no run was redone
    assert (out / "results.nc").stat().st_mtime_ns != stamp


def test_stored_results_are_reproduced_by_the_saved_networks(tiny_run):
    """A run's saved weights and encoder, measured again, give the stored numbers exactly."""
    from neurodis.models import load_model
    from neurodis.sweeps import RunStore
    from neurodis.tasks.encoders import Encoder

    out, _ = tiny_run
    store = RunStore(out / "store")
    config = TINY.configs()[3]
    folder = store.run_dir(config)
    again = measure_network(load_model(folder / "model"), build_task(config),
                            Encoder.load(folder / "encoder.json"), n_trials=config["eval_trials"],
                            seed=config["seed"])
    stored = store.load_result(config)
    np.testing.assert_array_equal(again["r2_paper"].values, stored["r2_paper"].values)
    np.testing.assert_array_equal(again["authors_r2_paper"].values, stored["authors_r2_paper"].values)


def test_summary_table_statistics_match_numpy(tiny_run):
    _, results = tiny_run
    table = summary_table(results)
    for n in (2, 6):
        values = results["r2_paper"].sel(n_tasks=n).values.ravel()
        assert table.loc[n, "ood_r2"] == pytest.approx(np.median(values))
        assert table.loc[n, "ood_r2_q25"] == pytest.approx(np.quantile(values, 0.25))
    np.testing.assert_allclose(table["ceiling"].to_numpy(), 1 - 0.04 / (20 / 12))


def test_reproduce_verb_prints_the_table(tiny, tmp_path, capsys):
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path / "cli"), "--scheduler",
                 "synchronous", "--batches", "10", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ood_r2" in out and "ceiling" in out and "preset 'tiny'" in out
    assert set(PRESETS) >= {"quick", "fig3", "dims", "noise", "encoder", "correlation"}
