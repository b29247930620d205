"""Numba kernels of the CTRNN update: plain C-contiguous arrays in, no xarray.

The input projection ``inputs @ weight_ihᵀ`` (plus input and recurrent noise) does not
depend on the state, so the wrappers compute it for a block of steps with one BLAS matmul
(the *drive*); the kernels do only the sequential part, one trial at a time::

    h_t = drive_t + bias + r_{t-1} @ weight_hhᵀ
    r_t = keep · r_{t-1} + α f(h_t)       (keep = 1-α: leaky; keep = 1: non-leaky)

The recurrent product is written in axpy form over the *transposed* matrix
(``h += weight_hhᵀ[j] · r_j``, contiguous and vectorised), four source units at a time,
and only over units whose rate is not exactly 0 (about half of a ReLU network); the list
of those units is built without branches, so random sparsity costs no mispredictions.

:func:`run_trials_parallel` spreads trials over threads; :func:`run_trials_serial` does the
same work on the calling thread, which is faster for small batches (starting a parallel
region costs microseconds on an idle machine and up to a scheduler tick on a busy one).
For large batches on one thread, :func:`run_trials_blocked` steps a block of trials
together: each step's ``r @ weight_hhᵀ`` is one BLAS matmul (``np.dot`` inside the kernel,
so a step costs no Python call), then the drive, f and the update per trial. All kernels
stop a trial at its first step with non-finite rates and record that step in
``bad_step_b`` (``-1`` while finite), so the wrapper can raise a clear error.

Each kernel is compiled for float32 and float64 C-contiguous arrays only (the wrappers
guarantee both), which keeps compilation (cached on disk) to two versions per kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["ACTIVATION_CODES", "run_trials_blocked", "run_trials_parallel", "run_trials_serial"]

#: Integer codes of the unit nonlinearities, as passed to the kernels.
ACTIVATION_CODES = {"relu": 0, "tanh": 1, "softplus": 2, "linear": 3}
_RELU, _TANH, _SOFTPLUS = 0, 1, 2
# torch.nn.functional.softplus returns x itself above this threshold (beta = 1)
_SOFTPLUS_THRESHOLD = 20.0
# reassociation lets the finiteness reduction vectorise; NaN/Inf semantics are kept
# (no "nnan"/"ninf"), which the divergence check relies on
_FASTMATH = {"contract", "reassoc", "nsz"}


@njit(cache=True, fastmath=_FASTMATH)
def _advance_trial(
    drive_txn: np.ndarray,
    bias_n: np.ndarray,
    weight_hh_t_nxn: np.ndarray,
    r_n: np.ndarray,
    alpha: float,
    keep: float,
    activation: int,
    n_steps: int,
    step_offset: int,
    record_every: int,
    out_sxn: np.ndarray,
) -> int:
    """Advance one trial in place; return the global index of its first non-finite step or -1."""
    n_units = r_n.shape[0]
    step_stride = 1 if drive_txn.shape[0] > 1 else 0  # a length-1 drive is held constant
    h_n = np.empty_like(r_n)
    active = np.empty(n_units, dtype=np.int64)
    for t in range(n_steps):
        n_active = 0
        for j in range(n_units):
            active[n_active] = j
            n_active += r_n[j] != 0
        for i in range(n_units):
            h_n[i] = 0
        k = 0
        while k + 4 <= n_active:
            j0, j1, j2, j3 = active[k], active[k + 1], active[k + 2], active[k + 3]
            r0, r1, r2, r3 = r_n[j0], r_n[j1], r_n[j2], r_n[j3]
            w0, w1 = weight_hh_t_nxn[j0], weight_hh_t_nxn[j1]
            w2, w3 = weight_hh_t_nxn[j2], weight_hh_t_nxn[j3]
            for i in range(n_units):
                h_n[i] += w0[i] * r0 + w1[i] * r1 + w2[i] * r2 + w3[i] * r3
            k += 4
        while k < n_active:
            j0 = active[k]
            r0, w0 = r_n[j0], weight_hh_t_nxn[j0]
            for i in range(n_units):
                h_n[i] += w0[i] * r0
            k += 1
        _activate(h_n, drive_txn[t * step_stride], bias_n, activation)
        if not _update(r_n, h_n, alpha, keep):
            return step_offset + t
        step = step_offset + t + 1
        if record_every > 0 and step % record_every == 0:
            _copy(r_n, out_sxn[step // record_every - 1])
    return -1


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _update(r_n: np.ndarray, f_n: np.ndarray, alpha: float, keep: float) -> bool:
    """``r ← keep·r + α f`` in place; return whether every new rate is finite."""
    # x * 0 is 0 for finite x and NaN for NaN or ±Inf; the sum vectorises (reassoc)
    check = r_n[0] * 0
    for i in range(r_n.shape[0]):
        x = keep * r_n[i] + alpha * f_n[i]
        r_n[i] = x
        check += x * 0
    return check == 0


@njit(cache=True, inline="always")
def _copy(src_n: np.ndarray, dst_n: np.ndarray) -> None:
    # an explicit loop: cheaper than numba's generic slice assignment for short rows
    for i in range(src_n.shape[0]):
        dst_n[i] = src_n[i]


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _activate(h_n: np.ndarray, d_n: np.ndarray, bias_n: np.ndarray, activation: int) -> None:
    """``h ← f(h + d + bias)`` in place; the branch sits outside the loops so each vectorises."""
    n_units = h_n.shape[0]
    if activation == _RELU:
        for i in range(n_units):
            x = h_n[i] + d_n[i] + bias_n[i]
            # a select, so the loop vectorises; `x < 0` is False for NaN, which survives
            # the ReLU (as in torch) for the divergence check
            h_n[i] = 0 if x < 0 else x  # noqa: FURB136 (an explicit select that keeps NaN)
    elif activation == _TANH:
        for i in range(n_units):
            h_n[i] = np.tanh(h_n[i] + d_n[i] + bias_n[i])
    elif activation == _SOFTPLUS:
        for i in range(n_units):
            x = h_n[i] + d_n[i] + bias_n[i]
            h_n[i] = x if x > _SOFTPLUS_THRESHOLD else np.log1p(np.exp(x))
    else:
        for i in range(n_units):
            h_n[i] += d_n[i] + bias_n[i]


@njit(cache=True, parallel=True)
def run_trials_parallel(
    drive_bxtxn: np.ndarray,
    bias_n: np.ndarray,
    weight_hh_t_nxn: np.ndarray,
    state_bxn: np.ndarray,
    alpha: float,
    keep: float,
    activation: int,
    n_steps: int,
    step_offset: int,
    record_every: int,
    out_bxsxn: np.ndarray,
    bad_step_b: np.ndarray,
) -> None:
    """Advance every trial ``n_steps`` steps, in parallel over trials.

    Parameters
    ----------
    drive_bxtxn : ndarray, shape (trial or 1, n_steps or 1, unit)
        ``(inputs + input noise) @ weight_ihᵀ + recurrent noise``; a length-1 axis is
        broadcast (the same drive for every trial, or a constant input).
    bias_n : ndarray, shape (unit,)
    weight_hh_t_nxn : ndarray, shape (unit, unit)
        The *transposed* recurrent matrix: row j holds the weights out of unit j.
    state_bxn : ndarray, shape (trial, unit)
        Rates before the first step; overwritten by the rates after the last step.
    alpha, keep : float
        dt/τ, and the weight of the previous rates: 1 - α (leaky update) or 1 (non-leaky);
        both of the arrays' dtype.
    activation : int
        A value of :data:`ACTIVATION_CODES`.
    n_steps, step_offset : int
        Steps to take now, and steps already taken (this call may be one block of a run).
    record_every : int
        Store the rates after global step s (counted from 1) in
        ``out_bxsxn[:, s // record_every - 1]`` whenever ``s % record_every == 0``;
        0 stores nothing.
    out_bxsxn : ndarray, shape (trial, records, unit)
    bad_step_b : ndarray of int64, shape (trial,)
        Global index of the first step with non-finite rates, or -1; trials already
        marked are skipped.
    """
    trial_stride = 1 if drive_bxtxn.shape[0] > 1 else 0
    for b in prange(state_bxn.shape[0]):
        if bad_step_b[b] < 0:
            bad_step_b[b] = _advance_trial(
                drive_bxtxn[b * trial_stride], bias_n, weight_hh_t_nxn, state_bxn[b], alpha,
                keep, activation, n_steps, step_offset, record_every, out_bxsxn[b],
            )


@njit(cache=True)
def run_trials_serial(
    drive_bxtxn: np.ndarray,
    bias_n: np.ndarray,
    weight_hh_t_nxn: np.ndarray,
    state_bxn: np.ndarray,
    alpha: float,
    keep: float,
    activation: int,
    n_steps: int,
    step_offset: int,
    record_every: int,
    out_bxsxn: np.ndarray,
    bad_step_b: np.ndarray,
) -> None:
    """:func:`run_trials_parallel` on the calling thread (same arguments, same results)."""
    trial_stride = 1 if drive_bxtxn.shape[0] > 1 else 0
    for b in range(state_bxn.shape[0]):
        if bad_step_b[b] < 0:
            bad_step_b[b] = _advance_trial(
                drive_bxtxn[b * trial_stride], bias_n, weight_hh_t_nxn, state_bxn[b], alpha,
                keep, activation, n_steps, step_offset, record_every, out_bxsxn[b],
            )


@njit(cache=True, fastmath=_FASTMATH)
def run_trials_blocked(
    drive_bxtxn: np.ndarray,
    bias_n: np.ndarray,
    weight_hh_t_nxn: np.ndarray,
    state_bxn: np.ndarray,
    alpha: float,
    keep: float,
    activation: int,
    n_steps: int,
    step_offset: int,
    record_every: int,
    out_bxsxn: np.ndarray,
    bad_step_b: np.ndarray,
) -> None:
    """:func:`run_trials_parallel`'s work (same arguments) with one BLAS matmul a step.

    The strategy for a block of trials on one thread: at each step ``r @ weight_hhᵀ`` of
    the whole block is one matmul (the product of trials already marked is computed and
    ignored), then each unmarked trial gets the drive of that step, the bias, f and the
    update. The results equal the other kernels' up to rounding (BLAS sums the product in
    its own order, over every unit). The block's arrays should fit in cache (the engine
    passes 128 trials).
    """
    trial_stride = 1 if drive_bxtxn.shape[0] > 1 else 0
    step_stride = 1 if drive_bxtxn.shape[1] > 1 else 0
    h_bxn = np.empty_like(state_bxn)
    for t in range(n_steps):
        np.dot(state_bxn, weight_hh_t_nxn, h_bxn)
        step = step_offset + t
        record = (step + 1) // record_every - 1 if record_every > 0 and (step + 1) % record_every == 0 else -1
        for b in range(state_bxn.shape[0]):
            if bad_step_b[b] >= 0:
                continue
            h_n, r_n = h_bxn[b], state_bxn[b]
            _activate(h_n, drive_bxtxn[b * trial_stride, t * step_stride], bias_n, activation)
            if not _update(r_n, h_n, alpha, keep):
                bad_step_b[b] = step
            elif record >= 0:
                _copy(r_n, out_bxsxn[b, record])
