"""The controls of the generalization job: the untrained network and the encoder output."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import neurodis
import neurodis.experiments
import neurodis.training
from neurodis.experiments import TrainedNetwork, encoder_generalization, generalization
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.jobs import CONTROLS, train_and_generalize
from neurodis.sweeps.presets import RUN_DEFAULTS

DECODERS = ("lstsq", "ridge", "adam")


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """One group of the job (N = 2 of seed 0, N = 2 of seed 1, N = 6 of seed 0: the job measures
    them seed by seed), the networks training started from and the number of control measurements made."""
    configs = [{**RUN_DEFAULTS, "n_batches": 6, "batch_size": 4, "n_units": 8, "eval_trials": 300, "n_tasks": n,
                "seed": seed} for n, seed in ((2, 0), (2, 1), (6, 0))]
    folder = tmp_path_factory.mktemp("controls")
    run_dirs = [str(folder / "store" / "runs" / f"run{k}") for k in range(len(configs))]
    started, calls = [], {"generalization": 0, "encoder_generalization": 0, "regression draws": 0}
    with pytest.MonkeyPatch.context() as patch:
        def capture(tasks, models, *args, **kwargs):
            # copies, as training started from them (train_ensemble promises not to change them)
            started.extend(TrainedNetwork(copy.deepcopy(m), t, e) for t, m, e in zip(tasks, models, kwargs["encoders"]))
            return train_ensemble(tasks, models, *args, **kwargs)

        def count(name):
            def counted(*args, **kwargs):
                calls[name] += 1
                return function(*args, **kwargs)
            function = getattr(neurodis.experiments, name)
            return counted

        def drawn(self, *args, **kwargs):
            calls["regression draws"] += 1
            return sample(self, *args, **kwargs)

        regression = type(neurodis.experiments.regression_task(neurodis.make_task("classification", n_tasks=2)))
        sample = regression.sample
        patch.setattr(regression, "sample", drawn)
        train_ensemble = neurodis.training.train_ensemble
        patch.setattr(neurodis.training, "train_ensemble", capture)
        for name in ("generalization", "encoder_generalization"):
            patch.setattr(neurodis.experiments, name, count(name))
        results = train_and_generalize(configs, run_dirs, lambda message: None, eval_repeats=2, accuracy_trials=64)
    return [RunConfig.from_dict(c) for c in configs], started, results, calls, run_dirs


def test_the_untrained_control_rebuilt_from_the_run_config_is_the_network_training_started_from(group):
    configs, started, _, _, _ = group
    for config, network in zip(configs, started):
        rebuilt = config.build_network(network.task, network.encoder)
        assert rebuilt.state_dict().keys() == network.model.state_dict().keys()
        for name, value in network.model.state_dict().items():
            torch.testing.assert_close(rebuilt.state_dict()[name], value, rtol=0, atol=0, msg=name)


def test_controls_are_the_protocol_on_the_initial_network_and_the_encoder_output(group):
    configs, started, results, _, _ = group
    for config, network, result in zip(configs, started, results):
        protocol = {"n_trials": 300, "n_repeats": 2, "decoders": DECODERS,
                    "rng": np.random.SeedSequence(config.seed).spawn(2)[0]}  # measure_network's evaluations
        untrained = generalization(network, **protocol)
        encoder = encoder_generalization(network, **protocol)
        for name in ("r2_paper", "id_r2_paper", "angle", "ridge_r2_paper", "ridge_id_r2_paper", "adam_r2_paper",
                     "adam_id_r2_paper"):
            np.testing.assert_array_equal(result[f"untrained_{name}"].values, untrained[name].values, err_msg=name)
            np.testing.assert_array_equal(result[f"encoder_{name}"].values, encoder[name].values, err_msg=name)
        assert result["untrained_ridge_r2_paper"].dims == result["ridge_r2_paper"].dims == ("repeat", "fold")
        assert set(result["untrained_r2_paper"].coords) == set(result["r2_paper"].coords)
        assert json.loads(result.attrs["controls"]) == CONTROLS


def test_runs_that_differ_only_in_their_readout_share_their_controls_measured_once(group):
    configs, started, results, calls, _ = group
    # seeds 0 and 1: one untrained network and one encoder control each, for three runs
    # 3 trained networks + 2 untrained; their 14 evaluations draw each seed's trial sets once:
    # 2 for the networks, 2 for the encoder control (the next children of the controls' stream)
    assert calls == {"generalization": 5, "encoder_generalization": 2, "regression draws": 8}
    for name in ("untrained_ridge_r2_paper", "encoder_ridge_r2_paper"):
        np.testing.assert_array_equal(results[0][name].values, results[2][name].values)
        assert not np.array_equal(results[0][name].values, results[1][name].values)
    # shared rightly: the untrained N = 6 network, measured on its own, gives N = 2's numbers
    alone = generalization(TrainedNetwork(configs[2].build_network(started[2].task, started[2].encoder),
                                          started[2].task, started[2].encoder),
                           n_trials=300, n_repeats=2, decoders=["lstsq"], rng=np.random.SeedSequence(0).spawn(2)[0])
    np.testing.assert_array_equal(results[0]["untrained_r2_paper"].values, alone["r2_paper"].values)


def test_results_come_back_in_the_order_of_the_configs_though_measured_seed_by_seed(group):
    from neurodis.trials import load_dataset

    configs, _, results, _, run_dirs = group
    for config, result, run_dir in zip(configs, results, run_dirs, strict=True):
        history = load_dataset(Path(run_dir) / "history.nc")
        assert result.attrs["seed"] == config.seed and history.sizes["output"] == config.n_tasks
        assert result["final_loss"].item() == float(history["loss"].values[-1])
