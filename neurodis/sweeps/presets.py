"""The presets of ``neurodis reproduce``: each a grid of runs over the paper's protocol.

A run's config is a flat dict of JSON values (see :data:`RUN_DEFAULTS`); a preset lays a
grid over those defaults. Runs that differ only in ``seed`` train
together as one ensemble (see :func:`ensemble_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neurodis._validation import check_in
from neurodis.sweeps.grid import expand_grid

__all__ = ["PRESETS", "RUN_DEFAULTS", "Preset", "ensemble_key", "get_preset"]

#: Every key a run config may hold, with the paper's values (SCIENCE.md §1-5).
RUN_DEFAULTS: dict[str, Any] = {
    "task": "classification",
    "n_tasks": 24,
    "n_dims": 2,
    "sigma": 0.2,
    "noise": "gaussian",
    "latent_correlation": 0.0,
    "encoder": "relu",
    "arch": "ctrnn",
    "n_units": 64,
    "leaky": True,
    "tau": 100.0,
    "dt": 100.0,
    "n_batches": 100_000,
    "batch_size": 16,
    "lr": 1e-3,
    "seed": 0,
    "eval_trials": 2000,
}

#: Keys whose values may differ inside one ensemble (everything else must match).
ENSEMBLE_FREE_KEYS = ("seed",)


def ensemble_key(config: Mapping[str, Any]) -> tuple:
    """Runs with equal keys share a network shape and train as one ensemble.

    Examples
    --------
    >>> a = {**RUN_DEFAULTS, "seed": 0}; b = {**RUN_DEFAULTS, "seed": 1}
    >>> ensemble_key(a) == ensemble_key(b)
    True
    """
    return tuple(sorted((k, v) for k, v in config.items() if k not in ENSEMBLE_FREE_KEYS))


@dataclass(frozen=True, kw_only=True)
class Preset:
    """A named sweep of ``reproduce``.

    Parameters
    ----------
    name : str
    description : str
        One line for ``--help`` and the results folder.
    base : dict
        Values laid over :data:`RUN_DEFAULTS` for every run.
    grid : dict of str to list
        The swept keys; they become the dims of the collected results.
    """

    name: str
    description: str
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted((set(self.base) | set(self.grid)) - set(RUN_DEFAULTS))
        if unknown:
            raise ValueError(f"preset {self.name!r} keys must be among {sorted(RUN_DEFAULTS)}; got unknown {unknown}")

    @property
    def dims(self) -> list[str]:
        """The swept keys, in grid order."""
        return list(self.grid)

    def configs(self, **overrides: Any) -> list[dict[str, Any]]:
        """The run configs, with ``overrides`` replacing base values (e.g. ``n_batches``)."""
        unknown = sorted(set(overrides) - set(RUN_DEFAULTS))
        if unknown:
            raise ValueError(f"overrides must be run keys among {sorted(RUN_DEFAULTS)}; got unknown {unknown}")
        clash = sorted(set(overrides) & set(self.grid))
        if clash:
            raise ValueError(f"overrides must not replace swept keys of preset {self.name!r}; got {clash}")
        base = {k: v for k, v in {**RUN_DEFAULTS, **self.base, **overrides}.items() if k not in self.grid}
        return expand_grid(base, self.grid)


_N_TASKS = [2, 3, 6, 12, 24]

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="quick",
            description="the paper's Fig. 3 trend (N = 2..24, CTRNN, 3 seeds) at reduced training length",
            base={"n_batches": 10_000, "eval_trials": 1000},
            grid={"n_tasks": _N_TASKS, "seed": [0, 1, 2]},
        ),
        Preset(
            name="fig3",
            description="the paper's Fig. 3 protocol: 1e5 batches, 5 seeds, leaky and non-leaky CTRNN",
            grid={"n_tasks": _N_TASKS, "leaky": [True, False], "seed": [0, 1, 2, 3, 4]},
        ),
        Preset(
            name="dims",
            description="latent dimensionality D = 2..10 against N = 3..12 tasks",
            base={"n_batches": 30_000},
            grid={"n_dims": [2, 4, 6, 8, 10], "n_tasks": [3, 6, 9, 12], "seed": [0, 1, 2]},
        ),
        Preset(
            name="noise",
            description="evidence noise sigma = 0.1..0.6 against its r2 ceiling (N = 24)",
            base={"n_batches": 30_000},
            grid={"sigma": [0.1, 0.2, 0.3, 0.4, 0.6], "seed": [0, 1, 2]},
        ),
        Preset(
            name="encoder",
            description="ReLU versus quadratic frozen encoder across N",
            base={"n_batches": 30_000},
            grid={"encoder": ["relu", "quadratic"], "n_tasks": _N_TASKS, "seed": [0, 1, 2]},
        ),
        Preset(
            name="correlation",
            description="latent correlation rho = 0..0.99 (Gaussian copula), N = 24",
            base={"n_batches": 30_000},
            grid={"latent_correlation": [0.0, 0.5, 0.9, 0.99], "seed": [0, 1, 2]},
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises
    ------
    ValueError
        If no preset has that name.
    """
    check_in("preset", name, sorted(PRESETS))
    return PRESETS[name]
