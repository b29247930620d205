"""The typed run config: the same run ids as the flat dicts it replaced, validation, builders."""

import dataclasses
import subprocess
import sys

import pytest
import torch

from neurodis.sweeps import RunStore
from neurodis.sweeps.config import LATER_KEYS, RunConfig
from neurodis.sweeps.grid import run_id
from neurodis.sweeps.presets import CONFIG_SCHEMA, PRESETS, RUN_DEFAULTS, get_preset
from neurodis.tasks import Timing, make_task
from neurodis.training import TrainConfig, make_network
from neurodis.training.config import ENCODERS

#: (preset, index of the config in ``preset.configs()``) -> run id, computed with the flat
#: dicts of the code before RunConfig (commit 52e2fcc): stores written then resume. The
#: quick preset's evaluation grew from 1000 to 2000 trials (issue 19: four evaluations of
#: 2000 trials per network), so its runs have new ids; a store of the old ones is measured
#: again from its trained ensembles' checkpoints, without training.
PINNED_IDS = {
    ("quick", 0): "846572469a117d1b",
    ("quick", 14): "65e8e592892c4725",
    ("fig3", 0): "64859d04bea6e59a",
    ("fig3", 99): "2bf97ff547597614",
    ("dims", 0): "f5e61cc41b49431b",
    ("dims", 119): "66e1b195364123b6",
    ("noise", 3): "bd7e8fe89a1c1b37",
    ("encoder", 29): "62198c89dc563cb7",
    ("training", 7): "ca3e22f49836a166",
    ("correlation", 11): "e3a020634657e0ab",
    ("best", 14): "3590ed6498760dd1",
    ("recipes", 29): "b0fc42182bdb8b2a",
    # the store of `reproduce --preset best --batches 200000 --select n_tasks=24` is this preset's
    ("moonshot", 4): "098a2511b9acbe61",
    ("free-rt", 5): "443c3e6e1826ebe9",
    ("attractor", 4): "3cc039b73c39648b",
}


@pytest.mark.parametrize(("preset", "index"), sorted(PINNED_IDS))
def test_typed_configs_keep_the_run_ids_of_the_flat_dicts(preset, index):
    run = get_preset(preset).runs()[index]
    assert run_id(run.to_dict()) == PINNED_IDS[preset, index]


def test_every_preset_names_the_same_runs_typed_and_as_dicts():
    assert {name for name, _ in PINNED_IDS} == set(PRESETS)
    for preset in PRESETS.values():
        runs, configs = preset.runs(), preset.configs()
        assert [run.to_dict() for run in runs] == configs
        assert [RunConfig.from_dict(config) for config in configs] == runs
        for run, config in zip(runs, configs):  # later keys only where set
            assert set(config) == set(RUN_DEFAULTS) | {k for k, v in LATER_KEYS.items() if getattr(run, k) != v}


def test_a_later_key_names_its_run_only_when_set_so_older_stores_keep_their_ids():
    older = RUN_DEFAULTS  # the flat dict of every run written before the later keys
    assert not set(older) & set(LATER_KEYS)
    assert RunConfig.from_dict(older) == RunConfig() and RunConfig().to_dict() == older
    assert run_id(RunConfig(lr_end=None).to_dict()) == run_id(older)
    decayed = RunConfig(lr_end=1e-5)
    assert decayed.to_dict() == {**older, "lr_end": 1e-5} and run_id(decayed.to_dict()) != run_id(older)
    assert RunConfig.from_dict(decayed.to_dict()) == decayed
    assert decayed.train_config().lr_end == 1e-5 and RunConfig().train_config().lr_end is None
    with pytest.raises(ValueError, match=r"lr_end must be <= 0.001; got 0.01"):
        RunConfig(lr_end=1e-2)
    penalized = RunConfig(l2_weights=1e-3, l1_rates=2e-3)
    assert penalized.to_dict() == {**older, "l2_weights": 1e-3, "l1_rates": 2e-3}
    train = penalized.train_config()
    assert (train.l1_weights, train.l2_weights, train.l1_rates, train.l2_rates) == (0.0, 1e-3, 2e-3, 0.0)
    with pytest.raises(ValueError, match=r"l2_rates must be >= 0.0; got -1.0"):
        RunConfig(l2_rates=-1.0)
    with pytest.raises(ValueError, match=r"missing \['seed'\]"):
        RunConfig.from_dict({key: value for key, value in older.items() if key != "seed"})


def test_a_value_keeps_its_json_type_so_the_id_is_the_dicts():
    config = {**RUN_DEFAULTS, "sigma": 1, "n_batches": 300}
    run = RunConfig.from_dict(config)
    assert type(run.sigma) is int and run_id(run.to_dict()) == run_id(config)


def test_a_schema_2_store_written_from_dicts_reads_back_as_typed_configs(tmp_path):
    store = RunStore(tmp_path / "store", schema=CONFIG_SCHEMA)
    config = get_preset("quick").configs(n_batches=5)[3]
    from neurodis.files import read_json

    saved = read_json(store.prepare(config) / "config.json")
    assert RunConfig.from_dict(saved) == get_preset("quick").runs(n_batches=5)[3]
    assert RunConfig.SCHEMA == CONFIG_SCHEMA == 2


def test_build_task_passes_each_task_the_run_keys_it_has():
    run = RunConfig(n_tasks=6, sigma=0.3, dt=50.0)
    assert run.build_task() == make_task("classification", n_tasks=6, sigma=0.3, timing=Timing(dt=50.0))
    assert run.replace(task="accumulation").build_task().timing.dt == 50.0


def test_build_network_and_train_config_are_the_runs():
    run = RunConfig(network="ctrnn_nonleaky", n_units=8, seed=3, tau=200.0, n_batches=300)
    task = run.build_task()
    expected = make_network(task, "ctrnn", n_units=8, seed=3, leaky=False, tau=200.0, recurrent_noise=0.0)
    built = run.build_network(task, None)
    assert type(built) is type(expected)
    for (name, a), (_, b) in zip(built.state_dict().items(), expected.state_dict().items()):
        assert torch.equal(a, b), name
    assert run.train_config() == TrainConfig(n_batches=300, batch_size=16, lr=1e-3, seed=3, encoder="relu",
                                             log_every=15, checkpoint_every=150)
    assert RunConfig().train_config().log_every == 500 and RunConfig(n_batches=10).train_config().log_every == 1


def test_the_config_accepts_trainings_encoder_kinds_and_checks_them_without_torch():
    for kind in ENCODERS:
        RunConfig(encoder=kind)
    # laying out a sweep (the CLI's --help lists the presets) must not pay for importing torch
    code = "import sys, neurodis.sweeps.presets as p; p.get_preset('fig3').runs(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_the_config_is_frozen_and_keyword_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunConfig().seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        RunConfig("classification")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"task": 3}, TypeError, r"task must be a string; got int 3"),
        ({"task": "nope"}, ValueError, r"task must be one of \['accumulation', .*\]; got 'nope'"),
        ({"network": "gpt"}, ValueError, r"network must be one of \['ctrnn', 'ctrnn_dale', 'ctrnn_nonleaky', .*\]; got 'gpt'"),
        ({"n_units": 0}, ValueError, r"n_units must be an integer >= 1; got 0"),
        ({"n_batches": 300.0}, TypeError, r"n_batches must be an integer; got float 300.0"),
        ({"seed": -1}, ValueError, r"seed must be an integer >= 0; got -1"),
        ({"sigma": "a"}, TypeError, r"sigma must be a real number; got str 'a'"),
        ({"sigma": -0.1}, ValueError, r"sigma must be >= 0.0; got -0.1"),
        ({"latent_correlation": 1.0}, ValueError, r"latent_correlation must be < 1.0; got 1.0"),
        ({"tau": 0.0}, ValueError, r"tau must be > 0.0; got 0.0"),
        ({"lr": float("nan")}, ValueError, r"lr must be a finite real number; got nan"),
        ({"encoder": "cubic"}, ValueError, r"encoder must be one of \['relu', 'quadratic', 'none'\]; got 'cubic'"),
        ({"noise": "pink"}, ValueError, r"noise must be one of \[.*\]; got 'pink'"),
        ({"task": "accumulation", "latent_correlation": 0.5}, ValueError,
         (r"run keys \['latent_correlation'\] do not apply to task 'accumulation' and must keep their "
          r"defaults \{'latent_correlation': 0.0\}; got \{'latent_correlation': 0.5\}")),
    ],
)
def test_run_config_errors_name_the_field(changes, error, match):
    with pytest.raises(error, match=match):
        RunConfig(**changes)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: RunConfig.from_dict([1]), TypeError, r"config must be a mapping of run keys; got list \[1\]"),
        (lambda: RunConfig.from_dict({**RUN_DEFAULTS, "width": 3}), ValueError,
         r"config must hold exactly the run keys of schema 2 \[.*\]; got missing \[\], unknown \['width'\]"),
        (lambda: RunConfig.from_dict({k: v for k, v in RUN_DEFAULTS.items() if k != "variant"}), ValueError,
         r"got missing \['variant'\], unknown \[\]"),
        (lambda: get_preset("quick").configs(n_units=0), ValueError, r"n_units must be an integer >= 1; got 0"),
    ],
)
def test_from_dict_and_preset_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_dale_network_builds_an_excitatory_inhibitory_ctrnn():
    config = RunConfig(network="ctrnn_dale", n_tasks=3, n_units=10)
    task = config.build_task()
    model = config.build_network(task, None)
    assert config.network_spec() == ("ctrnn", {"leaky": True, "dale_ratio": 0.8, "tau": 100.0, "recurrent_noise": 0.0})
    w_hh = model.effective_weights()["weight_hh"].detach().numpy()
    # presynaptic (column) signs: the first 8 units excite, the last 2 inhibit
    assert (w_hh[:, :8] >= 0).all() and (w_hh[:, 8:] <= 0).all() and (w_hh != 0).any()
