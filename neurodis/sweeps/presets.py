"""The presets of ``neurodis reproduce``: each a grid of runs over the paper's protocol.

A run's config is a :class:`~neurodis.sweeps.config.RunConfig`, which names the run and
travels to the store and the workers as its flat dict of JSON values (see
:data:`RUN_DEFAULTS`); a preset lays a grid over those defaults. The ``network`` key
names a model of :data:`NETWORKS`; a preset's ``variant`` key names one of its own sets
of overrides (for studies that change one training choice at a time). Runs of one
network that differ only in seed, number of tasks or noise train together as one
ensemble (see :func:`ensemble_key`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neurodis._validation import check_in, check_int
from neurodis.sweeps.config import NETWORKS, RunConfig
from neurodis.sweeps.grid import expand_grid
from neurodis.sweeps.jobs import EVAL_REPEATS

__all__ = ["JOBS", "NETWORKS", "PRESETS", "RUN_DEFAULTS", "RUN_KEYS", "Preset", "ensemble_key", "get_preset"]

#: The kinds of job a preset may run (each with its own measurement, table and figures;
#: see :data:`neurodis.sweeps.reproduce.JOB_KINDS`).
JOBS = ("generalization", "free_rt", "attractor")

#: Version of the run-config schema (:attr:`RunConfig.SCHEMA`); a store of runs with
#: another schema is refused.
CONFIG_SCHEMA = RunConfig.SCHEMA

#: The paper's run config as a flat dict: every key of :class:`RunConfig` but those of
#: :data:`~neurodis.sweeps.config.LATER_KEYS`, which a run holds only when set.
RUN_DEFAULTS: dict[str, Any] = RunConfig().to_dict()
#: Every key a run config may hold (the fields of :class:`RunConfig`).
RUN_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunConfig))

#: Keys whose values may differ inside one ensemble (the stacked networks share
#: their shape, inputs and encoder sizes; the task's boundaries and noise may differ).
ENSEMBLE_FREE_KEYS = ("seed", "n_tasks", "sigma", "latent_correlation", "eval_trials", "variant")


def ensemble_key(config: Mapping[str, Any]) -> tuple:
    """Runs with equal keys train as one batched ensemble (of one network kind).

    Examples
    --------
    >>> a = {**RUN_DEFAULTS, "seed": 0}; b = {**RUN_DEFAULTS, "seed": 1, "n_tasks": 3}
    >>> ensemble_key(a) == ensemble_key(b)
    True
    >>> ensemble_key({**a, "network": "lstm"}) == ensemble_key({**b, "network": "lstm"})
    True
    >>> ensemble_key({**a, "network": "lstm"}) == ensemble_key(a)
    False
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
        Values laid over :data:`RUN_DEFAULTS` for every run (keys of :data:`RUN_KEYS`).
    grid : dict of str to list
        The swept keys; they become the dims of the collected results.
    network_batches : dict of str to int
        Training length of particular networks (the paper trains transformers for
        2e4 batches, the others for 1e5), unless ``n_batches`` is overridden.
    variants : dict of str to dict
        Named sets of run-config values for the ``variant`` key of ``grid``.
    job : str
        What is measured on every trained network, one of :data:`JOBS`:
        ``"generalization"`` (OOD decoding at the decision step), ``"free_rt"`` (OOD
        decoding against trial duration) or ``"attractor"`` (fixed points, spectra and
        geometry).
    eval_repeats : int
        Independent OOD evaluations of every network (``"generalization"`` job), each
        of ``eval_trials`` trials with its own noise and decoder fits (>= 1; default 4).
    accuracy_trials : int
        Fresh trials of the accuracy relative to the ideal observer
        (``"generalization"`` job; >= 1, default 8,192).

    Not part of a run's config (so stores written before they existed resume): a
    result records them (``n_repeats``, ``accuracy_trials`` in its attrs).
    """

    name: str
    description: str
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    network_batches: dict[str, int] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    job: str = "generalization"
    eval_repeats: int = EVAL_REPEATS
    accuracy_trials: int = 8192

    def __post_init__(self) -> None:
        check_in(f"preset {self.name!r} job", self.job, JOBS)
        check_int(f"preset {self.name!r} eval_repeats", self.eval_repeats, minimum=1)
        check_int(f"preset {self.name!r} accuracy_trials", self.accuracy_trials, minimum=1)
        keys = set(self.base) | set(self.grid)
        for values in self.variants.values():
            keys |= set(values)
        unknown = sorted(keys - set(RUN_KEYS))
        if unknown:
            raise ValueError(f"preset {self.name!r} keys must be among {sorted(RUN_KEYS)}; got unknown {unknown}")
        for name in self.grid.get("network", []):
            check_in(f"preset {self.name!r} network", name, sorted(NETWORKS))
        for name in self.grid.get("variant", []):
            check_in(f"preset {self.name!r} variant", name, sorted(self.variants))

    @property
    def dims(self) -> list[str]:
        """The swept keys, in grid order."""
        return list(self.grid)

    def runs(self, *, select: Mapping[str, list[Any]] | None = None, **overrides: Any) -> list[RunConfig]:
        """The run configs, with ``overrides`` replacing base values (e.g. ``n_batches``).

        Parameters
        ----------
        select : mapping of str to list, optional
            Keep only these values of swept keys (e.g. ``{"network": ["ctrnn"]}``).
        **overrides
            Run-config values replacing the preset's.

        Raises
        ------
        ValueError
            If an override is not a run key or is a swept key, a selected key is not
            swept or a selected value not in the grid, or a run config is invalid.

        Examples
        --------
        >>> runs = get_preset("fig3").runs(select={"network": ["transformer"]})
        >>> len(runs), runs[0].n_batches
        (25, 20000)
        """
        unknown = sorted(set(overrides) - set(RUN_KEYS))
        if unknown:
            raise ValueError(f"overrides must be run keys among {sorted(RUN_KEYS)}; got unknown {unknown}")
        clash = sorted(set(overrides) & set(self.grid))
        if clash:
            raise ValueError(f"overrides must not replace swept keys of preset {self.name!r}; got {clash}")
        grid = dict(self.grid)
        for key, values in (select or {}).items():
            check_in(f"select key of preset {self.name!r}", key, list(self.grid))
            for value in values:
                check_in(f"select[{key!r}] value", value, list(self.grid[key]))
            grid[key] = [v for v in self.grid[key] if v in values]
        base = {k: v for k, v in {**RUN_DEFAULTS, **self.base, **overrides}.items() if k not in grid}
        runs = []
        for config in expand_grid(base, grid):
            config.update(self.variants.get(config["variant"], {}))
            if config["network"] in self.network_batches and "n_batches" not in overrides:
                config["n_batches"] = self.network_batches[config["network"]]
            runs.append(RunConfig(**config))
        return runs

    def configs(self, *, select: Mapping[str, list[Any]] | None = None, **overrides: Any) -> list[dict[str, Any]]:
        """The flat dicts of :meth:`runs` (the form that names runs and goes to the store).

        Examples
        --------
        >>> configs = get_preset("fig3").configs(select={"network": ["transformer"]})
        >>> len(configs), configs[0]["n_batches"]
        (25, 20000)
        """
        return [run.to_dict() for run in self.runs(select=select, **overrides)]


_N_TASKS = [2, 3, 6, 12, 24]
_NOISE_DECISION = {"recurrent_noise": 0.05, "loss_mask": "decision"}
#: The training recipes of preset ``recipes``: recurrent noise and a decision-step loss,
#: alone and with what else had helped alone.
_RECIPES: dict[str, dict[str, Any]] = {
    "noise_decision": _NOISE_DECISION,
    "noise_decision_alpha_half": {**_NOISE_DECISION, "tau": 200.0},
    "noise_decision_cosine_lr": {**_NOISE_DECISION, "lr_end": 1e-5},
    "noise_decision_alpha_half_cosine_lr": {**_NOISE_DECISION, "tau": 200.0, "lr_end": 1e-5},
    "noise_decision_l2_weights": {**_NOISE_DECISION, "l2_weights": 1e-3},
    "noise_decision_l2_rates": {**_NOISE_DECISION, "l2_rates": 1e-3},
    "noise_0.1_decision": {**_NOISE_DECISION, "recurrent_noise": 0.1},
    "noise_0.1_decision_alpha_half": {**_NOISE_DECISION, "recurrent_noise": 0.1, "tau": 200.0},
    "noise_0.2_decision": {**_NOISE_DECISION, "recurrent_noise": 0.2},
    "noise_balanced": {**_NOISE_DECISION, "loss_mask": "balanced"},
}

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="quick",
            description="the paper's Fig. 3 trend (N = 2..24, CTRNN, 3 seeds) at reduced training length",
            # 4 evaluations of 2000 trials: 8000 simulated trials per network, as fig3's one evaluation
            base={"n_batches": 10_000, "eval_trials": 2000},
            grid={"n_tasks": _N_TASKS, "seed": [0, 1, 2]},
        ),
        Preset(
            name="fig3",
            description="the paper's Fig. 3 protocol: 1e5 batches (transformer 2e4), 5 seeds, "
                        "CTRNN, non-leaky CTRNN, LSTM and transformer",
            grid={"network": ["ctrnn", "ctrnn_nonleaky", "lstm", "transformer"], "n_tasks": _N_TASKS,
                  "seed": [0, 1, 2, 3, 4]},
            network_batches={"transformer": 20_000},
        ),
        Preset(
            name="dims",
            description="latent dimensionality D = 2..10 against N = 3..12 tasks, CTRNN and transformer",
            base={"n_batches": 30_000},
            grid={"network": ["ctrnn", "transformer"], "n_dims": [2, 4, 6, 8, 10], "n_tasks": [3, 6, 9, 12],
                  "seed": [0, 1, 2]},
            network_batches={"transformer": 6_000},
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
            name="training",
            description="beyond the paper: which training choice lifts the true OOD r2 (N = 24, 3e4 batches)",
            base={"n_batches": 30_000},
            grid={"variant": ["paper", "decision_loss", "recurrent_noise", "alpha_half", "n_tasks_48"],
                  "seed": [0, 1, 2]},
            variants={
                "paper": {},
                "decision_loss": {"loss_mask": "decision"},
                "recurrent_noise": {"recurrent_noise": 0.05},
                "alpha_half": {"tau": 200.0},
                "n_tasks_48": {"n_tasks": 48},
            },
        ),
        Preset(
            name="recipes",
            description="the search behind preset best: combinations of training choices for the leaky CTRNN's "
                        "true OOD r2 (N = 24, 3e4 batches, 3 seeds, 4 evaluations of 4000 trials)",
            base={"n_batches": 30_000, "eval_trials": 4000},
            grid={"variant": list(_RECIPES), "seed": [0, 1, 2]},
            variants=_RECIPES,
        ),
        Preset(
            name="best",
            description="the best recipe found for the true OOD r2 of the paper's leaky CTRNN: recurrent noise 0.05 "
                        "and the loss on the decision step, 1e5 batches, N = 6, 12, 24, 5 seeds",
            base=dict(_NOISE_DECISION),
            grid={"n_tasks": [6, 12, 24], "seed": [0, 1, 2, 3, 4]},
        ),
        Preset(
            name="moonshot",
            description="the best recipe trained twice as long, where it reaches the moonshot: recurrent noise "
                        "0.05 and the loss on the decision step, 2e5 batches, N = 24, 5 seeds",
            base={**_NOISE_DECISION, "n_batches": 200_000},
            grid={"n_tasks": [24], "seed": [0, 1, 2, 3, 4]},
        ),
        Preset(
            name="correlation",
            description="latent correlation rho = 0..0.99 (Gaussian copula), N = 24",
            base={"n_batches": 30_000},
            grid={"latent_correlation": [0.0, 0.5, 0.9, 0.99], "seed": [0, 1, 2]},
        ),
        Preset(
            name="free-rt",
            description="free reaction time: OOD r2 against trial duration T for bounded-accumulator "
                        "(free RT) and classification (fixed RT) CTRNNs, N = 24, with the ceiling 1 - 0.48/(T+1)",
            base={"n_batches": 30_000},
            grid={"task": ["accumulation", "classification"], "seed": [0, 1, 2]},
            job="free_rt",
        ),
        Preset(
            name="attractor",
            description="fixed points, spectra and geometry of CTRNNs trained on N = 24 versus N = 2 tasks",
            base={"n_batches": 30_000, "eval_trials": 512},
            grid={"n_tasks": [2, 24], "seed": [0, 1, 2]},
            job="attractor",
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
