"""neurodis: tasks, rate-network simulation, training and analysis of disentangled
representations learned through multi-task learning.

Heavy submodules (torch models, the Numba simulator, training, analyses) are imported
lazily on first attribute access, so ``import neurodis`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from neurodis._version import __version__, show_versions
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
    # the Numba simulator (numba, no torch)
    "CTRNNWeights": "neurodis.simulator",
    "simulate": "neurodis.simulator",
    "simulate_autonomous": "neurodis.simulator",
    # training (torch); the subpackage is `training` so `neurodis.train` stays the function
    "TrainConfig": "neurodis.training",
    "TrainedNetwork": "neurodis.training",
    "make_network": "neurodis.training",
    "split_ensemble": "neurodis.training",
    "train": "neurodis.training",
    "train_ensemble": "neurodis.training",
    "train_networks": "neurodis.training",
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
