"""The N-bit flip-flop task (Sussillo & Barak 2013, *Neural Computation* 25:626–649).

Each of ``n_bits`` input channels carries rare pulses of +1 or -1; the matching output
must hold the sign of the most recent pulse on its channel (0 before the first pulse)
until the next pulse flips it. A network that solves the task with 3 bits must hold
2³ = 8 stable states, which makes it the standard known-answer test of fixed-point
analysis.

Trials are a single period of ``duration`` ms on a ``dt`` grid (no fixation or decision
periods); the loss covers every step. On each step and bit, a pulse occurs with
probability ``p_pulse``, with a fair sign. The target changes on the step of the pulse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neurodis._validation import check_int, check_memory, check_multiple, check_probability, check_real, check_type
from neurodis.tasks.base import Task, TrialBatch, register_task

__all__ = ["FlipFlopTask", "flipflop_targets"]


def flipflop_targets(inputs_bxtxn: np.ndarray) -> np.ndarray:
    """Flip-flop targets of a pulse array: the sign of the last pulse so far, per channel.

    Vectorised: the index of the last pulse up to each step is a running maximum
    (``np.maximum.accumulate``) of the pulse step indices.

    Parameters
    ----------
    inputs_bxtxn : ndarray, shape (trial, time, bit)
        Pulses (any non-zero value is a pulse; its sign is kept).

    Returns
    -------
    ndarray, shape (trial, time, bit)
        ``sign`` of the most recent pulse at or before each step, 0 before the first.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0, 1, 0, 0, -1, 0, 1.0]).reshape(1, -1, 1)
    >>> flipflop_targets(x).ravel()
    array([ 0.,  1.,  1.,  1., -1., -1.,  1.])
    """
    n_steps = inputs_bxtxn.shape[1]
    steps_t = np.arange(n_steps).reshape(1, n_steps, 1)
    last_bxtxn = np.maximum.accumulate(np.where(inputs_bxtxn != 0, steps_t, -1), axis=1)
    held_bxtxn = np.take_along_axis(np.sign(inputs_bxtxn), np.maximum(last_bxtxn, 0), axis=1)
    return np.where(last_bxtxn >= 0, held_bxtxn, 0.0)


@register_task
@dataclass(frozen=True, kw_only=True)
class FlipFlopTask(Task):
    """N-bit flip-flop: each output remembers the sign of its channel's last pulse.

    Parameters
    ----------
    n_bits : int
        Number of independent bits (input channels and outputs), >= 1.
    p_pulse : float
        Probability of a pulse per step and bit, in [0, 1].
    duration : float
        Trial length in ms, a positive multiple of ``dt``.
    dt : float
        Euler step in ms (> 0).

    Notes
    -----
    Inputs are ``"stimulus_0" … "stimulus_{n_bits-1}"`` (so an :class:`Encoder` with
    ``n_dims = n_bits`` may mix them), outputs ``"bit_0" …``; there is no fixation
    channel. The latent of a trial is the final state of each bit (-1, 0 or +1) and the
    trial coord ``n_pulses`` counts its pulses over all bits.

    Examples
    --------
    >>> import neurodis
    >>> task = neurodis.make_task("flipflop", n_bits=3)
    >>> dict(task.sample(4, rng=0).sizes)
    {'trial': 4, 'time': 100, 'input': 3, 'output': 3, 'latent': 3}
    >>> FlipFlopTask(duration=105.0)
    Traceback (most recent call last):
    ...
    ValueError: duration must be a non-negative multiple of dt=10.0 ms; got 105.0
    """

    name: ClassVar[str] = "flipflop"

    n_bits: int = 3
    p_pulse: float = 0.05
    duration: float = 1000.0
    dt: float = 10.0  # type: ignore[assignment]  # a plain field here, no Timing

    def __post_init__(self) -> None:
        n_bits = check_int("n_bits", self.n_bits, minimum=1)
        check_probability("p_pulse", self.p_pulse)
        check_real("dt", self.dt, minimum=0.0, strict_minimum=True)
        n_steps = check_multiple("duration", self.duration, self.dt)
        if n_steps < 1:
            raise ValueError(f"duration must be at least one step of dt={self.dt} ms; got {self.duration}")
        contents = f"one trial's inputs, targets and loss mask float64 for {n_steps} steps and {n_bits} bits"
        name, value = ("n_bits", n_bits) if n_bits >= n_steps else ("duration", self.duration)
        check_memory(name, value, 24.0 * n_bits * n_steps, contents)

    @property
    def n_steps(self) -> int:
        """Number of Euler steps in one trial."""
        return check_multiple("duration", self.duration, self.dt)

    @property
    def input_names(self) -> list[str]:
        return [f"stimulus_{i}" for i in range(self.n_bits)]

    @property
    def output_names(self) -> list[str]:
        return [f"bit_{i}" for i in range(self.n_bits)]

    @property
    def latent_names(self) -> list[str]:
        return [f"bit_{i}" for i in range(self.n_bits)]

    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` flip-flop trials as raw float64 arrays, vectorised."""
        n_trials = check_int("n_trials", n_trials, minimum=1)
        check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
        shape = (n_trials, self.n_steps, self.n_bits)
        # one uniform draw per step and bit decides both whether and which sign
        u_bxtxn = rng.random(shape)
        half = 0.5 * self.p_pulse
        inputs = np.where(u_bxtxn < half, -1.0, np.where(u_bxtxn < self.p_pulse, 1.0, 0.0))
        targets = flipflop_targets(inputs)
        return TrialBatch(
            inputs=inputs,
            targets=targets,
            loss_mask=np.ones(shape),
            latents=targets[:, -1, :].copy(),
            trial_coords={"n_pulses": np.count_nonzero(inputs, axis=(1, 2))},
        )
