"""Small model configurations shared by the model tests."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from neurodis.models import SequenceModel, list_models, make_model

N_INPUTS, N_OUTPUTS, N_UNITS = 3, 2, 8

# per-arch overrides that keep every model tiny but exercise its noise/dropout paths
EXTRA: dict[str, dict[str, Any]] = {
    "ctrnn": {"dt": 50.0, "tau": 100.0},
    "lstm": {},
    "gru": {},
    "transformer": {"n_heads": 2, "positional": "learned", "max_len": 16},
}


def build(arch: str, **overrides: Any) -> SequenceModel:
    """A small model of ``arch`` (3 inputs, 2 outputs, 8 units) with ``overrides``."""
    config = {"n_inputs": N_INPUTS, "n_outputs": N_OUTPUTS, "n_units": N_UNITS, **EXTRA[arch], **overrides}
    return make_model(arch, **config)


@pytest.fixture(params=list_models())
def arch(request: pytest.FixtureRequest) -> str:
    """Every registered architecture, one test id each."""
    return request.param


@pytest.fixture
def inputs() -> torch.Tensor:
    """A (4 trials, 6 steps, 3 inputs) float32 input batch from a fixed generator."""
    return torch.randn(4, 6, N_INPUTS, generator=torch.Generator().manual_seed(1))
