"""Registry of the real datasets: source, licence, citation and SHA-256 of every file.

No data ship with the package (the LIP data are GPL-3.0, the others carry their own
licences). :func:`locate` finds a file of a dataset, in this order:

1. the folder ``path`` when given (nothing is downloaded);
2. the folder in the environment variable ``NEURODIS_DATA`` (nothing is downloaded);
3. ``shared/data`` beside or inside the repository checkout, where CI keeps a copy;
4. the user cache: ``$NEURODIS_CACHE`` if set, else the platform's cache folder
   (``~/.cache/neurodis`` on Linux), where a missing file is downloaded with pooch
   (``pip install neurodis[data]``) from the pinned source commit and checked
   against its SHA-256.

Each folder holds one sub-folder per dataset, named as in :data:`REGISTRY`. Without
network access the error names the file, its URL and where to put it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np

from neurodis._validation import check_in
from neurodis.files import atomic_write, file_sha256

__all__ = ["CACHE_ENV", "DATA_ENV", "REGISTRY", "DataFile", "DatasetSource", "cache_dir", "fetch", "locate"]

DATA_ENV = "NEURODIS_DATA"
CACHE_ENV = "NEURODIS_CACHE"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataFile:
    """One file of a dataset: where to download it and the SHA-256 of what is downloaded.

    ``convert`` names a step that turns the download (``download_name``) into ``name``;
    only the M1 rates need one (a pickled ``.npy`` re-saved as a plain ``.npz``).
    """

    name: str
    url: str
    sha256: str
    download_name: str | None = None
    convert: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetSource:
    """A dataset: its folder name, files, source, licence and citation."""

    name: str
    title: str
    source: str
    license: str
    citation: str
    files: tuple[DataFile, ...]

    def file(self, name: str) -> DataFile:
        """The registered file called ``name``."""
        check_in("name", name, [f.name for f in self.files])
        return next(f for f in self.files if f.name == name)


def _raw(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_LIP_REPO, _LIP_COMMIT = "ahyafil/TemporalIntegration", "a8cf66fac8e00bd7de6a25b8191ac0680ddced00"
_BCI_REPO, _BCI_COMMIT = "mattgolub/bci_learning", "3e6f00c959096189dd77df57ceb9eb540da83f76"
_M1_REPO, _M1_COMMIT = "Helena-Yuhan-Liu/LearningRuleSimilarities", "689feefac5aab47fdf6169e4233e00f60deefccd"
_M1_NPY = "data_output_aligntomovementonset_minT-800_maxT400_FRsmoothSD25ms.npy"

#: The datasets, by folder name. SHA-256s were computed from the shared copies and match
#: the files at the pinned commits.
REGISTRY: dict[str, DatasetSource] = {
    "yates_lip_pulses": DatasetSource(
        name="yates_lip_pulses",
        title="Macaque LIP spike counts on a 7-pulse motion-evidence task",
        source=f"github.com/{_LIP_REPO} at {_LIP_COMMIT}, data/",
        license="GPL-3.0 (the source repository's licence; keep LICENSE-GPL-3.0.txt with the data)",
        citation="Yates JL, Park IM, Katz LN, Pillow JW, Huk AC (2017) Nat Neurosci 20:1285-1292; "
        "Hyafil A et al. (2023) eLife 12:e84045",
        files=(
            DataFile(name="LIP.csv", url=_raw(_LIP_REPO, _LIP_COMMIT, "data/LIP.csv"),
                     sha256="e430ec00f53d4b1a8a1fbc3e7f645385f46a3648827233cbb12a92dd6c86dd46"),
            DataFile(name="monkey_behavior.csv", url=_raw(_LIP_REPO, _LIP_COMMIT, "data/monkey.csv"),
                     sha256="53c51d799b7696e413d9bccaac78bd5e783b74dedd1bf67fa83ad92ddebaea4a"),
            DataFile(name="LICENSE-GPL-3.0.txt", url=_raw(_LIP_REPO, _LIP_COMMIT, "LICENSE"),
                     sha256="3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"),
        ),
    ),
    "hatsopoulos_m1_reach": DatasetSource(
        name="hatsopoulos_m1_reach",
        title="Macaque M1 condition-averaged rates, center-out reaching to 8 targets",
        source=f"github.com/{_M1_REPO} at {_M1_COMMIT}, multisys_pipeline/experimental_data/Hatsopoulos2007/",
        license="derived from CC0 data (Dryad doi:10.5061/dryad.xsj3tx9cm); source repository unlicensed",
        citation="preprocessing: Liu YH, Yang RG, Cueva CJ (2025) ICML; data: Dryad doi:10.5061/dryad.xsj3tx9cm "
        "(Hatsopoulos lab, center-out reaching)",
        files=(
            DataFile(name="hatsopoulos2007_m1_reach_psth.npz", download_name=_M1_NPY, convert="m1_npy_to_npz",
                     url=_raw(_M1_REPO, _M1_COMMIT, f"multisys_pipeline/experimental_data/Hatsopoulos2007/{_M1_NPY}"),
                     sha256="42ba0083581ac1d1d0f3e0e2d8e9a618aaf04d5ae5753e3df311c9aec1acec37"),
        ),
    ),
    "golub_bci_m1": DatasetSource(
        name="golub_bci_m1",
        title="Macaque M1 BCI spike counts, 8 directions, before and after learning",
        source=f"github.com/{_BCI_REPO} at {_BCI_COMMIT}",
        license="BSD-3-Clause, (c) 2018 Matthew D. Golub (keep LICENSE-BSD-3-Clause.txt with the data)",
        citation="Golub MD et al. (2018) Learning by neural reassociation. Nat Neurosci 21:607-616",
        files=(
            DataFile(name="exampleData.mat", url=_raw(_BCI_REPO, _BCI_COMMIT, "exampleData.mat"),
                     sha256="f28fab9442dd0564aab00597796785665f1c3d4b4437e3802c4c99c9696512b1"),
            DataFile(name="LICENSE-BSD-3-Clause.txt", url=_raw(_BCI_REPO, _BCI_COMMIT, "LICENSE"),
                     sha256="1912129c59ad2cecd9f7c39ba1e3c8b1d1deb4bbb667a13450c93bed7cf3582b"),
        ),
    ),
}


def cache_dir() -> Path:
    """The user cache folder of downloaded datasets.

    ``$NEURODIS_CACHE`` if set, else the platform's cache folder: ``$XDG_CACHE_HOME/neurodis``
    or ``~/.cache/neurodis`` (Linux), ``~/Library/Caches/neurodis`` (macOS),
    ``%LOCALAPPDATA%\\neurodis\\Cache`` (Windows), as ``pooch.os_cache`` chooses, computed
    here so that finding a cached file needs no pooch.

    Examples
    --------
    >>> import os
    >>> os.environ["NEURODIS_CACHE"] = "/tmp/neurodis-cache"
    >>> str(cache_dir())
    '/tmp/neurodis-cache'
    >>> del os.environ["NEURODIS_CACHE"]
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "win32":  # pragma: no cover - platform branch
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "neurodis" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - platform branch
        return Path.home() / "Library" / "Caches" / "neurodis"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurodis"


def local_dirs() -> list[Path]:
    """Folders that may hold a local copy: ``$NEURODIS_DATA``, else ``shared/data`` beside or in the checkout."""
    if os.environ.get(DATA_ENV):
        return [Path(os.environ[DATA_ENV])]
    repo = Path(__file__).resolve().parents[2]
    return [repo.parent / "shared" / "data", repo / "shared" / "data"]


def _in_folder(root: Path, dataset: str, name: str) -> Path:
    """A file in ``root/dataset/`` (or in ``root`` itself when it is the dataset folder)."""
    base = root / dataset if (root / dataset).is_dir() else root
    return base / name


def locate(dataset: str, name: str, *, path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The local path of file ``name`` of ``dataset``, downloading it into the cache if needed.

    Parameters
    ----------
    dataset : str
        A key of :data:`REGISTRY`.
    name : str
        One of the dataset's files.
    path : path-like, optional
        A folder holding the data (one sub-folder per dataset, or the dataset's files);
        when given, only this folder is searched.
    download : bool
        Download a file found nowhere into :func:`cache_dir`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If ``dataset`` or ``name`` is not registered, or a download does not match its SHA-256.
    FileNotFoundError
        If the file is found nowhere and is not downloaded (``download=False``, no
        network, or pooch missing); the message names the file, its URL and where to put it.

    Examples
    --------
    >>> locate("golub_bci_m1", "exampleData.mat", path="/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: exampleData.mat of dataset 'golub_bci_m1' not found in /no/such/folder ...
    """
    check_in("dataset", dataset, list(REGISTRY))
    entry = REGISTRY[dataset].file(name)
    if path is not None:
        file = _in_folder(Path(path), dataset, name)
        if not file.is_file():
            raise FileNotFoundError(f"{name} of dataset {dataset!r} not found in {path} (looked for {file})")
        return file
    searched = []
    for root in [*local_dirs(), cache_dir()]:
        file = _in_folder(root, dataset, name)
        if file.is_file():
            return file
        searched.append(str(file))
    target = cache_dir() / dataset / name
    where = (f"download {entry.url} yourself and put it at {target} (or set {DATA_ENV} to a folder "
             f"holding {dataset}/{name}); looked in {searched}")
    if not download:
        raise FileNotFoundError(f"{name} of dataset {dataset!r} is not available locally: {where}")
    return _download(dataset, entry, target, where)


def fetch(dataset: str, *, path: str | os.PathLike | None = None, download: bool = True) -> dict[str, Path]:
    """Every file of ``dataset`` (data and licence), downloading what is missing.

    Returns
    -------
    dict of str to pathlib.Path
        Local path of each registered file.

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`locate`.

    Examples
    --------
    >>> sorted(f.name for f in REGISTRY["golub_bci_m1"].files)
    ['LICENSE-BSD-3-Clause.txt', 'exampleData.mat']
    >>> fetch("golub_bci_m1", download=False)  # doctest: +SKIP
    {'exampleData.mat': PosixPath('.../golub_bci_m1/exampleData.mat'), 'LICENSE-BSD-3-Clause.txt': ...}
    """
    check_in("dataset", dataset, list(REGISTRY))
    return {f.name: locate(dataset, f.name, path=path, download=download) for f in REGISTRY[dataset].files}


def _import_pooch() -> Any:
    try:
        import pooch
    except ImportError as err:
        raise ImportError("downloading the datasets needs pooch; install it with `pip install neurodis[data]`") from err
    return pooch


def _copy_local(url: str, output_file: str, pooch: Any) -> None:
    """pooch downloader for ``file://`` URLs (a mirror on a shared disk)."""
    shutil.copyfile(url2pathname(urlparse(url).path), output_file)


def _download(dataset: str, entry: DataFile, target: Path, where: str) -> Path:
    try:
        pooch = _import_pooch()
    except ImportError as err:
        raise FileNotFoundError(f"{entry.name} of dataset {dataset!r} is not available locally and pooch is not "
                                f"installed (`pip install neurodis[data]`): {where}") from err
    fname = entry.download_name or entry.name
    try:
        downloaded = pooch.retrieve(
            entry.url, known_hash=f"sha256:{entry.sha256}", fname=fname, path=target.parent, progressbar=False,
            downloader=_copy_local if entry.url.startswith("file://") else None,
        )
    except ValueError as err:  # pooch's hash mismatch
        raise ValueError(f"{fname} of dataset {dataset!r} downloaded from {entry.url} does not have the registered "
                         f"SHA-256 {entry.sha256}: {err}") from err
    except OSError as err:  # no network, refused connection, HTTP error (requests' errors are OSErrors)
        raise FileNotFoundError(f"{entry.name} of dataset {dataset!r} could not be downloaded "
                                f"({type(err).__name__}: {err}): {where}") from err
    if entry.convert is None:
        return Path(downloaded)
    return _CONVERTERS[entry.convert](Path(downloaded), target, entry.sha256)


def _m1_npy_to_npz(source: Path, target: Path, sha256: str) -> Path:
    """The M1 rates as the shared folder holds them: the source dict re-saved without pickle.

    The source ``.npy`` is a pickled dict; it is unpickled only after its SHA-256 matched
    the registered one (checked again here, so a file swapped after download is refused).
    """
    digest = file_sha256(source)
    if digest != sha256:
        raise ValueError(f"{source} must have SHA-256 {sha256} before it is unpickled; got {digest}")
    arrays = dict(np.load(source, allow_pickle=True).item())
    arrays["time_ms"] = np.arange(-800, 410, 10)  # the generating code's T_downsample
    arrays["reach_direction_deg"] = np.arange(8) * 45

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:  # a file object: np.savez would append .npz to a path
            np.savez(handle, **arrays)

    return atomic_write(target, write)


_CONVERTERS = {"m1_npy_to_npz": _m1_npy_to_npz}
