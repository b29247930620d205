"""The package version and :func:`show_versions`, in a module every layer can import."""

from __future__ import annotations

import importlib
import platform
import sys
from typing import Any

__version__ = "0.1.0"


def show_versions(file: Any = None) -> dict[str, str]:
    """Print and return the versions of neurodis, Python and the core dependencies."""
    versions = {"neurodis": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for module in ("numpy", "numba", "scipy", "sklearn", "torch", "xarray", "matplotlib", "dask", "h5netcdf"):
        try:
            versions[module] = importlib.import_module(module).__version__
        except ImportError:
            versions[module] = "not installed"
    for key, value in versions.items():
        print(f"{key:>12}: {value}", file=file or sys.stdout)
    return versions
