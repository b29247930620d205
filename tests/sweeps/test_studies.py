"""The free-RT and attractor jobs of reproduce: measurements, tables, figures, end to end."""

import json

import numpy as np
import pytest
import torch

from neurodis.models import CTRNN
from neurodis.sweeps import presets, studies
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.presets import JOBS, RUN_DEFAULTS, Preset, ensemble_key, get_preset
from neurodis.sweeps.reproduce import JOB_KINDS, reproduce, summary_table
from neurodis.sweeps.studies import (
    measure_attractor,
    measure_free_rt,
    measure_free_rt_controls,
)
from neurodis.tasks import Timing, make_task
from neurodis.training import TrainedNetwork

TINY_FREE_RT = Preset(name="tiny-free-rt", description="both tasks, two seeds, a few batches", job="free_rt",
                      base={"n_batches": 4, "eval_trials": 400, "n_units": 8, "n_tasks": 4},
                      grid={"task": ["accumulation", "classification"], "seed": [0, 1]}, eval_repeats=2)
TINY_ATTRACTOR = Preset(name="tiny-attractor", description="two N, two seeds, a few batches", job="attractor",
                        base={"n_batches": 4, "eval_trials": 32, "n_units": 8},
                        grid={"n_tasks": [2, 4], "seed": [0, 1]})
TINY_INITS = 8


def _task(config):
    """The task of a run config given as its flat dict."""
    return RunConfig.from_dict(config).build_task()


@pytest.fixture(scope="module")
def free_rt_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("free_rt") / "tiny"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(presets.PRESETS, TINY_FREE_RT.name, TINY_FREE_RT)
        yield out, reproduce(TINY_FREE_RT.name, out=out, scheduler="synchronous", progress=False)


@pytest.fixture(scope="module")
def attractor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("attractor") / "tiny"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(presets.PRESETS, TINY_ATTRACTOR.name, TINY_ATTRACTOR)
        patch.setattr(studies, "N_INITS", TINY_INITS)
        yield out, reproduce(TINY_ATTRACTOR.name, out=out, scheduler="synchronous", progress=False)


def _saved(out, config):
    from neurodis.models import load_model
    from neurodis.sweeps import RunStore
    from neurodis.tasks.encoders import Encoder

    store = RunStore(out / "store", schema=presets.CONFIG_SCHEMA)
    folder = store.run_dir(config)
    return load_model(folder / "model"), _task(config), Encoder.load(folder / "encoder.json"), \
        store.load_result(config)


def test_every_job_kind_has_a_job_table_and_figures():
    assert set(JOB_KINDS) == set(JOBS)
    assert get_preset("quick").job == "generalization"


def test_new_presets_expand_to_their_grids():
    free = get_preset("free-rt").configs()
    assert len(free) == 6 and {c["task"] for c in free} == {"accumulation", "classification"}
    assert {c["n_tasks"] for c in free} == {24} and {c["n_batches"] for c in free} == {30_000}
    assert len({ensemble_key(c) for c in free}) == 2  # a task of its own per ensemble
    assert {_task(c).name for c in free} == {"accumulation", "classification"}
    attractor = get_preset("attractor").configs()
    assert len(attractor) == 6 and {c["n_tasks"] for c in attractor} == {2, 24}
    assert len({ensemble_key(c) for c in attractor}) == 1


def test_build_task_gives_each_task_the_run_keys_it_has():
    config = {**RUN_DEFAULTS, "n_tasks": 6, "sigma": 0.3, "dt": 50.0}
    assert _task(config) == make_task("classification", n_tasks=6, sigma=0.3, timing=Timing(dt=50.0))
    accumulation = _task({**config, "task": "accumulation"})
    assert accumulation == make_task("accumulation", n_tasks=6, sigma=0.3,
                                     timing=Timing(fixation=0.0, stimulus=2000.0, decision=0.0, dt=50.0))
    assert accumulation.timing.n_steps == 40


def _summing_ctrnn(task):
    """A linear, non-leaky CTRNN (α = 1) whose state is the running sum of the raw stimulus."""
    n_dims = task.n_dims
    net = CTRNN(len(task.input_names), len(task.output_names), n_units=n_dims, activation="linear",
                leaky=False, readout=task.readout)
    stimulus = [task.input_names.index(f"stimulus_{i}") for i in range(n_dims)]
    with torch.no_grad():
        net.weight_hh.zero_()
        net.bias.zero_()
        net.weight_ih.zero_()
        net.weight_ih[np.arange(n_dims), stimulus] = 1.0
    return net


@pytest.mark.parametrize("task_name", ["accumulation", "classification"])
def test_a_running_sum_decodes_at_the_linear_optimum_of_t_plus_one_samples(task_name):
    """Decoding the sum of n samples linearly has MSE v·s/(v+s) per dim (v = 1/12, s = σ²/n)
    for any prior: the in-distribution r² is v/(v+s) exactly in expectation. With n = T + 1
    (not T) the reading step is the right one; 3000 trials give an sd of about 0.002."""
    task = make_task(task_name, n_tasks=3)
    durations = (4, 19)
    result = measure_free_rt(TrainedNetwork(_summing_ctrnn(task), task, None), n_trials=3000, seed=1,
                             durations=durations, n_repeats=2)
    v, s = 1 / 12, 0.2**2 / (np.array(durations) + 1)
    for name in ("id_r2_paper", "ridge_id_r2_paper", "adam_id_r2_paper"):  # every evaluation, every decoder
        np.testing.assert_allclose(result[name].values, np.broadcast_to(v / (v + s), (2, 2)), atol=0.01,
                                   err_msg=name)
    np.testing.assert_allclose(result["ceiling"].values, 1 - 0.48 / (np.array(durations) + 1))
    assert result["n_samples"].values.tolist() == [5, 20]
    assert (result["r2_paper"].mean("fold") > result["ceiling"] - 0.02).all()


def test_measure_attractor_counts_the_slow_modes_of_a_known_linear_network():
    """r ← W r + b with W = diag(μ) has one fixed point, eigenvalues μ and amplification 1/|ln μ|."""
    task = make_task("classification", n_tasks=2)
    mu = np.array([0.99, 0.97, 0.5, 0.2])
    net = CTRNN(3, 2, n_units=4, activation="linear")
    with torch.no_grad():
        net.weight_hh.copy_(torch.diag(torch.tensor(mu, dtype=net.weight_hh.dtype)))
        net.weight_ih.zero_()
        net.bias.fill_(1.0)
    result = measure_attractor(TrainedNetwork(net, task, None), n_trials=16, seed=0, n_inits=8)
    assert int(result["n_points"]) == 1 and int(result["n_two_slow_modes"]) == 1
    np.testing.assert_allclose(result["eigenvalues_real"].values[0], mu, rtol=1e-5)
    np.testing.assert_allclose(result["amplification_quartiles"].values,
                               np.repeat(1 / np.abs(np.log(mu[:3]))[:, None], 3, axis=1), rtol=1e-3)
    assert float(result["fraction_active"]) == 1.0
    assert float(result["sparseness_median"]) == pytest.approx(0.0, abs=1e-9)  # every trial is the same


def test_free_rt_preset_writes_its_table_and_figure(free_rt_run):
    out, results = free_rt_run
    assert results["r2_paper"].dims == ("task", "seed", "repeat", "fold", "duration")
    assert results.sizes["repeat"] == TINY_FREE_RT.eval_repeats
    assert results["duration"].values.tolist() == list(studies.DURATIONS)
    assert json.loads(results.attrs["controls"]) == studies.FREE_RT_CONTROLS
    table = summary_table(results)
    controls = [f"{control}_{column}" for control in ("untrained", "encoder")
                for column in ("r2_ridge", "r2_ridge_ci_low", "r2_ridge_ci_high", "r2", "r2_adam", "id_r2")]
    assert list(table.columns) == ["ood_r2_ridge", "ood_r2_ridge_ci_low", "ood_r2_ridge_ci_high", "ood_r2",
                                   "ood_r2_q25", "ood_r2_q75", "ood_r2_adam", "id_r2_ridge", "id_r2", *controls,
                                   "ceiling", "bayes_ceiling"]
    assert table.index.names == ["task", "duration"]
    durations = table.index.get_level_values("duration").to_numpy()
    np.testing.assert_allclose(table["ceiling"].to_numpy(), 1 - 0.48 / (durations + 1))
    assert (table["bayes_ceiling"] > table["ceiling"]).all()
    # medians over seeds × repeats × folds
    for variable, column in (("r2_paper", "ood_r2"), ("ridge_r2_paper", "ood_r2_ridge"),
                             ("adam_r2_paper", "ood_r2_adam"), ("encoder_ridge_r2_paper", "encoder_r2_ridge"),
                             ("untrained_r2_paper", "untrained_r2")):
        values = results[variable].sel(task="accumulation", duration=9).values.ravel()
        assert values.size == 2 * TINY_FREE_RT.eval_repeats * 4
        assert table.loc[("accumulation", 9), column] == pytest.approx(np.median(values)), column
    values = results["r2_paper"].sel(task="accumulation", duration=9).values.ravel()
    assert table.loc[("accumulation", 9), "ood_r2_q75"] == pytest.approx(np.quantile(values, 0.75))
    assert (table["ood_r2_ridge_ci_low"] <= table["ood_r2_ridge_ci_high"]).all()
    assert (out / "table.csv").read_text().startswith("task,duration,ood_r2")
    assert {p.name for p in (out / "figures").iterdir()} == {"r2_vs_duration.png"}
    assert json.loads((out / "reproduce.json").read_text())["job"] == "free_rt"


def test_free_rt_table_reads_results_stored_before_repeats_adam_and_controls(free_rt_run):
    _, results = free_rt_run
    old = results.isel(repeat=0, drop=True)[["r2_paper", "ridge_r2_paper", "id_r2_paper", "ridge_id_r2_paper"]]
    table = summary_table(old, job="free_rt")
    assert list(table.columns) == ["ood_r2_ridge", "ood_r2_ridge_ci_low", "ood_r2_ridge_ci_high", "ood_r2",
                                   "ood_r2_q25", "ood_r2_q75", "id_r2_ridge", "id_r2", "ceiling", "bayes_ceiling"]
    values = old["ridge_r2_paper"].sel(task="classification", duration=14).values.ravel()
    assert table.loc[("classification", 14), "ood_r2_ridge"] == pytest.approx(np.median(values))


def test_free_rt_results_are_reproduced_by_the_saved_networks(free_rt_run):
    """The stored numbers are measure_free_rt of the saved network, and its controls those of the
    network its run config rebuilds with the initial weights."""
    out, _ = free_rt_run
    for config in (TINY_FREE_RT.configs()[1], TINY_FREE_RT.configs()[2]):
        model, task, encoder, stored = _saved(out, config)
        network = TrainedNetwork(model, task, encoder)
        protocol = {"n_trials": config["eval_trials"], "seed": config["seed"], "n_repeats": TINY_FREE_RT.eval_repeats}
        again = measure_free_rt(network, **protocol)
        for name in ("r2_paper", "ridge_r2_paper", "adam_r2_paper", "id_r2_paper", "ridge_alpha"):
            np.testing.assert_array_equal(again[name].values, stored[name].values)
        untrained = RunConfig.from_dict(config).build_network(task, encoder)
        controls = measure_free_rt_controls(network, untrained, **protocol)
        for name in ("untrained_ridge_r2_paper", "untrained_adam_id_r2_paper", "encoder_r2_paper"):
            np.testing.assert_array_equal(controls[name].values, stored[name].values)


def test_attractor_preset_writes_its_table_and_figures(attractor_run):
    out, results = attractor_run
    table = summary_table(results)
    assert table.index.name == "n_tasks" and table.index.tolist() == [2, 4]
    assert list(table.columns) == [
        "n_points", "n_exact", "n_slow", "n_two_slow_modes", "amp1_q25", "amp1_median", "amp1_q75",
        "amp2_median", "amp3_median", "pc1", "pc2", "participation_ratio", "sparseness", "fraction_active",
    ]
    assert table.loc[4, "n_points"] == pytest.approx(np.median(results["n_points"].sel(n_tasks=4).values))
    assert (table["n_points"] <= TINY_INITS).all()
    assert {p.name for p in (out / "figures").iterdir()} == {
        "eigenvalues.png", "amplification.png", "explained_variance.png"}


def test_attractor_counts_match_a_fresh_search_on_the_saved_network(attractor_run):
    from neurodis.experiments import find_fixed_points, zero_evidence_input
    from neurodis.simulator import simulate

    out, _ = attractor_run
    config = TINY_ATTRACTOR.configs()[3]
    model, task, encoder, stored = _saved(out, config)
    trial_rng, point_rng = np.random.default_rng(config["seed"]).spawn(2)
    rates = simulate(model, task.sample(config["eval_trials"], rng=trial_rng, encoder=encoder), noise=False,
                     dtype=np.float64)["rates"]
    found = find_fixed_points(model, zero_evidence_input(task, encoder), states=rates, n_inits=TINY_INITS,
                              eigenvectors=False, rng=point_rng)
    mu = found["eigenvalues_real"].values + 1j * found["eigenvalues_imag"].values
    assert int(stored["n_points"]) == found.sizes["fixed_point"]
    assert int(stored["n_exact"]) == found.attrs["n_exact"] and int(stored["n_slow"]) == found.attrs["n_slow"]
    assert int(stored["n_two_slow_modes"]) == int(((np.abs(mu - 1) < 0.05).sum(1) >= 2).sum())
    n_points = found.sizes["fixed_point"]
    np.testing.assert_array_equal(stored["eigenvalues_real"].values[:n_points], found["eigenvalues_real"].values)
    assert stored.sizes["fixed_point"] == TINY_INITS and np.isnan(stored["q"].values[n_points:]).all()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: Preset(name="x", description="", job="nope"), ValueError,
         r"preset 'x' job must be one of \['generalization', 'free_rt', 'attractor'\]; got 'nope'"),
        (lambda: _task({**RUN_DEFAULTS, "task": "accumulation", "latent_correlation": 0.5}), ValueError,
         (r"run keys \['latent_correlation'\] do not apply to task 'accumulation' and must keep their "
          r"defaults \{'latent_correlation': 0.0\}; got \{'latent_correlation': 0.5\}")),
        (lambda: measure_free_rt(None, n_trials=10, seed=0, durations=()), ValueError,
         r"durations must be distinct stimulus step counts, at least one; got \[\]"),
        (lambda: measure_free_rt(None, n_trials=10, seed=0, durations=(3, 3)), ValueError,
         r"durations must be distinct stimulus step counts, at least one; got \[3, 3\]"),
        (lambda: measure_free_rt(None, n_trials=10, seed=0, durations=(0,)), ValueError,
         r"durations\[0\] must be"),
        (lambda: summary_table(__import__("xarray").Dataset(), job="nope"), ValueError,
         r"job must be one of \['attractor', 'free_rt', 'generalization'\]; got 'nope'"),
    ],
)
def test_study_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
