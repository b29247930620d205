"""step_adam: torch's single-tensor Adam bit for bit, or torch's own step where it does not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodis.training import _adam
from neurodis.training._adam import step_adam

#: stacked parameters as the trainer holds them, and odd sizes that leave vector tails
SHAPES = [(25, 256, 41), (25, 64, 64), (25, 24), (3,), (17, 5), (1,)]


@pytest.fixture(autouse=True)
def _no_flush_after():
    yield
    torch.set_flush_denormal(False)


def twin_optimizers(**options) -> tuple[list[torch.nn.Parameter], torch.optim.Adam, list[torch.nn.Parameter],
                                         torch.optim.Adam]:
    generator = torch.Generator().manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in SHAPES]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    options = {"lr": 1e-3, "foreach": False, **options}
    return ours, torch.optim.Adam(ours, **options), theirs, torch.optim.Adam(theirs, **options)


def set_gradients(ours, theirs, step: int, generator: torch.Generator) -> None:
    """Gradients of many sizes, with exact zeros (whose moments decay towards subnormals), and a
    first third that is always zero (as a padded readout's rows: second moments exactly 0)."""
    scale = [1e-3, 10.0, 1e-20, 1.0, 1e4][step % 5]
    for p, q in zip(ours, theirs):
        grad = torch.randn(p.shape, generator=generator) * scale
        grad[grad.abs() < 0.4 * scale] = 0.0
        grad.view(-1)[: grad.numel() // 3] = 0.0
        p.grad, q.grad = grad.clone(), grad.clone()


@pytest.mark.parametrize("flush", [False, True])
@pytest.mark.parametrize("options", [{}, {"betas": (0.8, 0.99), "eps": 1e-6, "lr": 0.05}])
def test_weights_and_moments_equal_torchs_step_bit_for_bit(flush, options, monkeypatch):
    if flush and not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals")
    ours, ours_opt, theirs, theirs_opt = twin_optimizers(**options)
    generator, calls = torch.Generator().manual_seed(1), []
    moments = _adam._moments

    def counting(*args):
        calls.append(1)
        return moments(*args)

    monkeypatch.setattr(_adam, "_moments", counting)
    for step in range(60):
        set_gradients(ours, theirs, step, generator)
        step_adam(ours_opt)
        theirs_opt.step()
        assert all(torch.equal(p, q) for p, q in zip(ours, theirs)), f"weights differ after step {step + 1}"
    # the first step is torch's (it creates the state); every later one took the Numba path
    assert len(calls) == 59 * len(SHAPES)
    for p, q in zip(ours, theirs):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(ours_opt.state[p][key], theirs_opt.state[q][key]), key
    # both roots were taken: tensors with second moments exactly 0, and one without any
    zeros = [int((ours_opt.state[p]["exp_avg_sq"] == 0).sum()) for p in ours]
    assert min(zeros) == 0 and all(z >= p.numel() // 3 for z, p in zip(zeros, ours))


@pytest.mark.parametrize("options", [{"amsgrad": True}, {"weight_decay": 0.01}, {"maximize": True},
                                     {"foreach": True}])
def test_other_adam_options_are_left_to_torch(options, monkeypatch):
    ours, ours_opt, theirs, theirs_opt = twin_optimizers(**options)
    monkeypatch.setattr(_adam, "_moments", lambda *args: pytest.fail("the Numba path ran"))
    generator = torch.Generator().manual_seed(2)
    for step in range(3):
        set_gradients(ours, theirs, step, generator)
        step_adam(ours_opt)
        theirs_opt.step()
    assert all(torch.equal(p, q) for p, q in zip(ours, theirs))


def test_float64_parameters_and_missing_gradients_take_torchs_step(monkeypatch):
    weight = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    unused = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adam([weight, unused], lr=0.1, foreach=False)
    monkeypatch.setattr(_adam, "_moments", lambda *args: pytest.fail("the Numba path ran"))
    for _ in range(2):
        weight.grad = torch.full((4,), 0.5, dtype=torch.float64)
        step_adam(optimizer)
    # two of torch's float64 steps, each moving the weight by lr; the parameter without a gradient untouched
    assert np.allclose(weight.detach().numpy(), 0.8, atol=1e-12)
    assert torch.equal(unused.detach(), torch.ones(2)) and not optimizer.state[unused]
