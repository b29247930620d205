"""Checkpoint files: atomic, pickle-free, exact round trips of encoders and random streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodis.errors import CorruptFileError
from neurodis.tasks import Encoder
from neurodis.training import load_checkpoint
from neurodis.training.checkpoint import (
    FORMAT,
    check_same,
    decode_encoder,
    encode_encoder,
    restore_generators,
    save_checkpoint,
    snapshot_generators,
)


def test_round_trip_of_plain_values(tmp_path):
    state = {"format": FORMAT, "weights": {"w": torch.arange(6.0).view(2, 3)}, "batch": 3, "names": ["a", "b"]}
    path = save_checkpoint(state, tmp_path / "run" / "checkpoint.pt")
    loaded = load_checkpoint(tmp_path / "run")  # a run folder works too
    assert torch.equal(loaded["weights"]["w"], state["weights"]["w"])
    assert loaded["batch"] == 3 and loaded["names"] == ["a", "b"]
    # no temporary file left
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt", "checkpoint.pt.sha256"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint({"format": FORMAT, "batch": 1}, tmp_path / "checkpoint.pt")

    class Unsavable:
        def __reduce__(self):
            raise RuntimeError("cannot serialise")

    with pytest.raises(RuntimeError, match="cannot serialise"):
        save_checkpoint({"format": FORMAT, "batch": 2, "bad": Unsavable()}, path)
    assert load_checkpoint(path)["batch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "checkpoint.pt.sha256"]


def test_load_refuses_missing_files_and_foreign_content(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path must be a checkpoint file or a run folder"):
        load_checkpoint(tmp_path / "absent.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"must hold a 'neurodis.train.checkpoint' checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_objects_are_never_unpickled(tmp_path):
    torch.save({"format": FORMAT, "payload": np.random.default_rng(0)}, tmp_path / "evil.pt")
    with pytest.raises(CorruptFileError, match=r"evil\.pt is truncated, garbled or not a torch checkpoint .*"
                                               r"UnpicklingError: it holds objects other than tensors") as info:
        load_checkpoint(tmp_path / "evil.pt")
    assert "weights_only=False" not in str(info.value)  # never advise running the file's code


def test_encoder_round_trip_is_bit_exact(tmp_path):
    encoder = Encoder(hidden=(5, 3), n_out=4, kind="quadratic", seed=11)
    save_checkpoint({"format": FORMAT, "encoder": encode_encoder(encoder)}, tmp_path / "c.pt")
    assert decode_encoder(load_checkpoint(tmp_path / "c.pt")["encoder"]) == encoder
    assert encode_encoder(None) is None and decode_encoder(None) is None


def test_random_streams_continue_exactly_after_restore(tmp_path):
    rng, gen = np.random.default_rng(5), torch.Generator().manual_seed(5)
    rng.normal(size=3), torch.randn(3, generator=gen)
    save_checkpoint({"format": FORMAT, "rng": snapshot_generators(rng, gen)}, tmp_path / "c.pt")
    expected = rng.normal(size=4), torch.randn(4, generator=gen)
    fresh_rng, fresh_gen = np.random.default_rng(0), torch.Generator()
    restore_generators(load_checkpoint(tmp_path / "c.pt")["rng"], fresh_rng, fresh_gen)
    assert np.array_equal(fresh_rng.normal(size=4), expected[0])
    assert torch.equal(torch.randn(4, generator=fresh_gen), expected[1])


def test_check_same_lists_every_differing_field():
    check_same("config", {"a": 1}, {"a": 1})
    with pytest.raises(ValueError, match=r"config differs from the checkpoint's in a \(checkpoint 1, now 2\), "
                                         r"b \(checkpoint '<absent>', now 3\)"):
        check_same("config", {"a": 1}, {"a": 2, "b": 3})
    with pytest.raises(TypeError, match=r"task must be a dict; got list"):
        check_same("task", {}, [])  # type: ignore[arg-type]
