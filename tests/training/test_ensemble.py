"""Ensembles of every architecture: each member follows its solo trajectory; resume, split, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import xarray as xr

from neurodis.models import CTRNN, make_model
from neurodis.training import (
    StackedModel,
    TrainedNetwork,
    load_checkpoint,
    split_ensemble,
    train,
    train_ensemble,
)
from tests.training.conftest import (
    comparable,
    same_weights,
    tiny_config,
    tiny_ctrnn,
    tiny_encoder,
    tiny_task,
)

WIDTHS = (2, 4, 3)  # different numbers of tasks: outputs are padded to 4 and masked


def _members(**options):
    tasks = [tiny_task(n) for n in WIDTHS]
    models = [tiny_ctrnn(n, seed=10 + k, recurrent_noise=0.05, input_noise=0.02, **options)
              for k, n in enumerate(WIDTHS)]
    encoders = [tiny_encoder(k) for k in range(len(WIDTHS))]
    return tasks, models, encoders


@pytest.mark.parametrize(("arch", "n_batches"), [("ctrnn", 240), ("lstm", 40), ("gru", 40), ("transformer", 40)])
def test_each_member_follows_its_solo_run(arch, n_batches):
    # the solo runs of LSTMs, GRUs and transformers go through the models' own forwards
    # (nn.LSTM, nn.GRU, the transformer module), the ensemble through the stacked ones:
    # two implementations; CTRNNs run through the fused kernel both ways
    tasks, models, encoders = _members() if arch == "ctrnn" else _other_members(arch)
    config = tiny_config(n_batches=n_batches, log_every=20, checkpoint_every=n_batches, lr=3e-3, grad_clip=1.0)
    ensemble = train_ensemble(tasks, models, config, seeds=[7, 3, 5], encoders=encoders, progress=False)
    for k, seed in enumerate([7, 3, 5]):
        solo = train(tasks[k], models[k], replace(config, seed=seed), encoder=encoders[k], progress=False)
        for (name, a), b in zip(solo.model.named_parameters(), ensemble[k].model.parameters()):
            torch.testing.assert_close(comparable(name, b), comparable(name, a), rtol=1e-4, atol=1e-5,
                                       msg=f"{arch} member {k} {name}")
        np.testing.assert_allclose(ensemble[k].history["loss"], solo.history["loss"], rtol=1e-4)
        assert ensemble[k].history.sizes["output"] == WIDTHS[k]
    assert not same_weights(ensemble[0].model, models[0])


def test_members_with_different_tasks_may_share_a_seed():
    # a sweep trains N = 2, 4, 3 with the same seed in one ensemble: each is still its solo run
    tasks, models, encoders = _members()
    config = tiny_config(n_batches=60, log_every=20, checkpoint_every=60, lr=3e-3)
    ensemble = train_ensemble(tasks, models, config, seeds=[5, 5, 5], encoders=encoders, progress=False)
    for k in range(len(WIDTHS)):
        solo = train(tasks[k], models[k], replace(config, seed=5), encoder=encoders[k], progress=False)
        np.testing.assert_allclose(ensemble[k].history["loss"], solo.history["loss"], rtol=1e-4)
    with pytest.raises(ValueError, match=r"seeds must be distinct among members with equal tasks .*got \[5, 5\]"):
        train_ensemble([tasks[0], tasks[0]], models[:1] * 2, config, seeds=[5, 5], progress=False)


def _interrupted_and_split(tasks, models, encoders, config, tmp_path):
    """The uninterrupted ensemble, and member runs split from one stopped at batch 8 (checkpoint at 6)."""
    full = train_ensemble(tasks, models, config, encoders=encoders, progress=False)

    def interrupt(batch, losses):
        assert losses.shape == (len(models),)
        if batch == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_ensemble(tasks, models, config, encoders=encoders, out=tmp_path / "ens", progress=False,
                       callback=interrupt)
    return full, split_ensemble(tmp_path / "ens", out=tmp_path / "split")


def test_interrupted_ensemble_resumes_identically_and_splits_into_resumable_runs(tmp_path):
    tasks, models, encoders = _members()
    config = tiny_config()
    full, snapshots = _interrupted_and_split(tasks, models, encoders, config, tmp_path)
    assert [p.name for p in snapshots] == ["member_000", "member_001", "member_002"]
    assert load_checkpoint(snapshots[1])["batch"] == 6 and TrainedNetwork.load(snapshots[1]).model.n_outputs == 4
    solo = train(tasks[1], models[1], replace(config, seed=config.seed + 1), out=snapshots[1], resume=True,
                 progress=False)
    torch.testing.assert_close(solo.model.weight_hh, full[1].model.weight_hh, rtol=1e-5, atol=1e-6)

    resumed = train_ensemble(tasks, models, config, out=tmp_path / "ens", resume=True, progress=False)
    for mine, theirs in zip(resumed, full):
        a, b, ha, hb = mine.model, theirs.model, mine.history, theirs.history
        assert same_weights(a, b)
        xr.testing.assert_identical(ha.drop_vars("elapsed"), hb.drop_vars("elapsed"))
    assert [m.path.name for m in resumed] == ["member_000", "member_001", "member_002"]
    assert same_weights(TrainedNetwork.load(resumed[2].path).model, full[2].model)
    assert (tmp_path / "ens" / "ensemble.json").is_file()


def test_stacked_parameters_round_trip_members():
    models = [tiny_ctrnn(n, seed=k) for k, n in enumerate(WIDTHS)]
    stack = StackedModel(models)
    assert stack.n_members == 3 and tuple(stack.params["readout_weight"].shape) == (3, 4, 8)
    assert torch.equal(stack.params["readout_weight"][0, 2:], torch.zeros(2, 8))  # padding
    for k, model in enumerate(models):
        assert same_weights(stack.member(k), model)
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 2\]; got 3"):
        stack.member(3)


@pytest.mark.parametrize(
    ("models", "error", "match"),
    [
        ([], ValueError, r"models must hold at least one network"),
        ([torch.nn.Linear(2, 2)], TypeError,
         r"models\[0\] must be a neurodis model of one of \['ctrnn', 'gru', 'lstm', 'transformer'\]; got Linear"),
        ([CTRNN(5, 3, n_units=8), make_model("gru", n_inputs=5, n_outputs=3, n_units=8)], ValueError,
         r"models\[1\].arch must equal models\[0\]'s 'ctrnn'; got 'gru'"),
        ([CTRNN(5, 3, n_units=8), CTRNN(5, 3, n_units=6)], ValueError,
         r"models\[1\].config\['n_units'\] must equal models\[0\]'s 8 .*got 6"),
    ],
)
def test_stacking_refuses_unlike_members(models, error, match):
    with pytest.raises(error, match=match):
        StackedModel(models)


def test_bad_ensembles_are_refused(tmp_path):
    task, config = tiny_task(), tiny_config(n_batches=3, log_every=3, checkpoint_every=3)
    two = [tiny_ctrnn(seed=0), tiny_ctrnn(seed=1)]
    with pytest.raises(ValueError, match=r"seeds must be distinct .*got \[4, 4\]"):
        train_ensemble(task, two, config, seeds=[4, 4])
    with pytest.raises(ValueError, match=r"seeds must hold one seed per model \(2\); got 1"):
        train_ensemble(task, two, config, seeds=[4])
    with pytest.raises(ValueError, match=r"tasks must hold one entry per model \(2\); got 3"):
        train_ensemble([task] * 3, two, config)
    with pytest.raises(TypeError, match=r"tasks\[1\] must be Task; got str"):
        train_ensemble([task, "task"], two, config)
    with pytest.raises(TypeError, match=r"models must be a sequence of models; got CTRNN"):
        train_ensemble(task, two[0], config)
    with pytest.raises(ValueError, match=r"tasks\[1\] must have the inputs and steps of tasks\[0\]"):
        train_ensemble([task, tiny_task(timing={"stimulus": 300.0})], two, config, encoders=[tiny_encoder()] * 2)
    with pytest.raises(ValueError, match=r"encoders\[1\] must have the sizes and kind of encoders\[0\]"):
        wide = [tiny_ctrnn(), CTRNN(5, 3, n_units=8, seed=1)]
        train_ensemble(task, wide, config, encoders=[tiny_encoder(), replace_kind(tiny_encoder())])
    with pytest.raises(ValueError, match=r"models\[1\].n_outputs must equal the task's 3 outputs; got 2"):
        train_ensemble(task, [tiny_ctrnn(), tiny_ctrnn(2)], config, encoders=[tiny_encoder()] * 2)


def replace_kind(encoder):
    from neurodis.tasks import Encoder

    return Encoder(n_dims=encoder.n_dims, hidden=encoder.hidden, n_out=encoder.n_out, kind="quadratic")


def test_resume_and_split_refuse_mismatches(tmp_path):
    task, config = tiny_task(), tiny_config(n_batches=3, log_every=3, checkpoint_every=3)
    two = [tiny_ctrnn(seed=0), tiny_ctrnn(seed=1)]
    encoders = [tiny_encoder(0), tiny_encoder(1)]
    train_ensemble(task, two, config, encoders=encoders, out=tmp_path / "ens", progress=False)
    with pytest.raises(ValueError, match=r"cannot resume: seeds differ \(checkpoint \[1, 2\], now \[5, 6\]\)"):
        train_ensemble(task, two, config, seeds=[5, 6], out=tmp_path / "ens", resume=True, progress=False)
    with pytest.raises(ValueError, match=r"cannot resume: the encoders differ"):
        train_ensemble(task, two, config, encoders=encoders[::-1], out=tmp_path / "ens", resume=True)
    train(task, two[0], config, encoder=encoders[0], out=tmp_path / "solo", progress=False)
    with pytest.raises(ValueError, match=r"path must hold an ensemble checkpoint; got kind 'single'"):
        split_ensemble(tmp_path / "solo")


def _other_members(arch: str) -> tuple[list, list, list]:
    tasks = [tiny_task(n) for n in WIDTHS]
    options = {"dropout": 0.2, "n_heads": 2} if arch == "transformer" else {}
    models = [make_model(arch, n_inputs=5, n_outputs=n, n_units=8, seed=20 + k, input_noise=0.05, **options)
              for k, n in enumerate(WIDTHS)]
    return tasks, models, [tiny_encoder(k) for k in range(len(WIDTHS))]


def test_transformer_ensemble_splits_into_resumable_solo_runs(tmp_path):
    tasks, models, encoders = _other_members("transformer")
    config = tiny_config()
    full, snapshots = _interrupted_and_split(tasks, models, encoders, config, tmp_path)
    assert TrainedNetwork.load(snapshots[2]).model.arch == "transformer"
    solo = train(tasks[2], models[2], replace(config, seed=config.seed + 2), out=snapshots[2], resume=True,
                 progress=False)
    for (name, a), b in zip(solo.model.named_parameters(), full[2].model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)


def test_members_sharing_encoder_and_stimuli_are_encoded_once():
    # seeds 4, 4, 5 over N = 2, 4, 3: members 0 and 1 draw the same stimuli through the same encoder
    from neurodis.training._engine import DataStream, make_member

    tasks, encoders = [tiny_task(n) for n in WIDTHS], [tiny_encoder(4), tiny_encoder(4), tiny_encoder(5)]
    members = [make_member(t, e, s, "cpu") for t, e, s in zip(tasks, encoders, (4, 4, 5))]
    stream = DataStream(members, batch_size=6, n_outputs=4, device="cpu")
    for _ in range(2):
        batch = stream.next()
        for k, (raw, encoder) in enumerate(zip(batch.raw, encoders)):
            expected, _ = encoder.encode_inputs(raw.inputs, tasks[k].input_names)
            np.testing.assert_allclose(batch.inputs[k].numpy(), expected.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
    assert list(stream.encoder._stacks) == [(0, 2)]  # two encodings per batch for three members


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_a_members_loss_is_the_same_bits_in_any_ensemble(loss):
    # a member's loss must not depend on how far its outputs are padded nor on its neighbours:
    # 3 real outputs alone, then padded to 4 and to 7 among other members (time·batch = 63
    # terms per output exercise the vectorised sum)
    from neurodis.training._engine import Batch, masked_losses

    gen = torch.Generator().manual_seed(0)
    n_steps, n_batch, n_real = 7, 9, 3

    def stacked(member, width, n_members, slot):
        logits = torch.randn(n_members, n_steps, n_batch, width, generator=gen)
        targets = (torch.rand(n_members, n_steps, n_batch, width, generator=gen) > 0.5).float()
        mask = (torch.rand(n_members, n_steps, n_batch, width, generator=gen) > 0.3).float()
        logits[slot], targets[slot], mask[slot] = 0.0, 0.0, 0.0
        logits[slot, ..., :n_real], targets[slot, ..., :n_real], mask[slot, ..., :n_real] = member
        mask_sum = mask.sum(dim=(1, 2, 3))
        batch = Batch(logits, targets, mask, mask_sum, [], targets.numpy(), mask.numpy())
        return masked_losses(logits, batch, loss, torch.sigmoid)[slot]

    shape = (n_steps, n_batch, n_real)
    for _ in range(8):  # a flat sum's regrouping changes the last bit of a third to a half of the draws
        member = (torch.randn(shape, generator=gen), (torch.rand(shape, generator=gen) > 0.5).float(),
                  (torch.rand(shape, generator=gen) > 0.3).float())
        alone = stacked(member, n_real, 1, 0)
        assert torch.equal(stacked(member, 4, 2, 1), alone) and torch.equal(stacked(member, 7, 5, 3), alone)


def test_a_sub_ensemble_adopted_from_a_checkpoint_continues_its_members_exactly(tmp_path):
    # a sweep that regroups its runs resumes them from the larger ensemble's checkpoint
    from neurodis.training import adopt_members, select_members

    tasks, models, encoders = _members()
    config = tiny_config()
    full, _ = _interrupted_and_split(tasks, models, encoders, config, tmp_path)
    picked = [2, 0]
    sub = [tasks[k] for k in picked], [models[k] for k in picked], [encoders[k] for k in picked]
    seeds = [config.seed + k for k in picked]
    assert adopt_members(tmp_path / "ens" / "checkpoint.pt", *sub[:2], config, seeds=seeds, encoders=sub[2],
                         out=tmp_path / "sub")
    state = load_checkpoint(tmp_path / "sub")
    assert state["batch"] == 6 and tuple(state["weights"]["params.readout_weight"].shape) == (2, 3, 8)
    resumed = train_ensemble(*sub[:2], config, seeds=seeds, encoders=sub[2], out=tmp_path / "sub", resume=True,
                             progress=False)
    for member, k in zip(resumed, picked):
        assert same_weights(member.model, full[k].model)
    xr.testing.assert_identical(resumed[0].history.drop_vars("elapsed"), full[2].history.drop_vars("elapsed"))
    # a member the checkpoint does not hold, or another training config: nothing is adopted
    assert not adopt_members(tmp_path / "ens" / "checkpoint.pt", *sub[:2], config, seeds=[9, 9], encoders=sub[2],
                             out=tmp_path / "other")
    assert not adopt_members(tmp_path / "ens" / "checkpoint.pt", *sub[:2], replace(config, lr=0.5), seeds=seeds,
                             encoders=sub[2], out=tmp_path / "other")
    assert not (tmp_path / "other").exists()
    with pytest.raises(ValueError, match=r"indices must name distinct members; got \[1, 1\]"):
        select_members(state, [1, 1])


@pytest.mark.parametrize("arch", ["ctrnn", "lstm", "gru", "transformer"])
def test_a_member_trains_to_the_same_bits_in_any_ensemble(arch):
    # a sweep groups runs by worker count: a member's weights must not depend on the members
    # beside it, its slot, the ensemble size, nor how far its readout is padded (2 outputs
    # alone; padded to 4 in slot 0; to 3 in slot 2 of 3; to 4 in slot 9 of 10). That holds
    # where a member's tensors fill whole unrolled SIMD loops, 32 floats (16 units, 32 trials ×
    # 7 steps, as 64 units and 16 trials × 22 steps in every preset): the scalar tail of a
    # vectorised exp or tanh may round differently, and where it falls depends on the stacked
    # tensor's size.
    def model(n_outputs, seed):
        options = {"dropout": 0.2, "n_heads": 2} if arch == "transformer" else {}
        options = {"recurrent_noise": 0.05} if arch == "ctrnn" else {"input_noise": 0.05, **options}
        return make_model(arch, n_inputs=5, n_outputs=n_outputs, n_units=16, seed=seed, **options)

    config = tiny_config(n_batches=150, batch_size=32, log_every=50, checkpoint_every=150, lr=3e-3,
                         l2_weights=1e-3, l1_rates=1e-3)  # the penalties sum over padded readouts too
    others = [(3, 4), (4, 5), (3, 6), (4, 7), (3, 8), (4, 9), (3, 10), (4, 11), (3, 12)]  # (width, seed)

    def trained(members, slot):
        ensemble = train_ensemble([tiny_task(n) for n, _ in members], [model(n, s) for n, s in members], config,
                                  seeds=[s for _, s in members], encoders=[tiny_encoder(s) for _, s in members],
                                  progress=False)
        return ensemble[slot].model

    alone = trained([(2, 3)], 0)
    assert not same_weights(alone, model(2, 3))
    for members, slot in (([(2, 3), (4, 5)], 0), ([(3, 4), (3, 6), (2, 3)], 2), ([*others, (2, 3)], 9)):
        assert same_weights(trained(members, slot), alone), f"{arch}: slot {slot} of {len(members)}"
