"""save_model / load_model: exact round trips, file layout and every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import neurodis
from neurodis.errors import CorruptFileError
from neurodis.models import CTRNN, load_model, save_model
from neurodis.models.io import CONFIG_FILE, WEIGHTS_FILE
from tests.models.conftest import build


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_model(CTRNN(3, 2, n_units=4), tmp_path / "net")
    return tmp_path / "net"


def _edit_config(directory: Path, **changes) -> None:
    path = directory / CONFIG_FILE
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def test_round_trip_is_exact(arch: str, inputs: torch.Tensor, tmp_path: Path) -> None:
    model = build(arch, seed=11, input_noise=0.2)
    with torch.no_grad():  # move the weights away from their seeded initial values
        for parameter in model.parameters():
            parameter.add_(0.01)
    loaded = load_model(save_model(model, tmp_path / arch))
    assert type(loaded) is type(model) and loaded.config == model.config
    model.eval(), loaded.eval()
    zeta = torch.randn(inputs.shape, generator=torch.Generator().manual_seed(0))
    for got, want in zip(loaded(inputs, input_noise=zeta), model(inputs, input_noise=zeta)):
        assert torch.equal(got, want)


def test_float64_model_loads_as_float64(tmp_path: Path) -> None:
    model = CTRNN(3, 2, n_units=4).double()
    loaded = load_model(save_model(model, tmp_path))
    assert loaded.weight_hh.dtype == torch.float64
    assert torch.equal(loaded.weight_hh, model.weight_hh)


def test_files_written_atomically_and_overwritten(saved: Path) -> None:
    document = json.loads((saved / CONFIG_FILE).read_text())
    assert document["arch"] == "ctrnn" and document["neurodis_version"] == neurodis.__version__
    assert document["config"]["n_units"] == 4
    save_model(CTRNN(3, 2, n_units=5), saved)
    assert load_model(saved).n_units == 5
    # no temporary files left
    assert sorted(p.name for p in saved.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE, WEIGHTS_FILE + ".sha256"]


def test_save_rejects_non_models(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="model must be a neurodis model"):
        save_model(torch.nn.Linear(2, 2), tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="directory must be an existing folder written by save_model; got"):
        load_model(tmp_path / "nowhere")


@pytest.mark.parametrize("name", [CONFIG_FILE, WEIGHTS_FILE])
def test_missing_file(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(ValueError, match=f"directory must contain {name}; got none in"):
        load_model(saved)


def test_invalid_json(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CorruptFileError, match="config.json is not valid JSON"):
        load_model(saved)


def test_config_without_arch(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text(json.dumps({"config": {}}))
    with pytest.raises(ValueError, match="must hold an object with keys 'arch' and 'config'"):
        load_model(saved)


def test_unknown_arch(saved: Path) -> None:
    _edit_config(saved, arch="mamba")
    with pytest.raises(ValueError, match=r"arch in .* must be one of \['ctrnn', 'gru', 'lstm', 'transformer'\]; got 'mamba'"):
        load_model(saved)


def test_invalid_config(saved: Path) -> None:
    document = json.loads((saved / CONFIG_FILE).read_text())
    _edit_config(saved, config={**document["config"], "momentum": 0.9})
    with pytest.raises(ValueError, match="config in .* must be valid for arch 'ctrnn'; got an error: .*momentum"):
        load_model(saved)


def test_shape_mismatch(saved: Path) -> None:
    document = json.loads((saved / CONFIG_FILE).read_text())
    _edit_config(saved, config={**document["config"], "n_units": 6})
    with pytest.raises(ValueError, match=r"weight 'weight_ih' in .* must have shape \(6, 3\) .*; got \(4, 3\)"):
        load_model(saved)


def test_missing_and_unexpected_weights(tmp_path: Path) -> None:
    save_model(build("transformer", positional="learned"), tmp_path)
    document = json.loads((tmp_path / CONFIG_FILE).read_text())
    _edit_config(tmp_path, config={**document["config"], "positional": "zero"})
    with pytest.raises(ValueError, match=r"must match the config's model; missing \[\], unexpected \['positional'\]"):
        load_model(tmp_path)


def test_corrupted_weights_file(saved: Path) -> None:
    (saved / WEIGHTS_FILE).write_bytes(b"\x80\x04not a safetensors file")
    (saved / (WEIGHTS_FILE + ".sha256")).unlink()  # a folder saved before checksums: parsing catches it
    with pytest.raises(CorruptFileError, match="model.safetensors must be a readable safetensors file"):
        load_model(saved)


def _flip_bit(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_one_flipped_bit_in_the_weights_is_refused(saved: Path) -> None:
    path = saved / WEIGHTS_FILE
    _flip_bit(path, path.stat().st_size - 3)  # inside the last tensor's data: still parses
    with pytest.raises(CorruptFileError, match=r"model\.safetensors is corrupt: its SHA-256 is [0-9a-f]{16}\.\.\. but "
                                               r"model\.safetensors\.sha256 recorded [0-9a-f]{16}\.\.\."):
        load_model(saved)


def test_non_finite_weights_are_refused(tmp_path: Path) -> None:
    model = CTRNN(3, 2, n_units=4)
    with torch.no_grad():
        model.weight_hh.fill_(float("nan"))
    save_model(model, tmp_path)
    with pytest.raises(ValueError, match=r"weight 'weight_hh' in .*model\.safetensors must be finite; got 16 NaN"):
        load_model(tmp_path)


@pytest.mark.parametrize("bad", [None, 3])
def test_directory_must_be_a_path(bad, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="directory must be a path"):
        save_model(CTRNN(3, 2, n_units=4), bad)
    with pytest.raises(TypeError, match="directory must be a path"):
        load_model(bad)


def test_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "net").write_text("a file")
    with pytest.raises(ValueError, match=r"directory must be a folder; got .*net', which is an existing file"):
        save_model(CTRNN(3, 2, n_units=4), tmp_path / "net")
    with pytest.raises(ValueError, match=r"directory .*inner' cannot be created: .*net' is a file"):
        save_model(CTRNN(3, 2, n_units=4), tmp_path / "net" / "inner")
