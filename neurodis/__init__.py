"""neurodis: tasks, rate-network simulation, training and analysis of disentangled
representations learned through multi-task learning.

Heavy submodules (torch models, the Numba simulator, training, analyses) are imported
lazily on first attribute access, so ``import neurodis`` stays fast.
"""

from __future__ import annotations

import importlib
import platform
import sys
from typing import Any

from neurodis._version import __version__
from neurodis.tasks import Task, Timing, list_tasks, make_task  # noqa: E402
from neurodis.trials import (  # noqa: E402
    load_dataset,
    load_trials,
    make_trials,
    save_dataset,
    save_trials,
    validate_trials,
)

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # the frozen stimulus encoder (light: numpy only)
    "Encoder": "neurodis.tasks.encoders",
    # models (torch)
    "CTRNN": "neurodis.models",
    "GRU": "neurodis.models",
    "LSTM": "neurodis.models",
    "CausalTransformer": "neurodis.models",
    "list_models": "neurodis.models",
    "load_model": "neurodis.models",
    "make_model": "neurodis.models",
    "save_model": "neurodis.models",
}

__all__ = [
    "Task",
    "Timing",
    "__version__",
    "list_tasks",
    "load_dataset",
    "load_trials",
    "make_task",
    "make_trials",
    "save_dataset",
    "save_trials",
    "show_versions",
    "validate_trials",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurodis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
