"""The dataset registry: checksums of the shared copies, lookup order, and the download path.

No network here: downloads go through pooch from ``file://`` URLs (the path a mirror on a
shared disk takes) or fail against a closed local port.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import neurodis
from neurodis.files import file_sha256
from neurodis.recordings import REGISTRY, data_dir, fetch, load_m1_reach, locate
from neurodis.recordings.registry import CACHE_ENV, DATA_ENV, DataFile, DatasetSource, _m1_npy_to_npz, cache_dir

pooch = pytest.importorskip("pooch", reason="pooch (the optional 'data' extra) is not installed")


@pytest.fixture(scope="module")
def root():
    try:
        return data_dir()
    except FileNotFoundError as err:
        pytest.skip(f"the shared recordings folder is not available here: {err}")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty local folder and an empty cache, so nothing is found without a download."""
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "local"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "local").mkdir()
    return tmp_path


def _toy(monkeypatch, tmp_path, content=b"toy data\n", url=None, sha256=None, **extra):
    source = tmp_path / "mirror" / "toy.txt"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(content)
    entry = DataFile(name=extra.pop("name", "toy.txt"), url=url or source.as_uri(),
                     sha256=sha256 or file_sha256(source), **extra)
    monkeypatch.setitem(REGISTRY, "toy", DatasetSource(name="toy", title="toy", source="here", license="CC0",
                                                       citation="none", files=(entry,)))
    return source


@pytest.mark.parametrize("dataset", sorted(REGISTRY))
def test_registered_checksums_match_the_shared_copies(root, dataset):
    entry = REGISTRY[dataset]
    assert entry.license and entry.citation and entry.source
    for f in entry.files:
        assert f.url.startswith("https://raw.githubusercontent.com/") and len(f.sha256) == 64
        if f.convert is None:  # downloaded as is: the shared copy is byte-identical
            assert file_sha256(locate(dataset, f.name, path=root)) == f.sha256, f.name


def test_no_data_and_no_gpl_file_ship_inside_the_package():
    package = Path(neurodis.__file__).parent
    data = [p for p in package.rglob("*") if p.suffix in {".csv", ".mat", ".npz", ".npy", ".nwb"}]
    assert data == [] and not list(package.rglob("LICENSE*"))
    assert "GPL-3.0" in REGISTRY["yates_lip_pulses"].license


def test_an_explicit_folder_then_the_environment_then_the_cache(tmp_path, monkeypatch):
    for folder in ("explicit", "env", "cache"):
        (tmp_path / folder / "golub_bci_m1").mkdir(parents=True)
        (tmp_path / folder / "golub_bci_m1" / "exampleData.mat").write_bytes(b"x")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert locate("golub_bci_m1", "exampleData.mat", path=tmp_path / "explicit").parts[-3] == "explicit"
    assert locate("golub_bci_m1", "exampleData.mat").parts[-3] == "env"
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "elsewhere"))
    assert locate("golub_bci_m1", "exampleData.mat").parts[-3] == "cache"
    assert cache_dir() == tmp_path / "cache"


def test_download_is_checked_and_cached(isolated, monkeypatch):
    source = _toy(monkeypatch, isolated)
    got = locate("toy", "toy.txt")
    assert got == isolated / "cache" / "toy" / "toy.txt" and got.read_bytes() == b"toy data\n"
    source.unlink()  # the second call reads the cache
    assert fetch("toy") == {"toy.txt": got}


def test_a_download_with_the_wrong_checksum_is_refused(isolated, monkeypatch):
    _toy(monkeypatch, isolated, sha256="0" * 64)
    with pytest.raises(ValueError, match="toy.txt of dataset 'toy' downloaded from file:.* does not have the registered"):
        locate("toy", "toy.txt")


def test_without_network_the_error_names_the_file_and_where_to_put_it(isolated, monkeypatch):
    _toy(monkeypatch, isolated, url="http://127.0.0.1:9/toy.txt")  # port 9 (discard) refuses at once
    target = isolated / "cache" / "toy" / "toy.txt"
    with pytest.raises(FileNotFoundError, match=f"toy.txt of dataset 'toy' could not be downloaded .* put it at {target}"):
        locate("toy", "toy.txt")
    with pytest.raises(FileNotFoundError, match=f"not available locally: download http://127.0.0.1:9/toy.txt .* {target}"):
        locate("toy", "toy.txt", download=False)


def test_without_pooch_the_error_says_what_to_install(isolated, monkeypatch):
    _toy(monkeypatch, isolated)
    monkeypatch.setitem(sys.modules, "pooch", None)
    with pytest.raises(FileNotFoundError, match=r"pooch is not installed \(`pip install neurodis\[data\]`\)"):
        locate("toy", "toy.txt")


def test_unknown_datasets_and_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dataset must be one of .*; got 'nope'"):
        locate("nope", "x")
    with pytest.raises(ValueError, match="name must be one of .*; got 'x'"):
        locate("golub_bci_m1", "x")
    with pytest.raises(FileNotFoundError, match="exampleData.mat of dataset 'golub_bci_m1' not found in"):
        fetch("golub_bci_m1", path=tmp_path)


def test_the_m1_source_is_converted_to_the_shared_layout(isolated, monkeypatch, root):
    with np.load(root / "hatsopoulos_m1_reach" / "hatsopoulos2007_m1_reach_psth.npz") as npz:
        original = {k: npz[k] for k in npz.files if k not in ("time_ms", "reach_direction_deg")}
    pickled = isolated / "source.npy"
    np.save(pickled, np.array(original, dtype=object), allow_pickle=True)  # the source's format
    _toy(monkeypatch, isolated, content=pickled.read_bytes(), name="hatsopoulos2007_m1_reach_psth.npz",
         download_name="source.npy", convert="m1_npy_to_npz")
    monkeypatch.setitem(REGISTRY, "hatsopoulos_m1_reach", REGISTRY.pop("toy"))
    converted = load_m1_reach()
    np.testing.assert_array_equal(converted.rates.values, load_m1_reach(path=root).rates.values)
    assert converted.time.values[[0, -1]].tolist() == [-800.0, 400.0]
    with pytest.raises(ValueError, match="must have SHA-256 0+ before it is unpickled"):
        _m1_npy_to_npz(pickled, isolated / "out.npz", "0" * 64)
