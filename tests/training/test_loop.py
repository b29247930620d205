"""train(): the paper protocol against a plain reference loop, determinism, resume, failures."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import xarray as xr

from neurodis.models import CTRNN, make_model
from neurodis.tasks import ClassificationTask, Encoder, make_task
from neurodis.training import (
    TrainConfig,
    TrainedNetwork,
    default_encoder,
    load_checkpoint,
    train,
)
from tests.training.conftest import (
    SHORT,
    same_weights,
    tiny_config,
    tiny_ctrnn,
    tiny_encoder,
    tiny_task,
)


def reference_training(task, model, encoder, config, loss_kind):
    """The protocol written out plainly: per-batch draws, the model's own forward, stock Adam."""
    data, noise, _ = np.random.SeedSequence(config.seed).spawn(3)
    rng = np.random.Generator(np.random.PCG64(data))
    generator = torch.Generator().manual_seed(int(noise.generate_state(1, np.uint64)[0]))
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    # torch's own cosine schedule: lr at the first batch, lr_end at the last
    schedule = (None if config.lr_end is None else
                torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.n_batches - 1, eta_min=config.lr_end))
    for _ in range(config.n_batches):
        batch = task.sample_arrays(config.batch_size, rng)
        inputs, _ = encoder.encode_inputs(batch.inputs, task.input_names)
        targets, mask = torch.tensor(batch.targets, dtype=torch.float32), torch.tensor(batch.loss_mask, dtype=torch.float32)
        _, logits = model(torch.tensor(inputs, dtype=torch.float32), generator=generator)
        if loss_kind == "bce":
            loss = F.binary_cross_entropy_with_logits(logits, targets, weight=mask, reduction="sum") / mask.sum()
        else:
            loss = (mask * (model.readout.activate(logits) - targets) ** 2).sum() / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        if config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
    return model


@pytest.mark.parametrize(
    ("task_name", "readout", "clip", "lr_end"),
    [("classification", "sigmoid", None, None), ("classification", "sigmoid", 0.05, None),
     ("accumulation", "tanh", None, None), ("classification", "sigmoid", None, 1e-4)],
)
def test_train_equals_the_plain_reference_loop(task_name, readout, clip, lr_end):
    task = make_task(task_name, n_tasks=3, timing={**SHORT, **({"fixation": 0.0, "decision": 0.0}
                                                              if task_name == "accumulation" else {})})
    encoder = tiny_encoder()
    n_inputs = encoder.n_inputs_after(len(task.input_names))
    model = CTRNN(n_inputs, 3, n_units=8, readout=readout, dt=50.0, recurrent_noise=0.1, input_noise=0.05)
    config = tiny_config(grad_clip=clip, lr=1e-2, lr_end=lr_end)
    result = train(task, model, config, encoder=encoder, progress=False)
    expected = reference_training(task, model, encoder, config, "bce" if readout == "sigmoid" else "mse")
    for (name, got), want in zip(result.model.named_parameters(), expected.parameters()):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5, msg=name)
    assert not same_weights(result.model, model)  # it did train


def test_same_seed_same_run_other_seed_other_run_and_input_untouched():
    model = tiny_ctrnn(recurrent_noise=0.1)
    before = copy.deepcopy(model)
    a = train(tiny_task(), model, tiny_config(), encoder=tiny_encoder(), progress=False)
    b = train(tiny_task(), model, tiny_config(), encoder=tiny_encoder(), progress=False)
    c = train(tiny_task(), model, tiny_config(seed=2), encoder=tiny_encoder(), progress=False)
    assert same_weights(a.model, b.model) and not same_weights(a.model, c.model)
    xr.testing.assert_identical(a.history.drop_vars("elapsed"), b.history.drop_vars("elapsed"))
    assert same_weights(model, before)


def test_history_rows_average_the_losses_of_their_window():
    losses = []
    result = train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), progress=False,
                   callback=lambda batch, loss: losses.append(loss))
    history = result.history
    assert history["batch"].values.tolist() == [3, 6, 9, 12]
    np.testing.assert_allclose(history["loss"].values, np.reshape(losses, (4, 3)).mean(axis=1), rtol=1e-12)
    assert history["task_accuracy"].dims == ("batch", "output")
    assert np.all((history["ideal_accuracy"] > 0.5) & (history["ideal_accuracy"] <= 1))
    assert np.all(np.isfinite(history["relative_accuracy"]))
    assert json.loads(history.attrs["train_config"])["seed"] == 1 and history.attrs["arch"] == "ctrnn"


@pytest.mark.parametrize("lr_end", [None, 1e-4])
def test_resume_after_an_interruption_ends_identical(tmp_path, lr_end):
    task, model, config = tiny_task(), tiny_ctrnn(recurrent_noise=0.1), tiny_config(lr_end=lr_end)
    full = train(task, model, config, encoder=tiny_encoder(), progress=False)

    def interrupt(batch, loss):
        if batch == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(task, model, config, encoder=tiny_encoder(), out=tmp_path, progress=False, callback=interrupt)
    assert load_checkpoint(tmp_path)["batch"] == 6
    resumed = train(task, model, config, out=tmp_path, resume=True, progress=False)  # encoder from the checkpoint
    assert same_weights(resumed.model, full.model)
    xr.testing.assert_identical(resumed.history.drop_vars("elapsed"), full.history.drop_vars("elapsed"))
    again = train(task, model, config, out=tmp_path, resume=True, progress=False)  # finished: nothing to do
    assert same_weights(again.model, full.model)


def test_a_decaying_learning_rate_changes_training_and_lr_end_equal_to_lr_changes_nothing():
    task, model = tiny_task(), tiny_ctrnn()
    constant = train(task, model, tiny_config(lr=1e-2), encoder=tiny_encoder(), progress=False)
    flat = train(task, model, tiny_config(lr=1e-2, lr_end=1e-2), encoder=tiny_encoder(), progress=False)
    decayed = train(task, model, tiny_config(lr=1e-2, lr_end=1e-4), encoder=tiny_encoder(), progress=False)
    assert same_weights(flat.model, constant.model)
    assert not same_weights(decayed.model, constant.model)


def test_run_folder_loads_back(tmp_path):
    result = train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), out=tmp_path, progress=False)
    assert sorted(result.paths) == ["checkpoint", "config", "encoder", "history", "model"]
    loaded = TrainedNetwork.load(tmp_path)
    assert same_weights(loaded.model, result.model) and loaded.encoder == result.encoder
    assert loaded.config == result.config and loaded.task.config() == result.task.config()
    xr.testing.assert_identical(loaded.history, result.history)
    assert json.loads((tmp_path / "config.json").read_text())["batches_done"] == 12
    with pytest.raises(FileNotFoundError, match=r"path must be a run folder holding config.json"):
        TrainedNetwork.load(tmp_path / "model" / "missing")


def test_resume_refuses_anything_different(tmp_path):
    task, model = tiny_task(), tiny_ctrnn()
    train(task, model, tiny_config(n_batches=6), encoder=tiny_encoder(), out=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match=r"already holds a checkpoint; pass resume=True"):
        train(task, model, tiny_config(n_batches=6), out=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"config differs .* in lr \(checkpoint 0.001, now 0.01\), "
                                         r"n_batches \(checkpoint 6, now 12\)"):
        train(task, model, tiny_config(lr=1e-2), out=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"task differs .* in n_tasks"):
        train(tiny_task(4), tiny_ctrnn(4), tiny_config(n_batches=6), out=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"model differs .* in config"):
        train(task, tiny_ctrnn(seed=5), tiny_config(n_batches=6), out=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"encoder differs from the checkpoint's"):
        train(task, model, tiny_config(n_batches=6), encoder=tiny_encoder(9), out=tmp_path, resume=True,
              progress=False)
    with pytest.raises(ValueError, match=r"resume=True needs out="):
        train(task, model, tiny_config(), resume=True, progress=False)
    with pytest.raises(TypeError, match=r"resume must be a bool; got str"):
        train(task, model, tiny_config(), out=tmp_path, resume="yes", progress=False)


@dataclass(frozen=True, kw_only=True)
class PoisonedTask(ClassificationTask):
    """Classification whose ``poison_at``-th batch has NaN targets (the loss becomes NaN)."""

    poison_at: int = 9
    calls: list = field(default_factory=list, compare=False)

    def sample_arrays(self, n_trials, rng):
        batch = super().sample_arrays(n_trials, rng)
        self.calls.append(1)
        if len(self.calls) == self.poison_at:
            batch.targets[:] = np.nan
        return batch


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    task = PoisonedTask(n_tasks=3, timing=SHORT)
    with pytest.raises(FloatingPointError, match=r"training loss became nan at batch 9 \(member 0\); training "
                                                 r"stopped before the update, and the last checkpoint"):
        train(task, tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), out=tmp_path, progress=False)
    state = load_checkpoint(tmp_path)
    assert state["batch"] == 6
    assert all(torch.isfinite(t).all() for t in state["weights"].values())


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (CTRNN(3, 3, n_units=4), r"model.n_inputs must equal the task's network inputs 5 \(1 pass-through \+ 4 encoded\); got 3"),
        (CTRNN(5, 2, n_units=4), r"model.n_outputs must equal the task's 3 outputs; got 2"),
        (CTRNN(5, 3, n_units=4, readout="tanh"), r"loss='bce' needs a sigmoid readout"),
    ],
)
def test_models_that_do_not_fit_are_refused(model, match):
    with pytest.raises(ValueError, match=match):
        train(tiny_task(), model, tiny_config(loss="bce"), encoder=tiny_encoder(), progress=False)


def test_an_encoder_for_other_stimuli_is_refused():
    with pytest.raises(ValueError, match=r"encoder.n_dims must equal the task's 2 stimulus channels; got 3"):
        train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=Encoder(n_dims=3, hidden=(6,), n_out=4))


def test_bad_types_and_missing_cuda_are_refused(monkeypatch):
    task, model, config = tiny_task(), tiny_ctrnn(), tiny_config()
    with pytest.raises(TypeError, match=r"task must be a neurodis Task; got str"):
        train("classification", model, config)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"model must be a neurodis model"):
        train(task, "ctrnn", config)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"config must be a TrainConfig; got dict"):
        train(task, model, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"encoder must be a neurodis Encoder or None"):
        train(task, model, config, encoder="relu")  # type: ignore[arg-type]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda' needs a CUDA GPU"):
        train(task, model, tiny_config(device="cuda"))


def test_default_encoder_is_drawn_from_the_seed_and_can_be_switched_off():
    task = tiny_task()
    assert default_encoder(task, TrainConfig(seed=4)) == default_encoder(task, TrainConfig(seed=4))
    assert default_encoder(task, TrainConfig(seed=4)) != default_encoder(task, TrainConfig(seed=5))
    assert default_encoder(task, TrainConfig(encoder="quadratic")).kind == "quadratic"
    assert default_encoder(task, TrainConfig(encoder="none")) is None
    result = train(task, CTRNN(3, 3, n_units=4), tiny_config(encoder="none", n_batches=3), progress=False)
    assert result.encoder is None
    paper = train(task, CTRNN(41, 3, n_units=4), tiny_config(n_batches=3), progress=True)
    assert paper.encoder == default_encoder(task, tiny_config())


@pytest.mark.parametrize("arch", ["lstm", "gru", "transformer"])
def test_other_architectures_train_through_their_own_forward(arch):
    options = {"n_heads": 2} if arch == "transformer" else {}
    model = make_model(arch, n_inputs=5, n_outputs=3, n_units=8, **options)
    a = train(tiny_task(), model, tiny_config(n_batches=6), encoder=tiny_encoder(), progress=False)
    b = train(tiny_task(), model, tiny_config(n_batches=6), encoder=tiny_encoder(), progress=False)
    assert same_weights(a.model, b.model) and not same_weights(a.model, model)
    assert np.all(np.isfinite(a.history["loss"]))


@pytest.mark.parametrize("mask", ["paper", "decision"])
def test_first_loss_is_the_masked_bce_of_the_initial_network(mask):
    """Batch 1's loss uses the initial weights: compare with the BCE written per mask."""
    task, model, encoder = tiny_task(loss_mask=mask), tiny_ctrnn(), tiny_encoder()
    result = train(task, model, tiny_config(n_batches=1, log_every=1, checkpoint_every=1), encoder=encoder,
                   progress=False)
    data = np.random.SeedSequence(1).spawn(3)[0]
    batch = task.sample_arrays(4, np.random.Generator(np.random.PCG64(data)))
    inputs, _ = encoder.encode_inputs(batch.inputs, task.input_names)
    with torch.no_grad():
        _, logits = model(torch.tensor(inputs, dtype=torch.float32))
    targets = torch.tensor(batch.targets, dtype=torch.float32)
    if mask == "decision":  # only the decision step, every output
        expected = F.binary_cross_entropy_with_logits(logits[:, -1], targets[:, -1])
    else:  # every step, the 0.5 targets included
        expected = F.binary_cross_entropy_with_logits(logits, targets)
    assert float(result.history["loss"][0]) == pytest.approx(float(expected), rel=1e-5)
