"""Constrained CTRNNs and weight/rate penalties in training: signs, zeros and frozen groups
survive training, ensembles, reload and simulation; penalties add their closed form."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from neurodis.experiments import run
from neurodis.models import GRU, LSTM
from neurodis.training import (
    StackedModel,
    TrainConfig,
    TrainedNetwork,
    load_checkpoint,
    train,
    train_ensemble,
)
from neurodis.training._engine import Engine
from neurodis.training.checkpoint import save_checkpoint
from tests.training.conftest import tiny_config, tiny_ctrnn, tiny_encoder, tiny_task

N = 8


def _mask(seed: int, shape: tuple[int, int], density: float = 0.7) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < density).astype(int)


def _constrained(n_outputs: int = 3, seed: int = 0, **options):
    """Dale (6 E, 2 I), own masks, no autapses, frozen input weights."""
    return tiny_ctrnn(n_outputs, seed=seed, dale_ratio=0.75, autapses=False, freeze=["input"],
                      input_mask=_mask(seed, (N, 5)), recurrent_mask=_mask(seed + 1, (N, N)),
                      output_mask=_mask(seed + 2, (n_outputs, N)), **options)


def _check_constraints(model, initial) -> None:
    """Signs by unit, absent connections at exactly 0, frozen inputs unchanged, the rest trained."""
    weights = {key: value.detach() for key, value in model.effective_weights().items()}
    hh, ih, out = weights["weight_hh"], weights["weight_ih"], weights["readout_weight"]
    assert bool((hh[:, :6] >= 0).all() and (hh[:, 6:] <= 0).all() and (ih >= 0).all())
    config = model.config
    absent_hh = (np.array(config["recurrent_mask"]) * (1 - np.eye(N, dtype=int))) == 0
    assert float(hh[torch.tensor(absent_hh)].abs().max()) == 0.0
    assert float(ih[torch.tensor(np.array(config["input_mask"])) == 0].abs().max()) == 0.0
    absent_out = (np.array(config["output_mask"]) * (np.arange(N) < 6)) == 0
    assert float(out[torch.tensor(absent_out)].abs().max()) == 0.0
    assert torch.equal(model.weight_ih, initial.weight_ih) and not model.weight_ih.requires_grad
    assert not torch.equal(model.weight_hh, initial.weight_hh)


def test_constraints_survive_training_reload_and_simulation(tmp_path):
    task, model = tiny_task(), _constrained(recurrent_noise=0.05)
    config = tiny_config(n_batches=24, lr=1e-2, l2_rates=0.01)
    net = train(task, model, config, encoder=tiny_encoder(), out=tmp_path, progress=False)
    _check_constraints(net.model, model)
    loaded = TrainedNetwork.load(tmp_path)
    assert loaded.model.config == net.model.config and not loaded.model.weight_ih.requires_grad
    for key, value in net.model.effective_weights().items():
        assert torch.equal(loaded.model.effective_weights()[key], value)
    # the Numba simulator runs the effective weights: parity with the torch forward
    trials = task.sample(6, rng=0, encoder=loaded.encoder)
    simulated = run(loaded, trials, noise=False)
    inputs = torch.tensor(trials["inputs"].values, dtype=torch.float32)
    with torch.no_grad():  # noise-free, as the simulation
        rates, _ = loaded.model(inputs, recurrent_noise=torch.zeros(*inputs.shape[:2], N))
    assert np.abs(simulated["rates"].values - rates.numpy()).max() <= 1e-5


def test_ensemble_members_keep_their_own_masks_and_follow_their_solo_runs():
    # different masks and widths (3 and 2 outputs: the readout is padded), penalties on
    tasks, seeds = [tiny_task(3), tiny_task(2)], [4, 9]
    models = [_constrained(3, seed=0, recurrent_noise=0.05), _constrained(2, seed=5, recurrent_noise=0.05)]
    config = tiny_config(n_batches=30, log_every=10, checkpoint_every=30, lr=1e-2, l1_weights=0.01,
                         l2_weights=0.1, l1_rates=0.01, l2_rates=0.05)
    encoders = [tiny_encoder(0), tiny_encoder(1)]
    ensemble = train_ensemble(tasks, models, config, seeds=seeds, encoders=encoders, progress=False)
    for k, (member, model) in enumerate(zip(ensemble, models)):
        _check_constraints(member.model, model)
        solo = train(tasks[k], model, replace(config, seed=seeds[k]), encoder=encoders[k], progress=False)
        for (name, a), b in zip(solo.model.named_parameters(), member.model.parameters()):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=f"member {k} {name}")
        np.testing.assert_allclose(member.history["loss"], solo.history["loss"], rtol=1e-5)


def test_members_of_an_ensemble_share_their_signs_and_frozen_groups():
    # dale_ratio at its default is absent from the first config: still compared
    with pytest.raises(ValueError, match=r"models\[1\].config\['dale_ratio'\] must equal models\[0\]'s "
                                         r"'<default>' .*; got 0.5"):
        StackedModel([tiny_ctrnn(seed=0), tiny_ctrnn(seed=1, dale_ratio=0.5)])
    with pytest.raises(ValueError, match=r"models\[1\].config\['freeze'\] must equal models\[0\]'s \['bias'\]"):
        StackedModel([tiny_ctrnn(seed=0, freeze=["bias"]), tiny_ctrnn(seed=1)])


def _first_loss(task, model, config, encoder=None):
    net = train(task, model, replace(config, n_batches=1, log_every=1, checkpoint_every=1), encoder=encoder,
                progress=False)
    return float(net.history["loss"][0])


def _first_batch(task, encoder, config):
    """The inputs of batch 1, drawn as the trainer draws them (data stream: child 0 of the seed)."""
    data = np.random.SeedSequence(config.seed).spawn(3)[0]
    batch = task.sample_arrays(config.batch_size, np.random.Generator(np.random.PCG64(data)))
    inputs, _ = encoder.encode_inputs(batch.inputs, task.input_names)
    return torch.tensor(inputs, dtype=torch.float64)


@pytest.mark.parametrize("constrained", [False, True], ids=["plain", "dale-masks"])
def test_penalties_add_their_closed_form_to_the_loss(constrained):
    task, encoder, config = tiny_task(), tiny_encoder(), tiny_config()
    model = _constrained() if constrained else tiny_ctrnn()
    plain = _first_loss(task, model, config, encoder)
    penalties = {"l1_weights": 0.3, "l2_weights": 2.0, "l1_rates": 0.5, "l2_rates": 4.0}
    penalized = _first_loss(task, model, replace(config, **penalties), encoder)
    # independent: float64 numpy means of the effective matrices and of the rates on batch 1
    weights = [w.detach().double().numpy() for w in model.effective_weights().values()]
    with torch.no_grad():
        rates = model.double()(_first_batch(task, encoder, config))[0].numpy()
    expected = (sum(0.3 * np.abs(w).mean() + 2.0 * (w**2).mean() for w in weights)
                + 0.5 * np.abs(rates).mean() + 4.0 * (rates**2).mean())
    assert penalized - plain == pytest.approx(expected, rel=1e-5)


def test_weight_penalties_of_other_architectures_cover_every_weight_matrix():
    task, encoder, config = tiny_task(), tiny_encoder(), tiny_config()
    model = LSTM(5, 3, n_units=4, seed=0)
    penalized = _first_loss(task, model, replace(config, l2_weights=3.0), encoder)
    matrices = [p.detach().double().numpy() for p in model.parameters() if p.ndim >= 2]
    assert len(matrices) == 3  # weight_ih_l0, weight_hh_l0, readout
    expected = 3.0 * sum((w**2).mean() for w in matrices)
    assert penalized - _first_loss(task, model, config, encoder) == pytest.approx(expected, rel=1e-5)


def test_rate_penalties_of_a_stacked_gru_ensemble_equal_the_solo_runs():
    tasks, seeds = [tiny_task(3), tiny_task(2)], [1, 2]
    models = [GRU(5, n, n_units=4, seed=k) for k, n in enumerate((3, 2))]
    config = tiny_config(n_batches=6, l1_rates=0.5, l2_weights=1.0)
    ensemble = train_ensemble(tasks, models, config, seeds=seeds, encoders=[tiny_encoder()] * 2, progress=False)
    for k, member in enumerate(ensemble):
        solo = train(tasks[k], models[k], replace(config, seed=seeds[k]), encoder=tiny_encoder(), progress=False)
        np.testing.assert_allclose(member.history["loss"], solo.history["loss"], rtol=1e-5)


def test_without_penalties_nothing_is_computed(monkeypatch):
    def refuse(self, rates):
        raise AssertionError("penalties computed with every penalty at 0")

    monkeypatch.setattr(Engine, "penalties", refuse)
    train(tiny_task(), _constrained(), tiny_config(n_batches=3), encoder=tiny_encoder(), progress=False)
    train_ensemble(tiny_task(), [tiny_ctrnn(seed=0), tiny_ctrnn(seed=1)], tiny_config(n_batches=3),
                   encoders=[tiny_encoder()] * 2, progress=False)


def test_a_checkpoint_written_before_the_penalties_existed_resumes(tmp_path):
    task, model, config = tiny_task(), tiny_ctrnn(), tiny_config()
    full = train(task, model, config, encoder=tiny_encoder(), progress=False)

    def interrupt(batch, loss):
        if batch == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the checkpoint of batch 6 stays
        train(task, model, config, encoder=tiny_encoder(), out=tmp_path, progress=False, callback=interrupt)
    state = load_checkpoint(tmp_path)
    old = {key: value for key, value in json.loads(state["config"]).items() if "_weights" not in key
           and "_rates" not in key}
    save_checkpoint({**state, "config": json.dumps(old, sort_keys=True)}, tmp_path / "checkpoint.pt")
    resumed = train(task, model, config, out=tmp_path, resume=True, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.parameters(), full.model.parameters()))


def test_penalty_config_is_validated():
    assert TrainConfig(l2_rates=1e-3).penalized and not TrainConfig().penalized
    assert TrainConfig.from_dict({"lr": 1e-3}).l1_weights == 0.0
    with pytest.raises(ValueError, match=r"l1_weights must be >= 0.0; got -0.1"):
        TrainConfig(l1_weights=-0.1)
    with pytest.raises(ValueError, match="l2_rates must be a finite real number; got inf"):
        TrainConfig(l2_rates=float("inf"))
    with pytest.raises(TypeError, match="l2_weights must be a real number; got str '0.1'"):
        TrainConfig(l2_weights="0.1")
