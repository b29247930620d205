"""The array engine: noise blocks, strategies, blocks of steps, readout, divergence report."""

from __future__ import annotations

import numpy as np
import pytest

from neurodis.simulator import CTRNNWeights
from neurodis.simulator import _engine as engine
from tests.simulator.reference import readout, simulate_reference

N_IN, N, N_OUT = 4, 10, 3


def _weights(**options) -> CTRNNWeights:
    return CTRNNWeights.random(n_inputs=N_IN, n_units=N, n_outputs=N_OUT, rng=1, dt=25.0, **options)


def _noise(w: CTRNNWeights, n_trials: int, seed: int = 0) -> engine.NoiseSource:
    kw = engine.kernel_weights(w, np.float64)
    source, kind = engine.make_noise(None, w, kw, n_trials, 0, lambda: np.random.default_rng(seed),
                                     np.float64)
    assert kind == "drawn"
    return source


def test_noise_blocks_of_any_length_give_the_same_draws() -> None:
    w = _weights(recurrent_noise=0.1, input_noise=0.1)
    whole = _noise(w, 5).block(0, 9)
    source = _noise(w, 5)
    parts = [source.block(t0, t1) for t0, t1 in ((0, 2), (2, 7), (7, 9))]
    for which in range(2):
        np.testing.assert_array_equal(np.concatenate([p[which] for p in parts], axis=1), whole[which])
    assert whole[0].shape == (5, 9, N) and whole[1].shape == (5, 9, N_IN)


def test_noise_levels_of_zero_draw_nothing() -> None:
    w = _weights()
    kw = engine.kernel_weights(w, np.float32)

    def never() -> np.random.Generator:
        raise AssertionError("the generator must not be touched without noise")

    source, kind = engine.make_noise(None, w, kw, 3, 5, never, np.float32)
    assert kind == "off" and source.block(0, 5) == (None, None)


@pytest.mark.parametrize("strategy", ["serial", "parallel", "blocked"])
@pytest.mark.parametrize("record_every", [0, 1, 4])
def test_strategies_and_blocks_of_steps_agree_with_the_reference(strategy: str, record_every: int,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(engine, "BLOCK_ELEMENTS", 3 * 7 * N)  # 3 steps per block for 7 trials
    monkeypatch.setattr(engine, "BLOCKED_TRIALS", 3)  # blocks of 3, 3 and 1 trials
    w = _weights(recurrent_noise=0.4, input_noise=0.3, activation="tanh")
    kw = engine.kernel_weights(w, np.float64)
    inputs = np.random.default_rng(0).normal(size=(7, 12, N_IN))
    source = _noise(w, 7, seed=2)
    xi, zeta = _noise(w, 7, seed=2).block(0, 12)
    expected, _, _ = simulate_reference(w, inputs, xi=xi, zeta=zeta)
    state = np.zeros((7, N))
    records, bad = engine.integrate(kw, state, 12, engine.InputDrive(kw, inputs, source),
                                    record_every=record_every, strategy=strategy)
    assert (bad == -1).all()
    np.testing.assert_allclose(state, expected[:, -1], rtol=0, atol=1e-12)
    if record_every:
        np.testing.assert_allclose(records, expected[:, record_every - 1::record_every], rtol=0, atol=1e-12)
    else:
        assert records.shape == (7, 0, N)


@pytest.mark.parametrize("record_every", [1, 4])
@pytest.mark.parametrize("noisy", [False, True])
def test_blocked_records_through_the_scratch_equal_direct_writes(record_every: int, noisy: bool,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(engine, "BLOCK_ELEMENTS", 3 * 7 * N)  # 3 steps per block for 7 trials
    monkeypatch.setattr(engine, "BLOCKED_TRIALS", 3)  # blocks of 3, 3 and 1 trials
    w = _weights(recurrent_noise=0.4 if noisy else 0.0)
    kw = engine.kernel_weights(w, np.float64)
    inputs = np.random.default_rng(0).normal(size=(7, 12, N_IN))
    runs = []
    for scratch_bytes in (0, engine.SCRATCH_BYTES):  # 0: every record written straight into the output
        monkeypatch.setattr(engine, "SCRATCH_BYTES", scratch_bytes)
        source = _noise(w, 7, seed=2) if noisy else engine.make_noise(None, w, kw, 7, 12, None, np.float64)[0]
        state = np.zeros((7, N))
        records, bad = engine.integrate(kw, state, 12, engine.InputDrive(kw, inputs, source),
                                        record_every=record_every, strategy="blocked")
        runs.append((records, state, bad))
    for direct, gathered in zip(*runs):
        np.testing.assert_array_equal(gathered, direct)
    assert runs[0][0].shape == (7, 12 // record_every, N)


def test_choose_strategy_keeps_small_batches_on_one_thread() -> None:
    assert engine.choose_strategy(1, 10_000, 64) == "serial"
    assert engine.choose_strategy(16, 22, 64) == "serial"
    assert engine.choose_strategy(engine.BLOCKED_MIN_TRIALS, 1, 8) == "blocked"


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "linear"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_readout_equals_the_reference(kind: str, dtype) -> None:
    w = _weights(readout=kind, bound=3.0)
    rates = np.random.default_rng(0).normal(0, 3, (2, 5, N))
    logits, outputs = engine.readout(engine.kernel_weights(w, dtype), kind, 3.0, rates.astype(dtype))
    expected_logits, expected = readout(rates, w)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(logits, expected_logits, rtol=0, atol=tol)
    np.testing.assert_allclose(outputs, expected, rtol=0, atol=tol)
    assert outputs.dtype == dtype and outputs is not logits


def test_divergence_report_names_the_earliest_step() -> None:
    with pytest.raises(ValueError, match=r"at trial 3, step 2 \(time 50 ms\); 2 trial\(s\) diverged"):
        engine.raise_if_diverged(np.array([-1, 7, -1, 2]), dt=25.0)
    engine.raise_if_diverged(np.array([-1, -1]), dt=25.0)  # finite runs pass silently


def test_kernel_weights_are_cached_per_dtype() -> None:
    w = _weights(leaky=False)
    kw32 = engine.kernel_weights(w, np.float32)
    assert engine.kernel_weights(w, np.float32) is kw32
    assert kw32.keep == 1.0 and kw32.alpha == np.float32(0.25) and kw32.weight_hh_t.flags.c_contiguous
    np.testing.assert_array_equal(engine.kernel_weights(w, np.float64).weight_hh_t, w.weight_hh.T)
