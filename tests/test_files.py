"""neurodis.files: atomic writes, JSON, SHA-256 sidecars, stale temporary files, path checks."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from neurodis import files
from neurodis.errors import CorruptFileError
from neurodis.files import (
    atomic_write,
    check_path,
    clean_stale_temps,
    file_sha256,
    read_json,
    sidecar_path,
    verify_file,
    write_json,
)
from neurodis.trials import load_dataset, save_dataset


def flip_bit(path: Path, offset: int | None = None) -> None:
    """Flip the lowest bit of one byte (the middle one by default) in place."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def dataset() -> xr.Dataset:
    return xr.Dataset({"r2": (("run",), np.linspace(0.0, 1.0, 50))}, attrs={"seed": 3})


# -- atomic writes -------------------------------------------------------------------------


def test_atomic_write_replaces_and_records_the_digest(tmp_path):
    path = atomic_write(tmp_path / "a" / "w.bin", lambda tmp: tmp.write_bytes(b"old"), checksum=True)
    atomic_write(path, lambda tmp: tmp.write_bytes(b"new"), checksum=True)
    assert path.read_bytes() == b"new" and verify_file(path)
    assert sidecar_path(path).read_text() == f"{file_sha256(path)}  w.bin\n"  # sha256sum -c reads this
    assert leftovers(path.parent) == []


def test_a_file_rewritten_without_checksum_loses_its_old_sidecar(tmp_path):
    path = atomic_write(tmp_path / "w.bin", lambda tmp: tmp.write_bytes(b"old"), checksum=True)
    atomic_write(path, lambda tmp: tmp.write_bytes(b"new"))
    assert not sidecar_path(path).exists() and verify_file(path) is False


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_no_temporary_file_and_the_old_content(tmp_path, error):
    path = write_json(tmp_path / "c.json", {"a": 1}, checksum=True)

    def write(tmp: Path) -> None:
        tmp.write_text("{half")
        raise error

    with pytest.raises(type(error)):
        atomic_write(path, write, checksum=True)
    assert read_json(path) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.json.sha256"]


def test_unserialisable_json_touches_nothing(tmp_path):
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json(tmp_path / "c.json", {"a": object()})
    assert list(tmp_path.iterdir()) == []


def _count_fsyncs(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


@pytest.mark.parametrize("checksum, expected", [(False, 2), (True, 4)])
def test_every_write_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch, checksum, expected):
    calls = _count_fsyncs(monkeypatch)
    atomic_write(tmp_path / "w.bin", lambda tmp: tmp.write_bytes(b"x"), checksum=checksum)
    assert len(calls) == expected  # file + folder, and again for the sidecar


def test_netcdf_json_checkpoint_model_and_encoder_writes_are_fsynced(tmp_path, monkeypatch, dataset):
    import torch

    from neurodis.models import CTRNN, save_model
    from neurodis.tasks import Encoder
    from neurodis.training.checkpoint import FORMAT, save_checkpoint

    calls = _count_fsyncs(monkeypatch)
    writes = [
        (lambda: save_dataset(dataset, tmp_path / "result.nc"), 4),
        (lambda: write_json(tmp_path / "store.json", {"schema": 1}), 2),
        (lambda: save_checkpoint({"format": FORMAT, "w": torch.zeros(2)}, tmp_path / "checkpoint.pt"), 4),
        (lambda: save_model(CTRNN(2, 1, n_units=3), tmp_path / "model"), 6),  # weights + sidecar + config
        (lambda: Encoder(hidden=(3,), n_out=2).save(tmp_path / "encoder.json"), 4),
    ]
    for write, expected in writes:
        before = len(calls)
        write()
        assert len(calls) - before == expected


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_files_honour_the_umask(tmp_path, umask, mode, dataset):
    old = os.umask(umask)
    try:
        paths = [save_dataset(dataset, tmp_path / "result.nc"), write_json(tmp_path / "c.json", {})]
    finally:
        os.umask(old)
    for path in [*paths, sidecar_path(paths[0])]:
        assert path.stat().st_mode & 0o777 == mode


def test_a_writer_that_recreates_the_file_still_gets_the_umask_mode(tmp_path):
    def recreate(tmp: Path) -> None:
        tmp.unlink()
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600))

    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "w.bin", recreate)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


# -- stale temporary files -----------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_files_are_removed_when_the_folder_is_written(tmp_path):
    dead = tmp_path / f".result.nc.{files._HOST}.{_dead_pid()}.0123abcd.tmp"
    alive = tmp_path / f".result.nc.{files._HOST}.{os.getppid()}.0123abcd.tmp"
    elsewhere = tmp_path / ".result.nc.otherhost.1.0123abcd.tmp"  # pids of other machines mean nothing here
    old_legacy = tmp_path / ".checkpoint.pt.k2j_9xq0.tmp"  # an older neurodis's mkstemp name
    just_dead = tmp_path / f".history.nc.{files._HOST}.{_dead_pid()}.0123abcd.tmp"  # maybe another pid namespace
    for path in (dead, alive, elsewhere, old_legacy, just_dead):
        path.write_bytes(b"half")
    minutes_ago = time.time() - files.DEAD_WRITER_SECONDS - 60
    for path in (dead, alive, elsewhere):
        os.utime(path, (minutes_ago, minutes_ago))
    day_ago = time.time() - files.STALE_SECONDS - 60
    os.utime(old_legacy, (day_ago, day_ago))
    write_json(tmp_path / "c.json", {})
    assert leftovers(tmp_path) == sorted([alive.name, elsewhere.name, just_dead.name])
    os.utime(elsewhere, (day_ago, day_ago))
    assert clean_stale_temps(tmp_path) == [elsewhere]
    assert sorted(clean_stale_temps(tmp_path, max_age=0)) == sorted([alive, just_dead])
    assert clean_stale_temps(tmp_path / "absent") == []
    with pytest.raises(ValueError, match="max_age must be >= 0.0; got -1.0"):
        clean_stale_temps(tmp_path, max_age=-1)


# -- verification ----------------------------------------------------------------------------


def test_one_flipped_bit_in_a_netcdf_file_is_refused(tmp_path, dataset):
    path = save_dataset(dataset, tmp_path / "result.nc")
    flip_bit(path)
    with pytest.raises(CorruptFileError, match=r"result\.nc is corrupt: its SHA-256 is [0-9a-f]{16}\.\.\. but "
                                               r"result\.nc\.sha256 recorded [0-9a-f]{16}\.\.\."):
        load_dataset(path)


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
@pytest.mark.parametrize("sidecar", [True, False])
def test_damaged_netcdf_files_are_refused_naming_the_file(tmp_path, dataset, damage, sidecar):
    path = save_dataset(dataset, tmp_path / "result.nc")
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "garbage": b"\x89HDF not really"}[damage])
    if not sidecar:  # a file written before checksums existed: parsing still catches it
        sidecar_path(path).unlink()
        match = r"result\.nc is truncated, empty or not a netCDF file"
    else:
        match = r"result\.nc is corrupt: its SHA-256"
    with pytest.raises(CorruptFileError, match=match):
        load_dataset(path)


def test_files_without_a_sidecar_still_load(tmp_path, dataset):
    path = save_dataset(dataset, tmp_path / "result.nc")
    sidecar_path(path).unlink()
    assert verify_file(path) is False
    xr.testing.assert_identical(load_dataset(path), dataset)


def test_a_garbled_sidecar_is_refused(tmp_path):
    path = atomic_write(tmp_path / "w.bin", lambda tmp: tmp.write_bytes(b"x"), checksum=True)
    sidecar_path(path).write_text("not a digest\n")
    with pytest.raises(CorruptFileError, match=r"checksum file .*w\.bin\.sha256' must hold a line .*got 'not a"):
        verify_file(path)
    sidecar_path(path).write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"w\.bin\.sha256' must hold a line .*empty or garbled"):
        verify_file(path)


@pytest.mark.parametrize("content", [b"", b'{"a": [1, 2', b"\xff\xfe garbage"])
def test_empty_truncated_or_garbled_json_is_refused_naming_the_file(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match=r"config\.json is not valid JSON \(empty, truncated or garbled\)"):
        read_json(path)


def test_read_json_refuses_missing_files_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path must be an existing file; got .*absent\.json'"):
        read_json(tmp_path / "absent.json")
    with pytest.raises(ValueError, match=r"path must be a file path; got .*, which is an existing folder"):
        read_json(tmp_path)


# -- path arguments --------------------------------------------------------------------------


@pytest.mark.parametrize("bad, shown", [(None, "NoneType None"), (3, "int 3"), (b"a", "bytes b'a'")])
def test_paths_must_be_paths(bad, shown, dataset):
    with pytest.raises(TypeError, match=f"out must be a path \\(str or os.PathLike\\); got {shown}"):
        check_path("out", bad)
    with pytest.raises(TypeError, match="path must be a path"):
        save_dataset(dataset, bad)
    with pytest.raises(TypeError, match="path must be a path"):
        load_dataset(bad)


def test_path_checks_refuse_empty_paths_and_collisions(tmp_path, dataset):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="out must be a non-empty path; got ''"):
        check_path("out", "")
    with pytest.raises(ValueError, match=r"path must be a file path; got .*, which is an existing folder"):
        save_dataset(dataset, tmp_path)
    with pytest.raises(ValueError, match=r"path .*file/result\.nc' cannot be created: .*file' is a file"):
        save_dataset(dataset, tmp_path / "file" / "result.nc")
    with pytest.raises(ValueError, match=r"run must be a folder; got .*file', which is an existing file"):
        check_path("run", tmp_path / "file", kind="folder")
    with pytest.raises(ValueError, match=r"kind must be one of \['file', 'folder'\]; got 'dir'"):
        check_path("run", tmp_path, kind="dir")
    with pytest.raises(FileNotFoundError, match=r"run must be an existing folder; got .*absent'"):
        check_path("run", tmp_path / "absent", kind="folder", must_exist=True)
    with pytest.raises(ValueError, match=r"path must be a file path; got .*, which is an existing folder"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("code, fails", [(errno.EINVAL, False), (errno.EIO, True)])
def test_a_folder_that_cannot_be_synced_is_tolerated_but_an_io_error_is_not(tmp_path, monkeypatch, code, fails):
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    if fails:
        with pytest.raises(OSError, match="Input/output error"):
            write_json(tmp_path / "c.json", {})
    else:
        assert read_json(write_json(tmp_path / "c.json", {})) == {}
