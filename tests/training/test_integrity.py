"""Damaged checkpoints, run files and encoders are refused, and a resume never uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neurodis.errors import CorruptFileError
from neurodis.files import sidecar_path, write_json
from neurodis.tasks import Encoder
from neurodis.training import TrainedNetwork, adopt_members, load_checkpoint, train, train_ensemble
from neurodis.training.checkpoint import FORMAT, save_checkpoint
from tests.test_files import flip_bit
from tests.training.conftest import tiny_config, tiny_ctrnn, tiny_encoder, tiny_task


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished single-network run folder (12 batches, checkpoints at 6 and 12)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), out=run, progress=False)
    return run


@pytest.fixture
def run(finished: Path, tmp_path: Path) -> Path:
    """A private copy of the finished run, free to damage."""
    copy = tmp_path / "run"
    for name, data in _snapshot(finished).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    return copy


def test_one_flipped_bit_in_a_checkpoint_is_refused(run):
    flip_bit(run / "checkpoint.pt")
    with pytest.raises(CorruptFileError, match=r"checkpoint\.pt is corrupt: its SHA-256 is [0-9a-f]{16}\.\.\. but "
                                               r"checkpoint\.pt\.sha256 recorded"):
        load_checkpoint(run)


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_damaged_checkpoints_without_sidecar_are_refused_naming_the_file(run, damage):
    path = run / "checkpoint.pt"
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "garbage": b"PK\x03\x04 nonsense"}[damage])
    sidecar_path(path).unlink()
    with pytest.raises(CorruptFileError, match=r"checkpoint\.pt is truncated, garbled or not a torch checkpoint "
                                               r"and was not used \(\w+") as info:
        load_checkpoint(path)
    assert "weights_only=False" not in str(info.value)


def test_non_finite_checkpoint_weights_are_refused(tmp_path):
    path = save_checkpoint({"format": FORMAT, "weights": {"w": torch.tensor([1.0, float("nan")])}},
                           tmp_path / "checkpoint.pt")
    with pytest.raises(CorruptFileError, match=r"checkpoint\.pt holds non-finite weights \('w' has 1 NaN"):
        load_checkpoint(path)


def test_resuming_a_finished_run_from_a_corrupt_checkpoint_changes_nothing(run):
    flip_bit(run / "checkpoint.pt")
    before = _snapshot(run)
    with pytest.raises(CorruptFileError, match=r"cannot resume: .*checkpoint\.pt is corrupt: .*; remove "
                                               r".*checkpoint\.pt \(and checkpoint\.pt\.sha256\) to train"):
        train(tiny_task(), tiny_ctrnn(), tiny_config(), out=run, resume=True, progress=False)
    assert _snapshot(run) == before  # the model weights above all: byte-identical


def test_resuming_an_ensemble_from_a_corrupt_checkpoint_changes_nothing(tmp_path):
    tasks, models = [tiny_task(2), tiny_task(3)], [tiny_ctrnn(2, seed=0), tiny_ctrnn(3, seed=1)]
    encoders, config = [tiny_encoder(0), tiny_encoder(1)], tiny_config(n_batches=2, log_every=1, checkpoint_every=2)
    out = tmp_path / "ens"
    train_ensemble(tasks, models, config, encoders=encoders, out=out, progress=False)
    (out / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes()[:100])
    before = _snapshot(out)
    with pytest.raises(CorruptFileError, match=r"cannot resume: .*ens/checkpoint\.pt is corrupt"):
        train_ensemble(tasks, models, config, out=out, resume=True, progress=False)
    assert _snapshot(out) == before


def test_runs_written_before_checksums_still_load_and_resume(run):
    for sidecar in run.rglob("*.sha256"):
        sidecar.unlink()
    assert TrainedNetwork.load(run).config == tiny_config()
    train(tiny_task(), tiny_ctrnn(), tiny_config(), out=run, resume=True, progress=False)
    assert (run / "checkpoint.pt.sha256").is_file() and (run / "model" / "model.safetensors.sha256").is_file()


@pytest.mark.parametrize("bad", [None, 3])
def test_trained_network_load_needs_a_path(bad):
    with pytest.raises(TypeError, match="path must be a path"):
        TrainedNetwork.load(bad)


def test_train_out_must_be_a_folder_path(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TypeError, match=r"out must be a path \(str or os.PathLike\); got int 3"):
        train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), out=3, progress=False)
    with pytest.raises(ValueError, match=r"out must be a folder; got .*file', which is an existing file"):
        train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), out=tmp_path / "file",
              progress=False)


@pytest.mark.parametrize("name, match", [
    ("history.nc", r"history\.nc is corrupt: its SHA-256"),
    ("model/model.safetensors", r"model\.safetensors is corrupt: its SHA-256"),
    ("encoder.json", r"encoder\.json is corrupt: its SHA-256"),
])
def test_trained_network_load_refuses_a_damaged_file_naming_it(run, name, match):
    flip_bit(run / name)
    with pytest.raises(CorruptFileError, match=match):
        TrainedNetwork.load(run)


def test_trained_network_load_refuses_a_garbled_description(run):
    (run / "config.json").write_text('{"train": {')
    with pytest.raises(CorruptFileError, match=r"run/config\.json is not valid JSON"):
        TrainedNetwork.load(run)
    (run / "config.json").write_text('{"train": {}}')
    with pytest.raises(CorruptFileError, match=r"config\.json must hold a run description with keys 'task' and "
                                               r"'train'; got \{'train': \{\}\}"):
        TrainedNetwork.load(run)
    (run / "config.json").write_text('{"train": {}, "task": {"task": "classification", "n_tasks": 0}}')
    with pytest.raises(ValueError, match=r"config\.json must describe the run's task and training config; got an "
                                         r"error: n_tasks must be an integer >= 1"):
        TrainedNetwork.load(run)


def test_a_sweep_run_folder_loads_with_load_network_which_names_what_it_lacks(tmp_path):
    from neurodis.sweeps import load_network
    from neurodis.sweeps.config import RunConfig

    config = RunConfig(n_batches=2).to_dict()
    write_json(tmp_path / "config.json", config)  # laid out by a sweep, not trained yet
    with pytest.raises(ValueError, match=r"is a sweep's run folder"):
        TrainedNetwork.load(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"sweep run that has been trained \(with model/\); got .*no model"):
        load_network(tmp_path)
    write_json(tmp_path / "config.json", {**config, "n_batches": 0})
    with pytest.raises(ValueError, match=r"config\.json must hold a sweep's run config; got an error: n_batches "
                                         r"must be an integer >= 1"):
        load_network(tmp_path)


def test_adopting_members_refuses_a_corrupt_source_checkpoint(tmp_path):
    tasks, models = [tiny_task(2), tiny_task(3)], [tiny_ctrnn(2, seed=0), tiny_ctrnn(3, seed=1)]
    encoders, config = [tiny_encoder(0), tiny_encoder(1)], tiny_config(n_batches=2, log_every=1, checkpoint_every=2)
    train_ensemble(tasks, models, config, encoders=encoders, seeds=[1, 2], out=tmp_path / "old", progress=False)
    flip_bit(tmp_path / "old" / "checkpoint.pt")
    with pytest.raises(CorruptFileError, match=r"old/checkpoint\.pt is corrupt"):
        adopt_members(tmp_path / "old", tasks[:1], models[:1], config, seeds=[1], encoders=encoders[:1],
                      out=tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_encoder_files_are_checked(tmp_path):
    encoder = Encoder(hidden=(3,), n_out=2, seed=4)
    for name in ("encoder.json", "encoder.nc"):
        path = encoder.save(tmp_path / name)
        assert Encoder.load(path) == encoder
        flip_bit(path)
        with pytest.raises(CorruptFileError, match=f"{name} is corrupt: its SHA-256"):
            Encoder.load(path)
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match=r"other\.json must hold an encoder written by Encoder\.save; got an error: "
                                         r"data must contain keys"):
        Encoder.load(tmp_path / "other.json")
    with pytest.raises(TypeError, match="path must be a path"):
        Encoder.load(None)
