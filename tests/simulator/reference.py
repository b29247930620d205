"""Slow, obviously correct numpy reference of the CTRNN equations (one trial, one step at a time).

Written straight from the equations in ``INTERFACES.md``, with no shared code with the
simulator, so the fast kernels can be checked against it.
"""

from __future__ import annotations

import numpy as np


def activate(pre: np.ndarray, activation: str) -> np.ndarray:
    """f(pre), with softplus as torch defines it (x itself above 20)."""
    if activation == "relu":
        return np.maximum(pre, 0.0)
    if activation == "tanh":
        return np.tanh(pre)
    if activation == "softplus":
        with np.errstate(over="ignore"):
            return np.where(pre > 20.0, pre, np.log1p(np.exp(pre)))
    return pre.copy()


def readout(rates: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
    """(logits, outputs) of rates (..., unit)."""
    logits = rates @ weights.readout_weight.T + weights.readout_bias
    if weights.readout == "sigmoid":
        outputs = 1.0 / (1.0 + np.exp(-logits))
    elif weights.readout == "tanh":
        outputs = weights.bound * np.tanh(logits)
    else:
        outputs = logits
    return logits, outputs


def simulate_reference(weights, inputs, *, initial_state=None, xi=None, zeta=None):
    """Rates (trial, time, unit), logits and outputs, looping over trials and steps.

    ``xi`` (trial, time, unit) and ``zeta`` (trial, time, input) are the standard-normal
    draws; omitted draws are zero.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    n_trials, n_steps, _ = inputs.shape
    n = weights.n_units
    alpha = weights.dt / weights.tau
    scale = np.sqrt(2.0 / alpha)
    rates = np.zeros((n_trials, n_steps, n))
    for b in range(n_trials):
        r = np.zeros(n) if initial_state is None else np.array(initial_state[b], dtype=np.float64)
        for t in range(n_steps):
            u = inputs[b, t].copy()
            if zeta is not None:
                u = u + scale * weights.input_noise * zeta[b, t]
            pre = weights.weight_ih @ u + weights.weight_hh @ r + weights.bias
            if xi is not None:
                pre = pre + scale * weights.recurrent_noise * xi[b, t]
            f = activate(pre, weights.activation)
            r = (1.0 - alpha) * r + alpha * f if weights.leaky else r + alpha * f
            rates[b, t] = r
    logits, outputs = readout(rates, weights)
    return rates, logits, outputs


def drive_reference(drive, bias, weight_hh, state, alpha, keep, activation, n_steps):
    """Reference of the kernels' contract: trajectory (trial, step, unit) from a drive.

    ``drive`` has shape (trial or 1, n_steps or 1, unit) and is broadcast.
    """
    n_trials, n = state.shape
    out = np.zeros((n_trials, n_steps, n))
    for b in range(n_trials):
        r = np.array(state[b], dtype=np.float64)
        for t in range(n_steps):
            d = drive[b if drive.shape[0] > 1 else 0, t if drive.shape[1] > 1 else 0]
            f = activate(d + bias + weight_hh @ r, activation)
            r = keep * r + alpha * f
            out[b, t] = r
    return out
