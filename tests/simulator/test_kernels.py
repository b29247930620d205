"""The Numba kernels against the slow reference loop, in float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest

from neurodis.simulator._kernels import (
    ACTIVATION_CODES,
    run_trials_blocked,
    run_trials_parallel,
    run_trials_serial,
)
from tests.simulator.reference import drive_reference

N = 9  # not a multiple of 4: exercises the remainder of the 4-way unrolled product
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _problem(dtype, n_trials: int = 5, n_steps: int = 7, seed: int = 0):
    rng = np.random.default_rng(seed)
    drive = rng.normal(0.0, 1.0, (n_trials, n_steps, N)).astype(dtype)
    bias = rng.normal(0.0, 0.3, N).astype(dtype)
    weight_hh = rng.normal(0.0, 0.8 / np.sqrt(N), (N, N)).astype(dtype)
    state = rng.normal(0.0, 0.5, (n_trials, N)).astype(dtype)
    return drive, bias, weight_hh, state


def _run_trials(kernel, drive, bias, weight_hh, state, alpha, keep, activation, n_steps,
                record_every=1, step_offset=0, out=None, bad=None):
    dtype = state.dtype.type
    state = state.copy()
    out = np.zeros((len(state), n_steps // max(record_every, 1), N), dtype) if out is None else out
    bad = np.full(len(state), -1, np.int64) if bad is None else bad
    # C-contiguous like every array the engine passes (other layouts compile new versions)
    kernel(np.ascontiguousarray(drive), bias, np.ascontiguousarray(weight_hh.T), state, dtype(alpha), dtype(keep),
           ACTIVATION_CODES[activation], n_steps, step_offset, record_every, out, bad)
    return state, out, bad


KERNELS = {"serial": run_trials_serial, "parallel": run_trials_parallel, "blocked": run_trials_blocked}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", list(ACTIVATION_CODES))
@pytest.mark.parametrize("strategy", ["serial", "parallel", "blocked"])
def test_kernels_equal_the_reference(dtype, activation: str, strategy: str) -> None:
    drive, bias, weight_hh, state = _problem(dtype)
    alpha, keep = 0.3, 0.7
    expected = drive_reference(drive.astype(float), bias.astype(float), weight_hh.astype(float),
                               state.astype(float), alpha, keep, activation, 7)
    final, out, bad = _run_trials(KERNELS[strategy], drive, bias, weight_hh, state, alpha, keep, activation, 7)
    np.testing.assert_allclose(out, expected, rtol=0, atol=TOL[dtype])
    np.testing.assert_array_equal(final, out[:, -1])
    assert (bad == -1).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_leaky_update_and_relu_sparsity(dtype) -> None:
    drive, bias, weight_hh, state = _problem(dtype, seed=1)
    state[:, ::2] = 0.0  # many exact zeros: the product skips those units
    expected = drive_reference(drive.astype(float), bias.astype(float), weight_hh.astype(float),
                               state.astype(float), 0.5, 1.0, "relu", 7)
    _, out, _ = _run_trials(run_trials_serial, drive, bias, weight_hh, state, 0.5, 1.0, "relu", 7)
    np.testing.assert_allclose(out, expected, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("strategy", ["serial", "blocked"])
def test_blocks_of_steps_and_subsampling_reproduce_one_run(strategy: str) -> None:
    kernel = KERNELS[strategy]
    drive, bias, weight_hh, state = _problem(np.float64, n_steps=12)
    _, full, _ = _run_trials(kernel, drive, bias, weight_hh, state, 0.2, 0.8, "tanh", 12)
    current, out, bad = state.copy(), np.zeros((5, 4, N)), np.full(5, -1, np.int64)
    for t0 in (0, 5):  # two blocks of 5 and 7 steps, recording every 3rd step
        t1 = min(12, t0 + 7) if t0 else 5
        current, out, bad = _run_trials(kernel, drive[:, t0:t1], bias, weight_hh, current,
                                        0.2, 0.8, "tanh", t1 - t0, record_every=3, step_offset=t0,
                                        out=out, bad=bad)
    np.testing.assert_array_equal(out, full[:, 2::3])
    np.testing.assert_array_equal(current, full[:, -1])


@pytest.mark.parametrize("kernel", list(KERNELS.values()))
def test_length_one_drive_axes_are_broadcast(kernel) -> None:
    drive, bias, weight_hh, state = _problem(np.float64)
    constant = drive[:1, :1]
    _, out, _ = _run_trials(kernel, constant, bias, weight_hh, state, 0.4, 0.6, "relu", 7)
    tiled = np.repeat(np.repeat(constant, 5, axis=0), 7, axis=1)
    _, expected, _ = _run_trials(kernel, tiled, bias, weight_hh, state, 0.4, 0.6, "relu", 7)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("strategy", ["serial", "parallel", "blocked"])
def test_first_non_finite_step_is_reported_per_trial(strategy: str) -> None:
    drive, bias, weight_hh, state = _problem(np.float32)
    drive[2, 4, 3] = np.inf
    drive[4, 6, 0] = np.nan
    _, out, bad = _run_trials(KERNELS[strategy], drive, bias, weight_hh, state, 0.5, 0.5, "linear", 7)
    np.testing.assert_array_equal(bad, [-1, -1, 4, -1, 6])
    assert np.isfinite(out[[0, 1, 3]]).all() and np.isfinite(out[2, :4]).all()


@pytest.mark.parametrize("kernel", list(KERNELS.values()))
def test_trials_already_marked_are_skipped(kernel) -> None:
    drive, bias, weight_hh, state = _problem(np.float64)
    bad = np.array([-1, 3, -1, -1, -1], dtype=np.int64)
    final, _, bad = _run_trials(kernel, drive, bias, weight_hh, state, 0.5, 0.5, "relu", 7, bad=bad)
    np.testing.assert_array_equal(final[1], state[1])
    assert bad[1] == 3


def test_softplus_follows_torch_threshold() -> None:
    drive = np.full((1, 1, N), 25.0)
    zero = np.zeros(N)
    _, out, _ = _run_trials(run_trials_serial, drive, zero, np.zeros((N, N)), np.zeros((1, N)), 1.0, 0.0,
                            "softplus", 1)
    np.testing.assert_array_equal(out[0, 0], 25.0)  # x itself above 20, as torch
