"""Tiny tasks, encoders, models and configs shared by the training tests."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from neurodis.models import CTRNN
from neurodis.tasks import Encoder, Task, make_task
from neurodis.training import TrainConfig

# 1 fixation + 5 stimulus + 1 decision step keeps every batch cheap
SHORT = {"stimulus": 500.0}


@pytest.fixture(autouse=True)
def _one_thread():
    """Small kernels run fastest on one thread (and the tests share the machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_task(n_tasks: int = 3, **params: Any) -> Task:
    return make_task("classification", **{"n_tasks": n_tasks, "timing": SHORT, **params})


def tiny_encoder(seed: int = 0) -> Encoder:
    return Encoder(n_dims=2, hidden=(6,), n_out=4, seed=seed)


def tiny_ctrnn(n_outputs: int = 3, seed: int = 0, **options: Any) -> CTRNN:
    """A CTRNN for the tiny encoder: 1 fixation + 4 encoded inputs."""
    return CTRNN(5, n_outputs, n_units=8, seed=seed, **options)


def tiny_config(**fields: Any) -> TrainConfig:
    defaults = {"n_batches": 12, "batch_size": 4, "log_every": 3, "checkpoint_every": 6, "seed": 1}
    return TrainConfig(**{**defaults, **fields})


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def comparable(name: str, parameter: torch.Tensor) -> torch.Tensor:
    """A parameter as two implementations of one training should agree on it.

    A transformer's key bias (the middle third of ``qkv.bias``) has an exactly zero
    gradient (softmax ignores a shift common to all keys), so Adam steps on rounding
    noise alone there: only its query and value parts are comparable.
    """
    if name.endswith("qkv.bias"):
        third = len(parameter) // 3
        return torch.cat([parameter[:third], parameter[2 * third:]])
    return parameter
