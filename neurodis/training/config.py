"""The training configuration: a frozen, validated, JSON-round-trippable dataclass."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from neurodis._validation import (
    check_in,
    check_int,
    check_memory,
    check_real,
    check_type,
)

__all__ = ["TrainConfig"]

LOSSES = ("bce", "mse")
DEVICES = ("cpu", "cuda")
ENCODERS = ("relu", "quadratic", "none")
#: The penalty fields, all >= 0 (0: off)
PENALTIES = ("l1_weights", "l2_weights", "l1_rates", "l2_rates")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Hyperparameters of one training run; defaults are the paper's protocol.

    Parameters
    ----------
    n_batches : int
        Number of Adam steps (paper: 100 000; transformer: 20 000).
    batch_size : int
        Trials per batch (paper: 16).
    lr : float
        Adam learning rate (paper: 1e-3); with ``lr_end``, the rate of the first batch.
    lr_end : float or None
        Learning rate of the last batch, reached by cosine decay from ``lr`` (``0 <
        lr_end <= lr``; see :meth:`lr_at`). ``None`` (the paper) keeps ``lr`` throughout.
        The rate depends only on the batch number, so a resumed run follows the same
        schedule.
    loss : {"bce", "mse"} or None
        Masked binary cross-entropy on the readout logits, or masked mean squared
        error on the activated readout (bounded-accumulator and regression targets).
        ``None`` picks from the model's readout: ``"bce"`` for a sigmoid readout,
        ``"mse"`` otherwise.
    grad_clip : float or None
        Clip each network's gradient to this Euclidean norm (over all its parameters)
        before the Adam step; ``None`` (the paper) does not clip.
    checkpoint_every : int
        Write the checkpoint every this many batches (and always at the end).
    log_every : int
        Record a row of the training history every this many batches (and at the end);
        ``checkpoint_every`` must be a multiple of it.
    ideal_trials : int
        Per history row, the ideal observer (tasks with ``ideal_logits``) is evaluated
        on the last ``ideal_trials`` training trials of the window (rounded up to whole
        batches) to give ``relative_accuracy``; 0 skips it. Its cost grows with this
        number, not with ``log_every``.
    device : {"cpu", "cuda"}
        Where the network runs; data are generated on the CPU either way.
    seed : int
        Seed of the run's random streams, the children of
        ``numpy.random.SeedSequence(seed).spawn(3)``: child 0 seeds the numpy
        Generator (PCG64) that draws the trials, child 1 the torch Generator of the
        network noise, child 2 the encoder drawn when none is given. The model's
        initial weights come from the model's own ``seed``; the global numpy and
        torch generators are never used.
    encoder : {"relu", "quadratic", "none"}
        Kind of the frozen encoder the trainer draws when the task has stimulus
        channels and no encoder is passed; ``"none"`` feeds the raw stimulus.
    l1_weights, l2_weights : float
        Penalties (>= 0) on the weights: ``l1_weights · mean|W| + l2_weights · mean W²``
        summed over the network's weight matrices (every parameter of two or more
        dims; for a CTRNN the effective input, recurrent and readout weights, after
        its signs and masks), each mean taken over that matrix's entries. Biases are
        not penalised. The convention (means, per matrix) is PsychRNN's.
    l1_rates, l2_rates : float
        Penalties (>= 0) on the activity: ``l1_rates · mean|r| + l2_rates · mean r²``
        over every trial, step and unit of the batch's rates.

        Penalties are added to each network's task loss (an ensemble member's to its
        own); the training history's ``loss`` is this penalised objective. At 0 (the
        default) nothing is computed and training is unchanged.

    Raises
    ------
    ValueError
        If a value is out of range, or ``batch_size``/``ideal_trials`` could not fit in
        memory; the message names the field.
    TypeError
        If a value has the wrong type.

    Examples
    --------
    >>> TrainConfig(n_batches=200).batch_size
    16
    >>> TrainConfig(lr=0.0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be > 0.0; got 0.0
    """

    n_batches: int = 100_000
    batch_size: int = 16
    lr: float = 1e-3
    lr_end: float | None = None
    loss: str | None = None
    grad_clip: float | None = None
    checkpoint_every: int = 1000
    log_every: int = 100
    ideal_trials: int = 128
    device: str = "cpu"
    seed: int = 0
    encoder: str = "relu"
    l1_weights: float = 0.0
    l2_weights: float = 0.0
    l1_rates: float = 0.0
    l2_rates: float = 0.0

    def __post_init__(self) -> None:
        check_int("n_batches", self.n_batches, minimum=1)
        batch_size = check_int("batch_size", self.batch_size, minimum=1)
        # a trial holds at least one step of inputs, targets and loss mask (float64 each)
        check_memory("batch_size", batch_size, 24.0 * batch_size,
                     "at least one step of inputs, targets and loss mask per trial, float64")
        object.__setattr__(self, "lr", check_real("lr", self.lr, minimum=0.0, strict_minimum=True))
        if self.lr_end is not None:
            object.__setattr__(self, "lr_end", check_real("lr_end", self.lr_end, minimum=0.0, strict_minimum=True,
                                                          maximum=self.lr))
        if self.loss is not None:
            check_in("loss", self.loss, LOSSES)
        if self.grad_clip is not None:
            object.__setattr__(self, "grad_clip", check_real(
                "grad_clip", self.grad_clip, minimum=0.0, strict_minimum=True))
        check_int("checkpoint_every", self.checkpoint_every, minimum=1)
        check_int("log_every", self.log_every, minimum=1)
        if self.checkpoint_every % self.log_every:
            # checkpoints then always fall between history rows, so none holds a half window
            raise ValueError(
                f"checkpoint_every must be a multiple of log_every={self.log_every}; "
                f"got {self.checkpoint_every}"
            )
        ideal_trials = check_int("ideal_trials", self.ideal_trials, minimum=0)
        check_memory("ideal_trials", ideal_trials, 24.0 * ideal_trials,
                     "at least one step of inputs, targets and loss mask per trial, float64")
        check_in("device", self.device, DEVICES)
        check_int("seed", self.seed, minimum=0)
        check_in("encoder", self.encoder, ENCODERS)
        for name in PENALTIES:
            object.__setattr__(self, name, check_real(name, getattr(self, name), minimum=0.0))

    def lr_at(self, batch: int) -> float:
        """The learning rate of the batch with 0-based index ``batch``.

        ``lr_end + (lr - lr_end) (1 + cos(pi · batch / (n_batches - 1))) / 2``: ``lr`` at
        the first batch, ``lr_end`` at the last; ``lr`` throughout when ``lr_end`` is None.

        Examples
        --------
        >>> config = TrainConfig(n_batches=3, lr=1e-3, lr_end=1e-5)
        >>> [round(config.lr_at(b), 6) for b in range(3)]
        [0.001, 0.000505, 1e-05]
        >>> TrainConfig(n_batches=3).lr_at(2)
        0.001
        """
        batch = check_int("batch", batch, minimum=0, maximum=self.n_batches - 1)
        if self.lr_end is None or self.n_batches == 1:
            return self.lr
        return self.lr_end + 0.5 * (self.lr - self.lr_end) * (1.0 + math.cos(math.pi * batch / (self.n_batches - 1)))

    @property
    def penalized(self) -> bool:
        """Whether any weight or rate penalty is on.

        Examples
        --------
        >>> TrainConfig().penalized, TrainConfig(l2_rates=1e-3).penalized
        (False, True)
        """
        return any(getattr(self, name) > 0.0 for name in PENALTIES)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict` output.

        Raises
        ------
        TypeError
            If ``data`` is not a dict or has keys that are not fields.

        Examples
        --------
        >>> config = TrainConfig(n_batches=5, grad_clip=1.0)
        >>> TrainConfig.from_dict(config.to_dict()) == config
        True
        >>> TrainConfig.from_dict({"epochs": 3})
        Traceback (most recent call last):
        ...
        TypeError: data has keys that are not TrainConfig fields: ['epochs']
        """
        check_type("data", data, dict, "a dict of TrainConfig fields")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"data has keys that are not TrainConfig fields: {unknown}")
        return cls(**data)

    def differences(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: ``{name: (self's value, other's value)}``.

        Examples
        --------
        >>> TrainConfig(lr=1e-3).differences(TrainConfig(lr=1e-2))
        {'lr': (0.001, 0.01)}
        """
        check_type("other", other, TrainConfig, "a TrainConfig")
        mine, theirs = self.to_dict(), other.to_dict()
        return {name: (mine[name], theirs[name]) for name in mine if mine[name] != theirs[name]}
