"""make_network, train_networks and the `neurodis train` verb."""

from __future__ import annotations

import json

import pytest
import torch

from neurodis.cli import main
from neurodis.tasks import make_task
from neurodis.training import TrainedNetwork, make_network, train_networks
from tests.training.conftest import (
    SHORT,
    same_weights,
    tiny_config,
    tiny_encoder,
    tiny_task,
)


def test_make_network_sizes_the_model_for_the_task_and_encoder():
    task = tiny_task(4)
    net = make_network(task, encoder=tiny_encoder(), n_units=6, seed=2)
    assert (net.arch, net.n_inputs, net.n_outputs, net.n_units) == ("ctrnn", 5, 4, 6)
    assert net.config["dt"] == task.dt and net.config["seed"] == 2
    accumulator = make_network(make_task("accumulation", n_tasks=3), "gru", n_units=4)
    assert accumulator.readout.kind == "tanh" and accumulator.readout.bound == 5.0 and accumulator.n_inputs == 2
    assert make_network(task, leaky=False).config["leaky"] is False  # options override
    with pytest.raises(ValueError, match=r"arch must be one of .*got 'rnn'"):
        make_network(task, "rnn")
    with pytest.raises(TypeError, match=r"task must be a neurodis Task; got str"):
        make_network("classification")  # type: ignore[arg-type]


def test_several_ctrnns_train_as_an_ensemble_equal_to_solo_runs(tmp_path):
    config = tiny_config(n_batches=6, encoder="none")
    results = train_networks(tiny_task(), config, n_networks=2, n_units=4, out=tmp_path, progress=False)
    assert [r.config.seed for r in results] == [1, 2]
    assert [r.paths["model"].parent.name for r in results] == ["member_000", "member_001"]
    (solo,) = train_networks(tiny_task(), config.__class__(**{**config.to_dict(), "seed": 2}), n_units=4,
                             progress=False)
    torch.testing.assert_close(solo.model.weight_hh, results[1].model.weight_hh, rtol=1e-5, atol=1e-6)
    assert same_weights(TrainedNetwork.load(tmp_path / "member_001").model, results[1].model)


def test_other_architectures_train_as_ensembles_too(tmp_path):
    config = tiny_config(n_batches=3, encoder="none")
    results = train_networks(tiny_task(), config, n_networks=2, arch="lstm", n_units=4, out=tmp_path,
                             progress=False)
    assert [r.model.arch for r in results] == ["lstm", "lstm"]
    assert (tmp_path / "member_001" / "checkpoint.pt").is_file()
    assert not same_weights(results[0].model, results[1].model)
    (solo,) = train_networks(tiny_task(), config.__class__(**{**config.to_dict(), "seed": 2}), arch="lstm",
                             n_units=4, progress=False)
    for a, b in zip(solo.model.parameters(), results[1].model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"n_networks must be an integer >= 1; got 0"):
        train_networks(tiny_task(), config, n_networks=0)


def test_cli_trains_resumes_and_reports(tmp_path, capsys):
    argv = ["train", "--task", "classification", "--n-tasks", "2", "--param", json.dumps(SHORT).join(["timing=", ""]),
            "--units", "4", "--batches", "4", "--log-every", "2", "--checkpoint-every", "2", "--batch-size", "4",
            "--seed", "3", "--threads", "1", "--out", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "seed 3: loss" in first and "of the ideal observer's" in first
    assert main([*argv, "--resume"]) == 0  # finished: reports the same run
    assert capsys.readouterr().out == first
    loaded = TrainedNetwork.load(tmp_path / "run")
    assert loaded.task.n_tasks == 2 and loaded.config.n_batches == 4 and loaded.model.n_inputs == 41
    assert main([*argv[:-3], "--out", str(tmp_path / "ens"), "--ensemble", "2", "--quiet"]) == 0
    assert (tmp_path / "ens" / "member_001" / "history.nc").is_file()
    capsys.readouterr()
    assert main([*argv, "--param", "sigma"]) == 1
    assert "neurodis train: error: --param must look like KEY=JSON; got 'sigma'" in capsys.readouterr().err
