"""The package version and :func:`show_versions`, in a module every layer can import."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

__version__ = "0.1.0"


#: key printed -> distribution whose installed version it shows
DEPENDENCIES = {"numpy": "numpy", "numba": "numba", "scipy": "scipy", "sklearn": "scikit-learn", "torch": "torch",
                "xarray": "xarray", "matplotlib": "matplotlib", "dask": "dask", "distributed": "distributed",
                "h5netcdf": "h5netcdf", "h5py": "h5py"}


def show_versions(file: Any = None) -> dict[str, str]:
    """Print and return the versions of neurodis, Python and the core dependencies.

    Versions are read from the installed distributions' metadata, without importing
    them (importing torch, numba and dask alone takes seconds).

    Examples
    --------
    >>> import io
    >>> show_versions(file=io.StringIO())["neurodis"] == __version__
    True
    """
    versions = {"neurodis": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for key, distribution in DEPENDENCIES.items():
        try:
            versions[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[key] = "not installed"
    for key, value in versions.items():
        print(f"{key:>12}: {value}", file=file or sys.stdout)
    return versions
