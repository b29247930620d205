"""TrainConfig: defaults, validation of every field, JSON round trip, differences."""

from __future__ import annotations

import json

import pytest
import torch

from neurodis.training import TrainConfig


def test_defaults_are_the_paper_protocol():
    config = TrainConfig()
    assert (config.n_batches, config.batch_size, config.lr) == (100_000, 16, 1e-3)
    assert config.loss is None and config.grad_clip is None and config.device == "cpu"


def test_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        TrainConfig(10)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        TrainConfig().lr = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("n_batches", 0, ValueError, r"n_batches must be an integer >= 1; got 0"),
        ("n_batches", 1.5, TypeError, r"n_batches must be an integer; got float"),
        ("batch_size", -2, ValueError, r"batch_size must be an integer >= 1; got -2"),
        ("lr", 0.0, ValueError, r"lr must be > 0.0; got 0.0"),
        ("lr", float("nan"), ValueError, r"lr must be a finite real number"),
        ("lr", "fast", TypeError, r"lr must be a real number"),
        ("loss", "hinge", ValueError, r"loss must be one of \['bce', 'mse'\]; got 'hinge'"),
        ("grad_clip", -1.0, ValueError, r"grad_clip must be > 0.0; got -1.0"),
        ("lr_end", 0.0, ValueError, r"lr_end must be > 0.0; got 0.0"),
        ("lr_end", 2e-3, ValueError, r"lr_end must be <= 0.001; got 0.002"),
        ("lr_end", "low", TypeError, r"lr_end must be a real number"),
        ("checkpoint_every", 0, ValueError, r"checkpoint_every must be an integer >= 1"),
        ("log_every", 0, ValueError, r"log_every must be an integer >= 1"),
        ("checkpoint_every", 150, ValueError, r"checkpoint_every must be a multiple of log_every=100; got 150"),
        ("ideal_trials", -1, ValueError, r"ideal_trials must be an integer >= 0"),
        ("device", "tpu", ValueError, r"device must be one of \['cpu', 'cuda'\]; got 'tpu'"),
        ("seed", -1, ValueError, r"seed must be an integer >= 0; got -1"),
        ("encoder", "cubic", ValueError, r"encoder must be one of \['relu', 'quadratic', 'none'\]"),
    ],
)
def test_invalid_fields_are_named(field, value, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**{field: value})


def test_json_round_trip_is_exact():
    config = TrainConfig(n_batches=7, lr=3e-4, lr_end=1e-5, loss="mse", grad_clip=0.5, seed=9, encoder="quadratic")
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config


def test_from_dict_refuses_unknown_keys_and_non_dicts():
    with pytest.raises(TypeError, match=r"not TrainConfig fields: \['epochs'\]"):
        TrainConfig.from_dict({"epochs": 1})
    with pytest.raises(TypeError, match=r"data must be a dict of TrainConfig fields; got list"):
        TrainConfig.from_dict([("lr", 1.0)])  # type: ignore[arg-type]


@pytest.mark.parametrize("n_batches", [1, 2, 7, 1000])
def test_lr_at_is_torchs_cosine_annealing_from_lr_to_lr_end(n_batches):
    config = TrainConfig(n_batches=n_batches, lr=1e-2, lr_end=1e-5)
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, n_batches - 1), eta_min=config.lr_end)
    for batch in range(n_batches):
        assert config.lr_at(batch) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-9)
        assert TrainConfig(n_batches=n_batches).lr_at(batch) == 1e-3
        optimizer.step()
        schedule.step()
    assert config.lr_at(n_batches - 1) == pytest.approx(1e-5 if n_batches > 1 else 1e-2, rel=1e-12)
    with pytest.raises(ValueError, match=rf"batch must be an integer in \[0, {n_batches - 1}\]; got {n_batches}"):
        config.lr_at(n_batches)


def test_differences_lists_changed_fields_only():
    a, b = TrainConfig(seed=1, lr=1e-3), TrainConfig(seed=2, lr=1e-3, batch_size=8)
    assert a.differences(b) == {"seed": (1, 2), "batch_size": (16, 8)}
    assert a.differences(a) == {}
    with pytest.raises(TypeError, match=r"other must be a TrainConfig; got dict"):
        a.differences({})  # type: ignore[arg-type]
