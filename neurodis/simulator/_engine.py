"""Array-level simulation engine between the public wrappers and the Numba kernels.

A run advances a batch of states through blocks of steps. For each block the *drive*
``(inputs + s_in ζ) @ weight_ihᵀ + s_rec ξ`` (s = sqrt(2/α) · noise level) is built with
one BLAS matmul, then a kernel of :mod:`neurodis.simulator._kernels` does the recurrent
part. Blocks bound the memory of the drive and of the noise draws, so a final-state or
subsampled run of many steps never holds a (trial, time, unit) array.

Noise draws come from two child streams of the caller's generator (recurrent, input),
each filled in (time, trial, unit) order, so the draws for step t do not depend on how
the run is cut into blocks: a final-state run reproduces the last step of a full run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from neurodis._validation import check_array, describe
from neurodis.simulator._kernels import (
    ACTIVATION_CODES,
    run_trials_blocked,
    run_trials_parallel,
    run_trials_serial,
)
from neurodis.simulator.weights import CTRNNWeights

__all__ = [
    "ConstantDrive",
    "InputDrive",
    "KernelWeights",
    "NoiseSource",
    "choose_strategy",
    "integrate",
    "kernel_weights",
    "make_noise",
    "raise_if_diverged",
    "readout",
]

# elements of one block's drive (and of each noise draw): 16 MiB in float32
BLOCK_ELEMENTS = 1 << 22
# below this many multiply-adds (about a millisecond) one thread beats starting a parallel region
PARALLEL_WORK = 1 << 22
# the blocked strategy: trials per block (its arrays stay in L2) and the batch from which it wins
BLOCKED_TRIALS = 128
BLOCKED_MIN_TRIALS = 64
# a block's records up to this size are gathered in a scratch array that stays in L2
SCRATCH_BYTES = 1 << 20
# rows of the readout per block (logits of a block stay in L2 for the nonlinearity)
READOUT_ROWS = 4096


@dataclass(frozen=True)
class KernelWeights:
    """Weights laid out for the kernels: transposed, C-contiguous, of one dtype."""

    weight_ih_t: np.ndarray  # (input, unit)
    weight_hh_t: np.ndarray  # (unit, unit), row j = weights out of unit j
    bias: np.ndarray  # (unit,)
    readout_weight_t: np.ndarray  # (unit, output)
    readout_bias: np.ndarray  # (output,)
    alpha: np.floating
    keep: np.floating  # 1 - α (leaky) or 1 (non-leaky)
    activation: int
    input_scale: float  # sqrt(2/α) · input_noise
    recurrent_scale: float  # sqrt(2/α) · recurrent_noise


def kernel_weights(weights: CTRNNWeights, dtype: type[np.floating]) -> KernelWeights:
    """Return ``weights`` prepared for the kernels in ``dtype`` (cached on ``weights``)."""
    cached = weights._kernel_cache.get(dtype)
    if cached is None:
        cast = weights.cast(dtype)
        alpha = dtype(weights.alpha)
        cached = KernelWeights(
            weight_ih_t=np.ascontiguousarray(cast.weight_ih.T),
            weight_hh_t=np.ascontiguousarray(cast.weight_hh.T),
            bias=cast.bias,
            readout_weight_t=np.ascontiguousarray(cast.readout_weight.T),
            readout_bias=cast.readout_bias,
            alpha=alpha,
            keep=dtype(1) - alpha if weights.leaky else dtype(1),
            activation=ACTIVATION_CODES[weights.activation],
            input_scale=float(np.sqrt(2.0 / weights.alpha) * weights.input_noise),
            recurrent_scale=float(np.sqrt(2.0 / weights.alpha) * weights.recurrent_noise),
        )
        weights._kernel_cache[dtype] = cached
    return cached


@dataclass
class NoiseSource:
    """Standard-normal draws of a run: given arrays, child generators, or none.

    ``block(t0, t1)`` returns the draws (ξ, ζ) of steps ``t0:t1`` for every trial, with
    shapes (trial, t1 - t0, unit) and (trial, t1 - t0, input); ``None`` where that noise
    is off. Drawn noise fills (time, trial, ·) order, so blocks of any length give the
    same draws.
    """

    n_trials: int
    dtype: type[np.floating]
    shapes: tuple[int, int]  # (unit, input)
    generators: tuple[np.random.Generator, np.random.Generator] | None = None
    given: dict[str, np.ndarray] | None = None

    def block(self, t0: int, t1: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Draws (ξ, ζ) of steps t0:t1."""
        if self.given is not None:
            return tuple(self.given[key][:, t0:t1] if key in self.given else None
                         for key in ("recurrent", "input"))
        if self.generators is None:
            return None, None
        return tuple(
            generator.standard_normal((t1 - t0, self.n_trials, width), dtype=self.dtype)
            .transpose(1, 0, 2)
            for generator, width in zip(self.generators, self.shapes)
        )


def make_noise(
    noise: Any,
    weights: CTRNNWeights,
    kw: KernelWeights,
    n_trials: int,
    n_steps: int,
    generator: Callable[[], np.random.Generator],
    dtype: type[np.floating],
) -> tuple[NoiseSource, str]:
    """Build the run's noise source from the ``noise`` argument; also return its kind.

    ``noise`` is ``None`` or ``True`` (draw where a noise level is > 0), ``False`` (no
    noise) or a mapping with keys ``"recurrent"`` (trial, time, unit) and/or ``"input"``
    (trial, time, input) of standard-normal draws. ``generator`` is called only when
    draws are needed.
    """
    shapes = (weights.n_units, weights.n_inputs)
    source = NoiseSource(n_trials=n_trials, dtype=dtype, shapes=shapes)
    if noise is not None and not isinstance(noise, (bool, np.bool_)):
        if not isinstance(noise, Mapping):
            raise TypeError(
                "noise must be None, a bool or a mapping with keys 'recurrent' and/or 'input' "
                f"of standard-normal draws; got {type(noise).__name__} {describe(noise)}"
            )
        source.given = _given_noise(noise, weights, n_trials, n_steps, dtype)
        return source, "given"
    if (noise is not None and not noise) or (kw.recurrent_scale == 0 and kw.input_scale == 0):
        return source, "off"
    seeds = np.random.SeedSequence(generator().integers(0, 2**32, size=4, dtype=np.uint64))
    source.generators = tuple(np.random.default_rng(child) for child in seeds.spawn(2))
    return source, "drawn"


def _given_noise(
    noise: Mapping[str, Any], weights: CTRNNWeights, n_trials: int, n_steps: int,
    dtype: type[np.floating],
) -> dict[str, np.ndarray]:
    widths = {"recurrent": weights.n_units, "input": weights.n_inputs}
    unknown = sorted(set(noise) - set(widths))
    if unknown:
        raise ValueError(f"noise keys must be among {sorted(widths)}; got unknown {unknown}")
    levels = {"recurrent": weights.recurrent_noise, "input": weights.input_noise}
    missing = [key for key in widths if levels[key] > 0 and key not in noise]
    if missing:
        raise ValueError(
            f"noise must give draws for every noise level > 0 of the model; missing {missing} "
            f"(recurrent_noise={weights.recurrent_noise}, input_noise={weights.input_noise})"
        )
    given = {}
    for key, value in noise.items():
        value = getattr(value, "values", value)  # a DataArray gives its array
        array = check_array(f"noise[{key!r}]", value, shape=(n_trials, n_steps, widths[key]))
        given[key] = np.ascontiguousarray(array, dtype=dtype)
    return given


class InputDrive:
    """Drive of time-varying inputs ``(trial, time, input)`` (C-contiguous, of the dtype).

    ``prepare(t0, t1)`` fetches the noise of a block of steps; ``drive(b0, b1)`` then
    returns ``(x + s_in ζ) @ weight_ihᵀ + s_rec ξ`` for trials b0:b1 of that block,
    shape (b1 - b0, t1 - t0, unit).
    """

    def __init__(self, kw: KernelWeights, inputs_bxtxi: np.ndarray, noise: NoiseSource) -> None:
        self.kw, self.inputs_bxtxi, self.noise = kw, inputs_bxtxi, noise
        self.steps, self.xi, self.zeta = (0, 0), None, None

    def prepare(self, t0: int, t1: int) -> None:
        self.steps = (t0, t1)
        self.xi, self.zeta = self.noise.block(t0, t1)

    def drive(self, b0: int, b1: int) -> np.ndarray:
        (t0, t1), kw = self.steps, self.kw
        x_bxtxi = self.inputs_bxtxi[b0:b1, t0:t1]
        if self.zeta is not None:
            x_bxtxi = x_bxtxi + kw.input_scale * self.zeta[b0:b1]
        x_bxtxi = np.ascontiguousarray(x_bxtxi)
        # an overflow here (huge but finite inputs) surfaces as divergence, with its step
        drive = x_bxtxi.reshape(-1, x_bxtxi.shape[2]) @ kw.weight_ih_t
        drive = drive.reshape(b1 - b0, t1 - t0, -1)
        if self.xi is not None:
            drive += kw.recurrent_scale * self.xi[b0:b1]
        return drive


class ConstantDrive(InputDrive):
    """Drive of an input held constant, ``(1 or trial, input)``, plus any noise.

    Without noise the drive has shape (1 or trial, 1, unit) and the kernels broadcast it.
    """

    def __init__(self, kw: KernelWeights, input_bxi: np.ndarray, noise: NoiseSource) -> None:
        super().__init__(kw, input_bxi, noise)
        self.base_bx1xn = np.ascontiguousarray((input_bxi @ kw.weight_ih_t)[:, None, :])

    def drive(self, b0: int, b1: int) -> np.ndarray:
        (t0, t1), kw = self.steps, self.kw
        base = self.base_bx1xn if len(self.base_bx1xn) == 1 else self.base_bx1xn[b0:b1]
        if self.xi is None and self.zeta is None:
            return base
        drive = np.empty((b1 - b0, t1 - t0, base.shape[2]), dtype=base.dtype)
        drive[...] = base
        if self.zeta is not None:
            drive += (kw.input_scale * self.zeta[b0:b1]) @ kw.weight_ih_t
        if self.xi is not None:
            drive += kw.recurrent_scale * self.xi[b0:b1]
        return drive

    @property
    def constant(self) -> bool:
        """True when the drive does not change over steps (no noise)."""
        return self.noise.generators is None and self.noise.given is None


def choose_strategy(n_trials: int, n_steps: int, n_units: int) -> str:
    """``"parallel"``, ``"blocked"`` (BLAS per step, one thread) or ``"serial"``.

    Threads pay off only for enough work; without them, a BLAS matmul per step over a
    block of trials beats per-trial matrix-vector products once a block is large.
    """
    work = n_trials * n_steps * n_units * n_units
    if n_trials > 1 and work >= PARALLEL_WORK and numba.get_num_threads() > 1:  # cheap tests first
        return "parallel"
    return "blocked" if n_trials >= BLOCKED_MIN_TRIALS else "serial"


def integrate(
    kw: KernelWeights,
    state_bxn: np.ndarray,
    n_steps: int,
    source: InputDrive,
    *,
    record_every: int,
    strategy: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance ``state_bxn`` (in place) ``n_steps`` steps; return (records, bad steps).

    Parameters
    ----------
    kw : KernelWeights
    state_bxn : ndarray, shape (trial, unit)
        Initial rates, C-contiguous, of the weights' dtype; holds the final rates after.
    n_steps : int
    source : InputDrive or ConstantDrive
        Provides the drive, block by block.
    record_every : int
        Keep the rates after every ``record_every``-th step; 0 keeps none.
    strategy : {"parallel", "blocked", "serial"}, optional
        Force a strategy (tests); by default :func:`choose_strategy` picks one.

    Returns
    -------
    records_bxsxn : ndarray, shape (trial, n_steps // record_every, unit)
    bad_step_b : ndarray of int64, shape (trial,)
        First step with non-finite rates per trial, or -1 (the run stops at the end of
        the block of steps in which a trial diverged).
    """
    n_trials, n_units = state_bxn.shape
    n_records = n_steps // record_every if record_every else 0
    records_bxsxn = np.empty((n_trials, n_records, n_units), dtype=state_bxn.dtype)
    bad_step_b = np.full(n_trials, -1, dtype=np.int64)
    strategy = strategy or choose_strategy(n_trials, n_steps, n_units)
    width = max(n_units, kw.weight_ih_t.shape[0])
    # a block of steps spans all trials where the noise is drawn or the kernel takes the
    # whole batch, else only a block of trials (so one block of steps usually covers a trial)
    noisy = source.noise.generators is not None or source.noise.given is not None
    rows = n_trials if noisy or strategy != "blocked" else min(n_trials, BLOCKED_TRIALS)
    constant = getattr(source, "constant", False)
    block = n_steps if constant else max(1, BLOCK_ELEMENTS // (rows * width))
    for t0 in range(0, n_steps, block):
        t1 = min(n_steps, t0 + block)
        source.prepare(t0, t1)
        if strategy == "blocked":
            for b0 in range(0, n_trials, BLOCKED_TRIALS):
                b1 = min(n_trials, b0 + BLOCKED_TRIALS)
                _blocked_steps(kw, source.drive(b0, b1), state_bxn[b0:b1], t0, t1, record_every,
                               records_bxsxn[b0:b1], bad_step_b[b0:b1])
        else:
            kernel = run_trials_parallel if strategy == "parallel" else run_trials_serial
            kernel(source.drive(0, n_trials), kw.bias, kw.weight_hh_t, state_bxn, kw.alpha,
                   kw.keep, kw.activation, t1 - t0, t0, record_every, records_bxsxn, bad_step_b)
        if bad_step_b.max() >= 0:
            break
    return records_bxsxn, bad_step_b


def _blocked_steps(kw: KernelWeights, drive_bxtxn: np.ndarray, state_bxn: np.ndarray, t0: int,
                   t1: int, record_every: int, records_bxsxn: np.ndarray,
                   bad_step_b: np.ndarray) -> None:
    # Each step writes one row per trial, a whole trial's records apart: written straight
    # into a large output these rows leave L2 before the next step's, and every step
    # misses the cache again. A small block's records are gathered in a scratch array
    # (in L2) and copied out once, contiguously: about 15 % of a 4096-trial run.
    scratch = records_bxsxn.nbytes <= SCRATCH_BYTES and records_bxsxn.shape[1] > 0
    out_bxsxn = np.empty_like(records_bxsxn) if scratch else records_bxsxn
    run_trials_blocked(drive_bxtxn, kw.bias, kw.weight_hh_t, state_bxn, kw.alpha, kw.keep, kw.activation,
                       t1 - t0, t0, record_every, out_bxsxn, bad_step_b)
    if scratch:
        # the records of steps t0 + 1 … t1 (counted from 1), where every record_every-th is kept
        first, stop = t0 // record_every, t1 // record_every
        records_bxsxn[:, first:stop] = out_bxsxn[:, first:stop]


def readout(kw: KernelWeights, readout_kind: str, bound: float,
            rates_xn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (logits, outputs) of rates ``(..., unit)``: ``outputs`` = readout nonlinearity.

    Rows are processed in blocks so each block's logits stay in cache for the passes of
    the nonlinearity.
    """
    n_outputs = kw.readout_bias.shape[0]
    rates_2d = rates_xn.reshape(-1, rates_xn.shape[-1])
    logits = np.empty((len(rates_2d), n_outputs), dtype=rates_xn.dtype)
    outputs = np.empty_like(logits)
    step = max(1, READOUT_ROWS)
    for r0 in range(0, len(rates_2d), step):
        z, out = logits[r0:r0 + step], outputs[r0:r0 + step]
        np.matmul(rates_2d[r0:r0 + step], kw.readout_weight_t, out=z)
        z += kw.readout_bias
        _activate_readout(readout_kind, bound, z, out)
    shape = rates_xn.shape[:-1] + (n_outputs,)
    return logits.reshape(shape), outputs.reshape(shape)


def _activate_readout(kind: str, bound: float, z: np.ndarray, out: np.ndarray) -> None:
    if kind == "sigmoid":
        # 1 / (1 + exp(-z)) in place, twice as fast as scipy's expit; exp(-z) overflows to
        # inf only for z below about -88 (float32), whose reciprocal is the correct 0
        np.negative(z, out=out)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    elif kind == "tanh":
        np.tanh(z, out=out)
        out *= out.dtype.type(bound)
    else:
        out[...] = z


def raise_if_diverged(bad_step_b: np.ndarray, dt: float) -> None:
    """Raise ``ValueError`` naming the earliest trial and step whose rates became non-finite."""
    if bad_step_b.max() < 0:
        return
    diverged = np.flatnonzero(bad_step_b >= 0)
    first = diverged[np.argmin(bad_step_b[diverged])]
    step = int(bad_step_b[first])
    raise ValueError(
        f"rates became non-finite (the simulation diverged) at trial {int(first)}, step {step} "
        f"(time {step * dt:g} ms); {diverged.size} trial(s) diverged: reduce the recurrent "
        "weights, the inputs or the noise, or use a saturating activation"
    )
