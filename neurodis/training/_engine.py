"""The training loop shared by single networks and ensembles.

K members (K = 1 for a single network) are trained as one batched model: each member
has its own task, encoder, data stream (numpy Generator) and noise stream (torch
Generator); their batches are stacked along a leading member axis, time-major inside
(``(K, time, batch, ·)``); the loss is the sum over members of each member's masked
mean loss, so no gradient mixes members; Adam is elementwise, so each member's update
equals the update it would get alone.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurodis._validation import check_type
from neurodis.tasks.base import Task, TrialBatch
from neurodis.tasks.encoders import Encoder
from neurodis.training._adam import step_adam
from neurodis.training._kernels import ctrnn_logits
from neurodis.training._stacked import stacked_name
from neurodis.training.checkpoint import restore_generators, snapshot_generators
from neurodis.training.config import TrainConfig
from neurodis.training.history import History

__all__ = ["CTRNN_PARAMETERS", "Engine", "Member", "adam_step", "make_member"]

#: CTRNN parameter name -> name in the stacked kernel
CTRNN_PARAMETERS = {"weight_ih": "weight_ih", "weight_hh": "weight_hh", "bias": "bias",
                    "readout.linear.weight": "readout_weight", "readout.linear.bias": "readout_bias"}


@dataclass
class Member:
    """One network's task, encoder and random streams."""

    task: Task
    encoder: Encoder | None
    seed: int
    rng: np.random.Generator
    generator: torch.Generator
    stimulus: list[int] = field(init=False)
    passthrough: list[int] = field(init=False)

    def __post_init__(self) -> None:
        names = self.task.input_names
        self.stimulus = [i for i, name in enumerate(names) if name.startswith("stimulus")]
        self.passthrough = [i for i, name in enumerate(names) if not name.startswith("stimulus")]

    @property
    def n_inputs(self) -> int:
        """Network inputs after encoding."""
        if self.encoder is None:
            return len(self.task.input_names)
        return len(self.passthrough) + self.encoder.n_out

    @property
    def decision_index(self) -> int:
        """Time index scored as the decision: the task timing's, else the last step (-1)."""
        timing = getattr(self.task, "timing", None)
        return timing.decision_index if timing is not None else -1


def make_member(task: Task, encoder: Encoder | None, seed: int, device: str) -> Member:
    """A member whose streams are children of ``SeedSequence(seed)`` (data, noise)."""
    data, noise, _ = np.random.SeedSequence(seed).spawn(3)
    generator = torch.Generator(device=device)
    generator.manual_seed(int(noise.generate_state(1, np.uint64)[0]))
    return Member(task, encoder, seed, np.random.Generator(np.random.PCG64(data)), generator)


def encoder_seed(seed: int) -> int:
    """Seed of the encoder the trainer draws for run seed ``seed`` (third child stream)."""
    return int(np.random.SeedSequence(seed).spawn(3)[2].generate_state(1)[0])


class _StackedEncoder:
    """The members' frozen encoders as stacked float32 tensors, applied with bmm.

    Feature-major: a hidden layer maps ``(K, fan_in, samples)`` to ``(K, fan_out,
    samples)`` as ``W h + b``, whose gemms (long rows of samples) run faster here than
    the sample-major ``h Wᵀ``. The last layer is sample-major, ``hᵀ Wᵀ + b``: its
    ``(K, samples, encoded)`` result is the layout of the network inputs, so it is
    copied into them once, without a transpose (the same products, bit for bit).
    """

    def __init__(self, encoders: Sequence[Encoder], device: str) -> None:
        self.kind = encoders[0].kind
        n_layers = len(encoders[0].weights)
        self.weights = [torch.stack([torch.tensor(e.weights[layer], dtype=torch.float32) for e in encoders]).to(device)
                        for layer in range(n_layers)]
        self.biases = [torch.stack([torch.tensor(e.biases[layer], dtype=torch.float32) for e in encoders])
                       .unsqueeze(2).to(device) for layer in range(n_layers)]

    def __call__(self, stimulus_kxdxm: torch.Tensor) -> torch.Tensor:
        """``(K, stimulus, samples)`` in, ``(K, samples, encoded)`` out."""
        h_kxhxm = stimulus_kxdxm
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h_kxhxm = torch.baddbmm(b, w, h_kxhxm)
            h_kxhxm = h_kxhxm.relu_() if self.kind == "relu" else h_kxhxm.square_()
        return torch.baddbmm(self.biases[-1].transpose(1, 2), h_kxhxm.transpose(1, 2), self.weights[-1].transpose(1, 2))


class _SharedEncoding:
    """Encode each distinct (encoder, stimulus) pair of the members once.

    Members with equal seeds share their encoder and, when their tasks draw the same
    stimuli (a sweep over the number of tasks does), their whole encoded input: a
    ``fig3`` ensemble of 13 networks over 5 seeds needs 5 encodings per batch, not 13.
    Members whose stimuli differ in a batch are encoded on their own, so the result is
    always each member's own encoding.
    """

    def __init__(self, encoders: Sequence[Encoder], device: str) -> None:
        self.encoders, self.device, self.n_out = list(encoders), device, encoders[0].n_out
        # the first member with an equal encoder: a candidate to share with
        self.leader = [next(j for j in range(k + 1) if encoders[j] == encoders[k]) for k in range(len(encoders))]
        # per pattern of distinct members: their stacked encoder and each member's row in it
        self._stacks: dict[tuple[int, ...], tuple[_StackedEncoder, torch.Tensor]] = {}

    def __call__(self, stimulus_kxdxm: np.ndarray, out_kxmxe: torch.Tensor) -> None:
        """``(K, stimulus, samples)`` float32 in; each member's ``(samples, encoded)`` into ``out``."""
        source = [j if j != k and np.array_equal(stimulus_kxdxm[j], stimulus_kxdxm[k]) else k
                  for k, j in enumerate(self.leader)]
        distinct = tuple(sorted(set(source)))
        if distinct not in self._stacks:
            position = {j: i for i, j in enumerate(distinct)}
            rows = torch.tensor([position[j] for j in source], device=self.device)
            self._stacks[distinct] = _StackedEncoder([self.encoders[j] for j in distinct], self.device), rows
        stack, rows = self._stacks[distinct]
        encoded = stack(torch.from_numpy(stimulus_kxdxm[list(distinct)]).to(self.device))
        if len(distinct) == len(source):
            out_kxmxe.copy_(encoded)
        else:  # each member's rows of the distinct encodings, gathered straight into place
            torch.index_select(encoded, 0, rows, out=out_kxmxe)


@dataclass
class Batch:
    """One stacked batch: tensors ``(K, time, batch, ·)`` plus the raw per-member arrays."""

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    mask_sum: torch.Tensor
    raw: list[TrialBatch]
    targets_np: np.ndarray
    mask_np: np.ndarray


class DataStream:
    """Draws each member's batch from its own stream and stacks them.

    The stimulus channels go through each member's encoder in torch (float32, one
    batched matmul per layer for all members) rather than ``Encoder.encode_inputs``:
    the same function of the same weights (the tests check it against
    ``encode_inputs``), but numpy's small multi-threaded BLAS calls cost 5-50× more per
    batch on a busy machine, and a loop over members would not batch.
    """

    def __init__(self, members: Sequence[Member], batch_size: int, n_outputs: int, device: str) -> None:
        self.members, self.batch_size, self.n_outputs, self.device = members, batch_size, n_outputs, device
        encoders = [m.encoder for m in members]
        self.encoder = None if encoders[0] is None else _SharedEncoding(encoders, device)
        first = members[0]
        # raw channels that reach the network unchanged: all of them without an encoder
        self.passthrough = first.passthrough if self.encoder is not None else list(range(len(first.task.input_names)))

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(array)
        return tensor if self.device == "cpu" else tensor.to(self.device, non_blocking=True)

    def next(self) -> Batch:
        raw = [m.task.sample_arrays(self.batch_size, m.rng) for m in self.members]
        n_members, (n_batch, n_steps, _) = len(raw), raw[0].inputs.shape
        shape = (n_members, n_steps, n_batch)
        # one stacked, time-major, float32 copy of each array (outputs zero-padded)
        inputs = np.stack([b.inputs for b in raw]).transpose(0, 2, 1, 3)
        direct = np.ascontiguousarray(inputs[..., self.passthrough], dtype=np.float32)
        widths = [b.targets.shape[2] for b in raw]
        if min(widths) == self.n_outputs:
            targets = np.ascontiguousarray(np.stack([b.targets for b in raw]).transpose(0, 2, 1, 3), dtype=np.float32)
            mask = np.ascontiguousarray(np.stack([b.loss_mask for b in raw]).transpose(0, 2, 1, 3), dtype=np.float32)
        else:
            targets = np.zeros((*shape, self.n_outputs), dtype=np.float32)
            mask = np.zeros_like(targets)
            for k, (batch, n_out) in enumerate(zip(raw, widths)):
                targets[k, :, :, :n_out] = batch.targets.transpose(1, 0, 2)
                mask[k, :, :, :n_out] = batch.loss_mask.transpose(1, 0, 2)
        if self.encoder is None:
            features = self._tensor(direct)
        else:  # (K, stimulus, time·batch) in, encoded into the features after the pass-through channels
            n_direct = direct.shape[-1]
            features = torch.empty((*shape, n_direct + self.encoder.n_out), dtype=torch.float32, device=self.device)
            features[..., :n_direct] = self._tensor(direct)
            stimulus = np.ascontiguousarray(inputs.transpose(0, 3, 1, 2)[:, self.members[0].stimulus],
                                            dtype=np.float32)
            self.encoder(stimulus.reshape(n_members, len(self.members[0].stimulus), -1),
                         features.view(n_members, -1, features.shape[-1])[..., n_direct:])
        mask_sum = mask.sum(axis=(1, 2, 3), dtype=np.float64).astype(np.float32)
        return Batch(features, self._tensor(targets), self._tensor(mask), self._tensor(mask_sum), raw, targets, mask)


class CTRNNNetwork:
    """Logits of K CTRNNs through the fused kernel; noise drawn per member as the model would.

    ``constrain`` maps the stacked parameters to the members' effective weights (Dale
    signs, masks; see :func:`~neurodis.models.ctrnn.stacked_constraint`); by default the
    template's own ``constrain`` when it is constrained. The kernel runs the result.
    """

    def __init__(self, params: Callable[[], dict[str, torch.Tensor]], template: nn.Module,
                 constrain: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None) -> None:
        self.params, self.template = params, template
        self.constrain = constrain if constrain is not None or not template.constrained else template.constrain
        self.alpha = float(template.alpha)
        self.scale = math.sqrt(2.0 / self.alpha)

    def _weights(self) -> dict[str, torch.Tensor]:
        params = self.params()
        return params if self.constrain is None else self.constrain(params)

    def weights(self) -> dict[str, torch.Tensor]:
        """The members' (effective) weight matrices, stacked ``(K, ·, ·)``, for weight penalties."""
        params = self._weights()
        return {name: params[name] for name in ("weight_ih", "weight_hh", "readout_weight")}

    def __call__(self, inputs_kxtxbxi: torch.Tensor, generators: Sequence[torch.Generator], *,
                 rates: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(K, time, batch, output)``; with ``rates``, ``(rates (K, time, batch, unit), logits)``."""
        t = self.template
        _, n_steps, n_batch, n_inputs = inputs_kxtxbxi.shape
        # the model's convention: ζ (batch, time, input) first, then ξ (batch, time, unit)
        draws: dict[str, list[torch.Tensor]] = {"input": [], "recurrent": []}
        for g in generators:
            for name, level, width in (("input", t.input_noise, n_inputs), ("recurrent", t.recurrent_noise, t.n_units)):
                if level > 0:
                    draws[name].append(torch.randn((n_batch, n_steps, width), generator=g,
                                                   dtype=inputs_kxtxbxi.dtype, device=g.device))
        noise = {name: (self.scale * level) * torch.stack(values).to(inputs_kxtxbxi.device).transpose(1, 2)
                 for (name, values), level in zip(draws.items(), (t.input_noise, t.recurrent_noise)) if values}
        options = {"alpha": self.alpha, "leaky": t.leaky, "activation": t.activation,
                   "input_noise_kxtxbxi": noise.get("input"), "recurrent_noise_kxtxbxn": noise.get("recurrent")}
        return ctrnn_logits(self._weights(), inputs_kxtxbxi, return_rates=rates, **options)


class ModelNetwork:
    """Logits of one model of any architecture through its own forward."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def weights(self) -> dict[str, torch.Tensor]:
        """The model's weight matrices (parameters of two or more dims), as a stack of one."""
        return {stacked_name(name): p.unsqueeze(0) for name, p in self.model.named_parameters() if p.ndim >= 2}

    def __call__(self, inputs_kxtxbxi: torch.Tensor, generators: Sequence[torch.Generator], *,
                 rates: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(1, time, batch, output)``; with ``rates``, ``(rates (1, batch, time, unit), logits)``."""
        rates_bxtxn, logits_bxtxo = self.model(inputs_kxtxbxi[0].transpose(0, 1), generator=generators[0])
        logits = logits_bxtxo.transpose(0, 1).unsqueeze(0)
        return (rates_bxtxn.unsqueeze(0), logits) if rates else logits


def masked_losses(logits_kxtxbxo: torch.Tensor, batch: Batch, loss: str,
                  activate: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Each member's masked mean loss, shape (K,): BCE on logits or MSE on outputs.

    A member's loss is the same bits whatever the other members are. Its padded
    outputs add exact zeros, but torch's CPU sum groups a row's terms by the row's
    length (SIMD lanes, 4-way partial sums), so a flat sum over ``(time, batch,
    output)`` gave a member padded to 4 outputs in one ensemble and to 3 in another
    losses an ulp apart. Here each ``(member, output)`` row of ``time·batch`` terms is
    summed alone (a contiguous row of a fixed length; torch splits a row between
    threads only when it is the sole row, K = 1 with one output), then ``cumsum``
    adds the outputs in order (sequentially, in float64 on the CPU), where trailing
    zeros change nothing. Every term's gradient is still ``1 / mask_sum``.
    """
    if loss == "bce":
        elements = F.binary_cross_entropy_with_logits(logits_kxtxbxo, batch.targets, weight=batch.mask,
                                                      reduction="none")
    else:
        elements = batch.mask * (activate(logits_kxtxbxo) - batch.targets) ** 2
    n_members, _, _, n_outputs = elements.shape
    # reshape alone would give a view of rows strided by the padded width: copy them contiguous
    rows_kxoxm = elements.permute(0, 3, 1, 2).contiguous().view(n_members, n_outputs, -1)
    return _member_sums(rows_kxoxm) / batch.mask_sum


def _member_sums(rows_kxrxm: torch.Tensor) -> torch.Tensor:
    """Each member's sum, shape (K,), whatever zero rows pad it: every contiguous row of
    ``m`` terms summed alone, then the rows added in order (see :func:`masked_losses`)."""
    return rows_kxrxm.sum(dim=2).cumsum(dim=1)[:, -1]


#: Adam's kernel options (see ``Engine.__init__``).
_ADAM_KERNEL = {"fused": None, "foreach": False}

#: the smallest positive float32, a subnormal: its product with 1 is zero while the thread flushes subnormals
_SUBNORMAL = np.float32(np.finfo(np.float32).smallest_subnormal)


def adam_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()`` with subnormal floats flushed to zero on this CPU thread.

    The step is :func:`~neurodis.training._adam.step_adam`: torch's single-tensor
    update bit for bit, in three passes over memory rather than seven (about 5 % of a
    CTRNN or transformer ensemble's batch, 3 % of an LSTM's).

    Adam's moments of a weight whose gradient stays zero (into or out of a ReLU unit
    that has stopped firing) decay into the subnormal range and stay there: 0.9 times the
    smallest subnormal rounds back to it. At the end of the fig3 CTRNN runs about half of
    the moments are subnormal, and x86 arithmetic on subnormals is slow: the step of a
    25-member ensemble took 3.3 ms instead of 0.9 (its whole batch: about 16 ms).
    Flushed, those moments become zero; the updates they stood for (about 1e-40) lie far
    below the weights' rounding, so the whole fig3 preset trained to the same results bit
    for bit. The thread's previous mode is restored after the step. Only the calling
    thread flushes: with several torch threads, the others keep their mode.

    Examples
    --------
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = torch.optim.Adam([w], lr=0.1)
    >>> w.grad = torch.ones(3)
    >>> adam_step(opt)
    >>> w.detach()
    tensor([0.9000, 0.9000, 0.9000])
    """
    flushing = bool(_SUBNORMAL * np.float32(1.0) == 0)
    torch.set_flush_denormal(True)
    try:
        step_adam(optimizer)
    finally:
        torch.set_flush_denormal(flushing)


class Engine:
    """Adam on K stacked members, with history, checkpoints and resume.

    ``network(inputs, generators)`` gives the members' logits; with penalties on
    (``config.penalized``) it must also accept ``rates=True`` (then returning
    ``(rates, logits)``, rates with the member axis first) and have ``weights()``
    (the weight matrices stacked ``(K, ·, ·)``, readouts padded to ``n_outputs`` rows).
    """

    def __init__(self, members: Sequence[Member], network: Callable, module: nn.Module, config: TrainConfig,
                 *, loss: str, activate: Callable[[torch.Tensor], torch.Tensor], n_outputs: int) -> None:
        self.members, self.network, self.module, self.config = list(members), network, module, config
        self.loss, self.activate, self.n_outputs = loss, activate, n_outputs
        # each member's own readout width: the mean of a padded readout is over its real rows
        self._widths = torch.tensor([float(len(m.task.output_names)) for m in self.members], device=config.device)
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        # the single-tensor kernel: its vectorised body and its scalar tail round alike, so a
        # member's update does not depend on where its elements fall in a stacked tensor (the
        # fused kernel's tail does, which made members train differently by ensemble size,
        # position and padded width); it costs about 2 % of a CTRNN or transformer batch
        self.optimizer = torch.optim.Adam(self.parameters, lr=config.lr, **_ADAM_KERNEL)
        self.data = DataStream(self.members, config.batch_size, n_outputs, config.device)
        self.history = History(len(self.members), n_outputs)
        self.decision = [m.decision_index for m in self.members]
        self._recent: deque[tuple[list[TrialBatch], np.ndarray, np.ndarray, np.ndarray]] = deque(
            maxlen=max(1, math.ceil(config.ideal_trials / config.batch_size)))
        self.batch, self.elapsed = 0, 0.0

    # -- one batch -----------------------------------------------------------------------

    def step(self) -> np.ndarray:
        """One Adam step of every member; returns their losses."""
        batch = self.data.next()
        generators = [m.generator for m in self.members]
        if self.config.l1_rates or self.config.l2_rates:
            rates, logits = self.network(batch.inputs, generators, rates=True)
            losses = masked_losses(logits, batch, self.loss, self.activate) + self.penalties(rates)
        else:
            logits = self.network(batch.inputs, generators)
            losses = masked_losses(logits, batch, self.loss, self.activate)
            if self.config.penalized:
                losses = losses + self.penalties(None)
        losses_k = losses.detach().cpu().numpy().astype(np.float64)
        if not np.all(np.isfinite(losses_k)):
            bad = [i for i in range(len(losses_k)) if not np.isfinite(losses_k[i])]
            raise FloatingPointError(
                f"training loss became {losses_k[bad[0]]} at batch {self.batch + 1} "
                f"(member{'s' if len(bad) > 1 else ''} {', '.join(map(str, bad))}); training stopped before the "
                "update, and the last checkpoint written (if any) is kept. Lower lr or set grad_clip."
            )
        for p in self.parameters:  # what zero_grad(set_to_none=True) does, without its overhead
            p.grad = None
        losses.sum().backward()
        if self.config.grad_clip is not None:
            self._clip(self.config.grad_clip)
        if self.config.lr_end is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr_at(self.batch)
        adam_step(self.optimizer)
        self.batch += 1
        self._score(logits.detach(), batch, losses_k)
        return losses_k

    def penalties(self, rates: torch.Tensor | None) -> torch.Tensor:
        """Each member's weight and rate penalties, shape (K,) (see :class:`TrainConfig`).

        ``rates`` has the member axis first (any layout after it); ``None`` skips the
        rate penalties.
        """
        config, k = self.config, len(self.members)
        total = torch.zeros(k, device=self._widths.device)
        if config.l1_weights or config.l2_weights:
            for name, weight in self.network.weights().items():
                rows_kxrxn = weight.reshape(k, -1, weight.shape[-1])
                count = (self._widths * weight.shape[-1] if name == "readout_weight"
                         else torch.full_like(self._widths, float(rows_kxrxn[0].numel())))
                # a padded readout's zero rows change no bit
                if config.l1_weights:
                    total = total + config.l1_weights * _member_sums(rows_kxrxn.abs()) / count
                if config.l2_weights:
                    total = total + config.l2_weights * _member_sums(rows_kxrxn * rows_kxrxn) / count
        if rates is not None:
            flat_kxm = rates.reshape(k, -1)
            if config.l1_rates:
                total = total + config.l1_rates * flat_kxm.abs().mean(dim=1)
            if config.l2_rates:
                total = total + config.l2_rates * (flat_kxm * flat_kxm).mean(dim=1)
        return total

    def _clip(self, max_norm: float) -> None:
        """Clip each member's gradient norm separately, so members never interact."""
        k = len(self.members)
        grads = [p.grad.view(k, -1) for p in self.parameters if p.grad is not None]
        norms = torch.sqrt(sum((g * g).sum(dim=1) for g in grads))
        scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0).unsqueeze(1)
        for g in grads:
            g.mul_(scale)

    def _score(self, logits_kxtxbxo: torch.Tensor, batch: Batch, losses_k: np.ndarray) -> None:
        """Decision-step hits of every member (and keep the last trials for the ideal observer)."""
        if len(set(self.decision)) == 1:  # the usual case: one view, no gather
            step = self.decision[0]
            decision_kxbxo = logits_kxtxbxo[:, step]
            targets, valid = batch.targets_np[:, step], batch.mask_np[:, step] > 0
        else:
            members, steps = np.arange(len(self.members)), np.array(self.decision)
            decision_kxbxo = logits_kxtxbxo[torch.from_numpy(members), torch.from_numpy(steps)]
            targets, valid = batch.targets_np[members, steps], batch.mask_np[members, steps] > 0
        if self.loss == "mse":
            decision_kxbxo = self.activate(decision_kxbxo)
        outputs = decision_kxbxo.cpu().numpy()
        if self.loss == "bce":
            truth, predicted = targets > 0.5, outputs > 0
        else:  # signed targets: the sign is the decision
            truth, predicted = targets > 0, outputs > 0
            valid &= targets != 0
        hit = (predicted == truth) & valid
        self.history.add_batch(losses_k, hit.sum(axis=1), valid.sum(axis=1))
        if self.config.ideal_trials:
            self._recent.append((batch.raw, hit, valid, truth))

    # -- history, checkpoints ------------------------------------------------------------

    def record(self) -> None:
        """Close the history window (with the ideal observer on the recent trials)."""
        ideal = self._ideal() if self._recent else None
        self._recent.clear()
        self.history.record(self.batch, elapsed=self.elapsed, ideal=ideal)

    def _ideal(self) -> dict[str, np.ndarray]:
        shape = (len(self.members), self.n_outputs)
        sums = {name: np.zeros(shape) for name in ("ideal_correct", "paired_correct", "paired_count")}
        for k, member in enumerate(self.members):
            if not hasattr(member.task, "ideal_logits"):
                continue
            raws = [entry[0][k] for entry in self._recent]
            joined = TrialBatch(*(np.concatenate([getattr(r, name) for r in raws])
                                  for name in ("inputs", "targets", "loss_mask", "latents")))
            ideal_bxo = member.task.ideal_logits(joined, step=self.decision[k])
            n_out = ideal_bxo.shape[1]
            hit = np.concatenate([entry[1][k] for entry in self._recent])[:, :n_out]
            valid = np.concatenate([entry[2][k] for entry in self._recent])[:, :n_out]
            truth = np.concatenate([entry[3][k] for entry in self._recent])[:, :n_out]
            sums["ideal_correct"][k, :n_out] = (((ideal_bxo > 0) == truth) & valid).sum(axis=0)
            sums["paired_correct"][k, :n_out] = hit.sum(axis=0)
            sums["paired_count"][k, :n_out] = valid.sum(axis=0)
        return sums

    def state(self) -> dict[str, Any]:
        """Everything that changes during training, as checkpoint values."""
        return {
            "batch": self.batch,
            "elapsed": self.elapsed,
            "weights": {name: t.detach().cpu() for name, t in self.module.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "rng": [snapshot_generators(m.rng, m.generator) for m in self.members],
            "history": self.history.state_dict(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` output."""
        self.module.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:  # a checkpoint may name another kernel
            group.update(_ADAM_KERNEL)
        for entry in self.optimizer.state.values():  # the fused kernel kept its step count on the device
            if torch.is_tensor(entry.get("step")):
                entry["step"] = entry["step"].cpu()
        for index, entry in self.optimizer.state_dict()["state"].items():
            shape = tuple(self.parameters[index].shape)
            for key, value in entry.items():
                # a state of another shape would be broadcast into the update, or fail deep inside it
                if key != "step" and tuple(value.shape) != shape:
                    raise ValueError(f"checkpoint optimizer state {key!r} of parameter {index} must have shape "
                                     f"{shape}; got {tuple(value.shape)}")
        for member, rng_state in zip(self.members, state["rng"]):
            restore_generators(rng_state, member.rng, member.generator)
        self.history.load_state_dict(state["history"])
        self.batch, self.elapsed = int(state["batch"]), float(state["elapsed"])

    # -- the loop ------------------------------------------------------------------------

    def run(self, *, save: Callable[[], None] | None, progress: bool, label: str,
            callback: Callable[[int, np.ndarray], None] | None) -> None:
        """Train until ``config.n_batches``, recording and checkpointing on schedule."""
        from tqdm.auto import tqdm

        config = self.config
        bar = tqdm(total=config.n_batches, initial=self.batch, disable=not progress, desc=label,
                   unit="batch", dynamic_ncols=True)
        try:
            start = time.perf_counter()
            while self.batch < config.n_batches:
                losses = self.step()
                now = time.perf_counter()
                self.elapsed, start = self.elapsed + now - start, now
                done = self.batch == config.n_batches
                if self.batch % config.log_every == 0 or done:
                    self.record()
                    bar.set_postfix(self.history.last(), refresh=False)
                if save is not None and (self.batch % config.checkpoint_every == 0 or done):
                    save()
                bar.update(1)
                if callback is not None:
                    callback(self.batch, losses)
        finally:
            bar.close()


def check_member_model(name: str, member: Member, model: nn.Module) -> None:
    """Refuse a model whose width does not match its task (after encoding)."""
    check_type(name, model, nn.Module, "a neurodis model (torch.nn.Module)")
    if member.encoder is not None and member.encoder.n_dims != len(member.stimulus):
        raise ValueError(f"encoder.n_dims must equal the task's {len(member.stimulus)} stimulus channels; "
                         f"got {member.encoder.n_dims}")
    n_in, n_out = member.n_inputs, len(member.task.output_names)
    if getattr(model, "n_inputs", None) != n_in:
        how = (f"{len(member.passthrough)} pass-through + {member.encoder.n_out} encoded"
               if member.encoder is not None else "raw channels, no encoder")
        raise ValueError(f"{name}.n_inputs must equal the task's network inputs {n_in} ({how}); "
                         f"got {getattr(model, 'n_inputs', None)}")
    if getattr(model, "n_outputs", None) != n_out:
        raise ValueError(f"{name}.n_outputs must equal the task's {n_out} outputs; "
                         f"got {getattr(model, 'n_outputs', None)}")
