"""adam_step: Adam with subnormals flushed, against torch's own step with them kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodis.training import _engine, train
from neurodis.training._engine import adam_step
from tests.training.conftest import tiny_config, tiny_ctrnn, tiny_encoder, tiny_task

TINY = float(np.finfo(np.float32).smallest_subnormal)


def flushing() -> bool:
    """Whether this thread flushes subnormals (a product that would be one is zero)."""
    return bool(np.float32(TINY) * np.float32(1.0) == 0)


def stuck_optimizer() -> tuple[torch.nn.Parameter, torch.optim.Adam]:
    """Adam after one step, then with the moments of entries 2 and 3 set to subnormals and their gradient zero."""
    weight = torch.nn.Parameter(torch.tensor([0.3, -1.2, 0.7, 2.5]))
    optimizer = torch.optim.Adam([weight], lr=1e-3, foreach=False)
    weight.grad = torch.tensor([0.01, -0.02, 0.03, 0.04])
    optimizer.step()
    state = optimizer.state[weight]
    state["exp_avg"][2:] = torch.tensor([TINY, -3 * TINY])
    state["exp_avg_sq"][2:] = torch.tensor([5 * TINY, TINY])
    weight.grad = torch.tensor([0.01, -0.02, 0.0, 0.0])
    return weight, optimizer


@pytest.fixture(autouse=True)
def _no_flush_after():
    yield
    torch.set_flush_denormal(False)


def test_subnormal_moments_are_flushed_and_the_weights_match_torchs_step():
    kept_weight, kept = stuck_optimizer()
    for _ in range(5):
        kept.step()
    flushed_weight, flushed = stuck_optimizer()
    for _ in range(5):
        adam_step(flushed)
    # torch's step keeps them: 0.9 (or 0.999) times a few smallest subnormals rounds back to a subnormal
    kept_state, flushed_state = kept.state[kept_weight], flushed.state[flushed_weight]
    assert torch.all((kept_state["exp_avg"][2:].abs() > 0) & (kept_state["exp_avg"][2:].abs() < 1e-38))
    assert torch.equal(flushed_state["exp_avg"][2:], torch.zeros(2))
    assert torch.equal(flushed_state["exp_avg_sq"][2:], torch.zeros(2))
    # the normal entries are untouched and the weights identical bit for bit
    assert torch.equal(flushed_state["exp_avg"][:2], kept_state["exp_avg"][:2])
    assert torch.equal(flushed_weight.detach(), kept_weight.detach())


@pytest.mark.parametrize("before", [False, True])
def test_the_threads_flush_mode_is_restored(before):
    if not torch.set_flush_denormal(before):
        pytest.skip("this CPU cannot flush subnormals")
    assert flushing() is before
    _, optimizer = stuck_optimizer()
    adam_step(optimizer)
    assert flushing() is before


def test_the_trainers_adam_steps_run_flushed_and_leave_the_mode_as_it_was(monkeypatch):
    modes = []
    step = _engine.step_adam

    def recording_step(optimizer):
        modes.append(flushing())
        return step(optimizer)

    monkeypatch.setattr(_engine, "step_adam", recording_step)
    train(tiny_task(), tiny_ctrnn(), tiny_config(n_batches=3), encoder=tiny_encoder(), progress=False)
    assert modes == [True, True, True]
    assert not flushing()
