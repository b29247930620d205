"""reproduce: presets, the train-and-generalize job, the results folder and the CLI verb."""

import json

import numpy as np
import pytest
import xarray as xr

from neurodis.cli import main
from neurodis.sweeps import presets
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.jobs import measure_network
from neurodis.sweeps.presets import CONFIG_SCHEMA, PRESETS, RUN_DEFAULTS, Preset, ensemble_key, get_preset
from neurodis.sweeps.reproduce import JOB_KINDS, reproduce, summary_table
from neurodis.trials import load_dataset

TINY = Preset(name="tiny", description="two N, two seeds, a few batches",
              base={"n_batches": 20, "eval_trials": 400, "n_units": 16},
              grid={"n_tasks": [2, 6], "seed": [0, 1]}, eval_repeats=2, accuracy_trials=512)


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


def test_generalization_presets_evaluate_every_network_at_least_four_times_and_accuracy_on_8192_trials():
    for preset in PRESETS.values():
        assert preset.eval_repeats >= 4 and preset.accuracy_trials >= 8192, preset.name


def test_presets_expand_to_their_grids():
    quick = get_preset("quick")
    configs = quick.configs()
    assert len(configs) == 15
    assert {c["n_tasks"] for c in configs} == {2, 3, 6, 12, 24}
    assert all(set(c) == set(RUN_DEFAULTS) for c in configs)
    assert quick.configs(n_batches=7)[0]["n_batches"] == 7
    fig3 = get_preset("fig3").configs()
    assert len(fig3) == 100
    batches = {(c["network"], c["n_batches"]) for c in fig3}
    assert batches == {("ctrnn", 100_000), ("ctrnn_nonleaky", 100_000), ("lstm", 100_000), ("transformer", 20_000)}
    only = get_preset("fig3").configs(select={"network": ["ctrnn"]}, n_batches=50)
    assert len(only) == 25 and {(c["network"], c["n_batches"]) for c in only} == {("ctrnn", 50)}


def test_variants_lay_their_values_over_the_run():
    configs = {(c["variant"], c["seed"]): c for c in get_preset("training").configs()}
    assert configs["paper", 0]["loss_mask"] == "paper" and configs["decision_loss", 0]["loss_mask"] == "decision"
    assert configs["alpha_half", 1]["tau"] == 200.0 and configs["n_tasks_48", 2]["n_tasks"] == 48
    assert configs["recurrent_noise", 0]["recurrent_noise"] > 0


NETWORKS_OF_FIG3 = ("ctrnn", "ctrnn_nonleaky", "lstm", "transformer")


def test_networks_of_one_kind_and_any_n_and_seed_share_an_ensemble():
    assert len({ensemble_key(c) for c in get_preset("quick").configs()}) == 1
    # the paper protocol and N = 48 stack; a changed loss mask, tau or noise does not
    assert len({ensemble_key(c) for c in get_preset("training").configs()}) == 4
    # one ensemble per network kind (the transformer also trains for fewer batches)
    fig3 = get_preset("fig3").configs()
    assert len({ensemble_key(c) for c in fig3}) == 4
    assert {len({ensemble_key(c) for c in fig3 if c["network"] == net}) for net in NETWORKS_OF_FIG3} == {1}


def test_balanced_groups_keep_every_worker_busy_and_lose_no_run():
    from neurodis.sweeps.runner import balance_groups

    runs = [{"seed": k} for k in range(7)]
    groups = balance_groups([runs[:6], runs[6:]], 3)
    assert sorted(len(g) for g in groups) == [1, 3, 3]
    assert sorted(r["seed"] for g in groups for r in g) == list(range(7))
    assert balance_groups([runs[:1]], 4) == [runs[:1]]


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
        (lambda: get_preset("fig3").configs(select={"width": [1]}), ValueError,
         r"select key of preset 'fig3' must be one of \[.*'network'.*\]; got 'width'"),
        (lambda: get_preset("fig3").configs(select={"network": ["gpt"]}), ValueError,
         r"select\['network'\] value must be one of \[.*'lstm'.*\]; got 'gpt'"),
        (lambda: Preset(name="x", description="", grid={"network": ["gpt"]}), ValueError,
         r"preset 'x' network must be one of \[.*'ctrnn'.*\]; got 'gpt'"),
        (lambda: Preset(name="x", description="", grid={"variant": ["a"]}), ValueError,
         r"preset 'x' variant must be one of \[\]; got 'a'"),
        (lambda: Preset(name="x", description="", eval_repeats=0), ValueError,
         r"preset 'x' eval_repeats must be an integer >= 1; got 0"),
        (lambda: Preset(name="x", description="", accuracy_trials=0), ValueError,
         r"preset 'x' accuracy_trials must be an integer >= 1; got 0"),
    ],
)
def test_preset_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_reproduce_writes_a_self_describing_folder_and_resumes(tiny_run):
    out, results = tiny_run
    assert results["r2_paper"].dims == ("n_tasks", "seed", "repeat", "fold")
    assert results.sizes["fold"] == 4 and results.sizes["repeat"] == 2
    assert results["relative_accuracy"].dims == ("n_tasks", "seed")
    for control in ("untrained_", "encoder_"):  # measured once per seed, the same for every N
        assert results[f"{control}ridge_r2_paper"].dims == ("n_tasks", "seed", "repeat", "fold")
        xr.testing.assert_equal(results[f"{control}adam_r2_paper"].sel(n_tasks=2, drop=True),
                                results[f"{control}adam_r2_paper"].sel(n_tasks=6, drop=True))
    xr.testing.assert_identical(load_dataset(out / "results.nc").drop_attrs(), results.drop_attrs())
    meta = json.loads((out / "reproduce.json").read_text())
    assert meta["preset"] == "tiny" and len(meta["configs"]) == 4 and "torch" in meta["versions"]
    assert meta["runs_already_done"] == 0 and meta["wall_seconds"] > 0 and meta["finished"] >= meta["started"]
    assert meta["job_options"] == {"eval_repeats": 2, "accuracy_trials": 512}
    assert (out / "table.csv").read_text().startswith("n_tasks,ood_r2_ridge,")
    assert (out / "diagnostics.csv").read_text().startswith("n_tasks,eval_sd,eval_sd_ridge,eval_sd_adam,")
    assert {p.name for p in (out / "figures").iterdir()} == {"r2_vs_tasks.png", "angle_vs_tasks.png",
                                                            "evaluation_spread.png"}
    stamp = (out / "results.nc").stat().st_mtime_ns
    result_files = sorted((out / "store" / "runs").glob("*/result.nc"))
    stamps = [p.stat().st_mtime_ns for p in result_files]
    reproduce("tiny", out=out, scheduler="synchronous", progress=False)
    assert [p.stat().st_mtime_ns for p in result_files] == stamps  # no run was redone
    assert json.loads((out / "reproduce.json").read_text())["runs_already_done"] == 4
    assert (out / "results.nc").stat().st_mtime_ns != stamp


def test_stored_results_are_reproduced_by_the_saved_networks(tiny_run):
    """A run folder of the store loads (load_network) as a network that, measured again, gives the stored numbers exactly."""
    from neurodis.sweeps import RunStore, load_network
    from neurodis.training import TrainedNetwork

    out, _ = tiny_run
    store = RunStore(out / "store", schema=CONFIG_SCHEMA)
    config = TINY.configs()[3]
    folder = store.run_dir(config)
    network = load_network(folder)
    with pytest.raises(ValueError, match=r"is a sweep's run folder .* load it with neurodis\.sweeps\.load_network"):
        TrainedNetwork.load(folder)
    run = RunConfig.from_dict(config)
    assert network.path == folder and network.config == run.train_config()
    assert network.task.config() == run.build_task().config()
    # the history is this member's: its last row is the final loss the result recorded
    assert float(network.history["loss"].values[-1]) == float(store.load_result(config)["final_loss"])
    again = measure_network(network, n_trials=config["eval_trials"], seed=config["seed"], n_repeats=2,
                            accuracy_trials=512)
    stored = store.load_result(config)
    np.testing.assert_array_equal(again["r2_paper"].values, stored["r2_paper"].values)
    for name in ("authors_r2_paper", "ridge_r2_paper", "ridge_alpha", "ridge_at_grid_end", "adam_r2_paper",
                 "n_extrapolating", "r2_paper_clamped", "relative_accuracy"):
        np.testing.assert_array_equal(again[name].values, stored[name].values)
    assert stored.attrs["n_repeats"] == 2 and stored.attrs["accuracy_trials"] == 512


def test_measure_network_is_the_protocol_with_its_own_streams_for_evaluations_and_accuracy(tiny_run):
    """Repeats come from the first child of SeedSequence(seed), the accuracy trials from the second."""
    from neurodis.experiments import generalization
    from neurodis.experiments.accuracy import accuracy_vs_ideal
    from neurodis.models import load_model
    from neurodis.sweeps import RunStore
    from neurodis.tasks.encoders import Encoder
    from neurodis.training import TrainedNetwork

    out, _ = tiny_run
    config = TINY.configs()[1]
    folder = RunStore(out / "store", schema=CONFIG_SCHEMA).run_dir(config)
    network = TrainedNetwork(load_model(folder / "model"), RunConfig.from_dict(config).build_task(),
                             Encoder.load(folder / "encoder.json"))
    measured = measure_network(network, n_trials=300, seed=7, n_repeats=2, accuracy_trials=256)
    evaluations, accuracy = np.random.SeedSequence(7).spawn(2)
    full = generalization(network, n_trials=300, n_repeats=2, rng=evaluations)
    for name in ("r2_paper", "ridge_r2_paper", "adam_r2_paper", "authors_r2_paper", "ridge_alpha_relative"):
        np.testing.assert_array_equal(measured[name].values, full[name].values)
    assert float(measured["relative_accuracy"]) == float(accuracy_vs_ideal(network, n_trials=256,
                                                                          rng=accuracy)["relative_accuracy"])
    assert set(measured.coords) == {"fold", "heldout", "repeat"}


def test_summary_table_statistics_match_numpy(tiny_run):
    from neurodis.analysis.pooled import pooled_bootstrap

    _, results = tiny_run
    table = summary_table(results)
    for n in (2, 6):
        values = results["r2_paper"].sel(n_tasks=n).values.ravel()  # seeds × repeats × folds
        assert table.loc[n, "ood_r2"] == pytest.approx(np.median(values))
        assert table.loc[n, "ood_r2_q25"] == pytest.approx(np.quantile(values, 0.25))
        for prefix, column in (("ridge_", "ood_r2_ridge"), ("adam_", "ood_r2_adam")):
            assert table.loc[n, column] == pytest.approx(np.median(results[f"{prefix}r2_paper"].sel(n_tasks=n)))
        interval = pooled_bootstrap(results["ridge_r2_paper"].sel(n_tasks=n), "seed", pool=["repeat", "fold"], rng=0)
        assert (table.loc[n, "ood_r2_ridge_ci_low"], table.loc[n, "ood_r2_ridge_ci_high"]) == (
            float(interval["ci_low"]), float(interval["ci_high"]))
        assert table.loc[n, "acc_vs_ideal"] == pytest.approx(float(results["relative_accuracy"].sel(n_tasks=n).mean()))
        for control in ("untrained", "encoder"):
            for prefix, column in (("ridge_", "_r2_ridge"), ("", "_r2"), ("adam_", "_r2_adam"), ("id_", "_id_r2")):
                values = results[f"{control}_{prefix}r2_paper"].sel(n_tasks=n).values
                assert table.loc[n, control + column] == pytest.approx(np.median(values))
            interval = pooled_bootstrap(results[f"{control}_ridge_r2_paper"].sel(n_tasks=n), "seed",
                                        pool=["repeat", "fold"], rng=0)
            assert (table.loc[n, f"{control}_r2_ridge_ci_low"], table.loc[n, f"{control}_r2_ridge_ci_high"]) == (
                float(interval["ci_low"]), float(interval["ci_high"]))
        gain = (results["ridge_r2_paper"] - results["untrained_ridge_r2_paper"]).sel(n_tasks=n)  # paired
        interval = pooled_bootstrap(gain, "seed", pool=["repeat", "fold"], rng=0)
        assert (table.loc[n, "gain_over_untrained_ridge"], table.loc[n, "gain_over_untrained_ridge_ci_low"],
                table.loc[n, "gain_over_untrained_ridge_ci_high"]) == pytest.approx(
            (np.median(gain.values), float(interval["ci_low"]), float(interval["ci_high"])))
    columns = list(table.columns)  # the controls beside the trained networks' r², before the angle
    assert columns.index("id_r2") < columns.index("untrained_r2_ridge") < columns.index("encoder_r2_ridge") < (
        columns.index("angle_deg"))
    np.testing.assert_allclose(table["ceiling"].to_numpy(), 1 - 0.04 / (20 / 12))
    diagnostics = JOB_KINDS["generalization"].diagnostics(results)
    spread = results["r2_paper"].std("repeat", ddof=1)
    np.testing.assert_allclose(diagnostics["eval_sd"].to_numpy(), spread.median(("seed", "fold")).values)
    np.testing.assert_allclose(diagnostics["ridge_grid_end"].to_numpy(),
                               results["ridge_at_grid_end"].mean(("seed", "repeat", "fold")).values)


def test_summary_tables_read_results_stored_before_repeats_and_adam(tiny_run):
    """A store's older results (one evaluation, two decoders, the training window's accuracy) still
    give their table, without the columns they cannot fill."""
    _, results = tiny_run
    old = results.isel(repeat=0, drop=True)[["r2_paper", "ridge_r2_paper", "authors_r2_paper", "id_r2_paper",
                                             "angle", "final_relative_accuracy"]].assign_attrs(results.attrs)
    table = summary_table(old)
    assert "ood_r2_adam" not in table and table.columns[0] == "ood_r2_ridge"
    assert not [c for c in table.columns if c.startswith(("untrained", "gain_over", "encoder"))]
    np.testing.assert_allclose(table["acc_vs_ideal"].to_numpy(),
                               old["final_relative_accuracy"].mean("seed").values)
    np.testing.assert_allclose(table["ood_r2"].to_numpy(), old["r2_paper"].median(("seed", "fold")).values)
    assert list(JOB_KINDS["generalization"].diagnostics(old).columns) == []


def test_reproduce_verb_prints_the_table(tiny, tmp_path, capsys):
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path / "cli"), "--scheduler",
                 "synchronous", "--batches", "10", "--select", "n_tasks=6", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ood_r2" in out and "ood_r2_ridge" in out and "ceiling" in out and "preset 'tiny'" in out
    meta = json.loads((tmp_path / "cli" / "reproduce.json").read_text())
    assert meta["select"] == {"n_tasks": [6]} and {c["n_tasks"] for c in meta["configs"]} == {6}
    assert main(["reproduce", "--preset", "tiny", "--select", "n_tasks", "--no-progress"]) == 1
    assert "neurodis reproduce: error: --select must look like KEY=V1,V2; got 'n_tasks'" in capsys.readouterr().err
    assert set(PRESETS) >= {"quick", "fig3", "dims", "noise", "encoder", "correlation", "free-rt", "attractor"}


def test_reproduce_refuses_a_store_of_an_older_config_schema(tiny, tmp_path):
    from neurodis.sweeps import RunStore
    from neurodis.sweeps.presets import CONFIG_SCHEMA

    RunStore(tmp_path / "old" / "store", schema=CONFIG_SCHEMA - 1)
    with pytest.raises(ValueError, match=r"holds runs of another neurodis version or config schema"):
        reproduce("tiny", out=tmp_path / "old", scheduler="synchronous", progress=False)


def test_regrouped_runs_continue_from_their_old_ensemble(tmp_path):
    from neurodis.sweeps.jobs import run_group
    from neurodis.training import load_checkpoint

    configs = [{**RUN_DEFAULTS, "n_batches": 12, "batch_size": 4, "n_units": 8, "seed": s} for s in range(3)]
    run_dirs = [str(tmp_path / "store" / "runs" / f"run{s}") for s in range(3)]
    results = run_group(configs, run_dirs, lambda message: None, lambda network, config: xr.Dataset())
    (first,) = (tmp_path / "store" / "ensembles").iterdir()
    trained = load_checkpoint(first)
    # run 2 alone now (say the sweep split its group over more workers): its part of the
    # stored ensemble is adopted at batch 12, not trained again
    (again,) = run_group(configs[2:], run_dirs[2:], lambda message: None, lambda network, config: xr.Dataset())
    (second,) = [d for d in (tmp_path / "store" / "ensembles").iterdir() if d != first]
    adopted = load_checkpoint(second)
    assert adopted["batch"] == 12 and adopted["elapsed"] == trained["elapsed"]
    assert float(again["final_loss"]) == float(results[2]["final_loss"])
    # training time is the ensemble's checkpointed clock shared among its members, so the
    # adopting group (one member, trained no further) reports the whole clock
    assert [float(r["train_seconds"]) for r in results] == [trained["elapsed"] / 3] * 3
    assert float(again["train_seconds"]) == trained["elapsed"]


def test_generalization_figures_draw_the_controls_beside_the_trained_networks(tiny_run, tmp_path, monkeypatch):
    from neurodis.plotting import common
    from neurodis.sweeps.summaries import generalization_figures

    _, results = tiny_run
    figures, save = {}, common.save_figure

    def keep(figure, path):
        figures[path.name] = figure
        return save(figure, path)

    monkeypatch.setattr(common, "save_figure", keep)
    generalization_figures(results, tmp_path)
    (panel,) = figures["r2_vs_tasks.png"].axes
    lines = {line.get_label(): line.get_ydata() for line in panel.get_lines()}
    for control, label in (("untrained_", "untrained network"), ("encoder_", "time-averaged encoder output")):
        for prefix, decoder in (("ridge_", "ridge"), ("", "least squares"), ("adam_", "Adam")):
            medians = results[f"{control}{prefix}r2_paper"].median(("seed", "repeat", "fold"))
            np.testing.assert_allclose(lines[f"{label}, {decoder}"], medians)
    (legend,) = figures["r2_vs_tasks.png"].legends  # below the panel, with the controls
    assert panel.get_legend() is None and {"untrained network, ridge", "time-averaged encoder output, Adam",
                                           "ceiling"} <= {text.get_text() for text in legend.get_texts()}
    (angles,) = figures["angle_vs_tasks.png"].axes
    untrained = next(line for line in angles.get_lines() if line.get_label() == "untrained network")
    np.testing.assert_allclose(untrained.get_ydata(), results["untrained_angle"].median(("seed", "repeat", "fold")))


def test_generalization_figures_draw_one_panel_per_condition(tmp_path, monkeypatch):
    from neurodis.plotting import common
    from neurodis.sweeps.summaries import generalization_figures

    rng = np.random.default_rng(0)
    dims = ("network", "sigma", "n_tasks", "seed", "fold")
    shape = (2, 2, 3, 2, 4)
    results = xr.Dataset({"r2_paper": (dims, rng.uniform(0.7, 0.9, shape)),
                          "angle": (dims, rng.uniform(60, 120, shape))},
                         coords={"network": ["ctrnn", "lstm"], "sigma": [0.1, 0.3], "n_tasks": [2, 6, 24]},
                         attrs={"n_steps": 20, "free_rt": 0})
    figures, save = {}, common.save_figure

    def keep(figure, path):
        figures[path.name] = figure
        return save(figure, path)

    monkeypatch.setattr(common, "save_figure", keep)
    paths = generalization_figures(results, tmp_path)
    assert [p.name for p in paths] == ["r2_vs_tasks.png", "angle_vs_tasks.png"] and all(p.exists() for p in paths)
    repeated = results.expand_dims(repeat=2).copy(deep=True)
    repeated["r2_paper"] += xr.DataArray([0.0, 0.01], dims="repeat")
    assert generalization_figures(repeated, tmp_path)[-1].name == "evaluation_spread.png"
    assert len(figures["evaluation_spread.png"].axes) == 4
    panels = figures["r2_vs_tasks.png"].axes
    assert [ax.get_title() for ax in panels] == ["network=ctrnn, sigma=0.1", "network=ctrnn, sigma=0.3",
                                                 "network=lstm, sigma=0.1", "network=lstm, sigma=0.3"]
    # each panel's ceiling is drawn at its own σ: 1 - σ²/(20 · 1/12)
    ceilings = [[line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"] for ax in panels]
    np.testing.assert_allclose([c[0] for c in ceilings], [1 - 12 * s**2 / 20 for s in (0.1, 0.3, 0.1, 0.3)])


def test_reproduce_refuses_an_unknown_device_or_missing_cuda_before_writing(tmp_path, monkeypatch):
    import torch

    with pytest.raises(ValueError, match=r"device must be one of \['cpu', 'cuda'\]; got 'tpu'"):
        reproduce("quick", out=tmp_path / "a", device="tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda' needs a CUDA GPU"):
        reproduce("quick", out=tmp_path / "b", device="cuda")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_reproduce_trains_on_cuda_and_measures_like_the_cpu(tiny, tmp_path):
    results = {device: reproduce("tiny", out=tmp_path / device, scheduler="synchronous", progress=False,
                                 device=device) for device in ("cpu", "cuda")}
    assert json.loads((tmp_path / "cuda" / "reproduce.json").read_text())["device"] == "cuda"
    # 20 batches from the same weights; the recurrent noise of a CUDA generator differs from the CPU's
    for name in ("ridge_r2_paper", "final_loss"):
        np.testing.assert_allclose(results["cuda"][name], results["cpu"][name], atol=0.05, err_msg=name)


def test_a_sweep_over_d_draws_r2_against_d_with_a_line_per_n(tmp_path, monkeypatch):
    from neurodis.plotting import common
    from neurodis.sweeps.summaries import generalization_figures

    rng = np.random.default_rng(1)
    dims = ("network", "n_dims", "n_tasks", "seed", "repeat", "fold")
    shape = (2, 3, 2, 3, 2, 4)
    results = xr.Dataset({name: (dims, rng.uniform(0.3, 0.95, shape)) for name in
                          ("r2_paper", "angle", "ridge_r2_paper", "untrained_ridge_r2_paper")},
                         coords={"network": ["ctrnn", "transformer"], "n_dims": [2, 4, 6], "n_tasks": [3, 6]},
                         attrs={"n_steps": 20, "sigma": 0.2})
    figures, save = {}, common.save_figure
    monkeypatch.setattr(common, "save_figure", lambda figure, path: figures.setdefault(path.name, figure) and
                        save(figure, path))
    paths = generalization_figures(results, tmp_path)
    assert paths[-1].name == "r2_vs_dims.png" and paths[-1].exists()
    panels = figures["r2_vs_dims.png"].axes
    assert [ax.get_title() for ax in panels] == ["network=ctrnn", "network=transformer"]
    lines = {line.get_label(): line for line in panels[1].get_lines()}
    # the line of N = 6: the median over seeds × repeats × folds of the ridge r² at each D
    expected = np.median(results["ridge_r2_paper"].sel(network="transformer", n_tasks=6).values
                         .reshape(3, -1), axis=1)
    np.testing.assert_allclose(panels[1].containers[1].lines[0].get_ydata(), expected)
    np.testing.assert_allclose(lines["untrained network, ridge"].get_xdata(), [2, 4, 6])
    np.testing.assert_allclose(lines["ceiling"].get_ydata(), [1 - 12 * 0.2**2 / 20] * 2)
