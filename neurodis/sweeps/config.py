"""The run config of a sweep: a frozen, validated dataclass that builds its task, network and training.

A run is named by the hash of its canonical JSON (:func:`~neurodis.sweeps.grid.run_id`).
:meth:`RunConfig.to_dict` gives exactly the flat dict that names a run and is saved as its
``config.json``: one key per field, the values as given (an ``int`` stays an ``int``), so
a typed config and the dict it replaced share their run id.

Schema history (:attr:`RunConfig.SCHEMA`, written into every store's ``store.json``):

* schema 2 (this one): the keys of :data:`~neurodis.sweeps.presets.RUN_DEFAULTS`.
  Stores written before the typed config are schema-2 stores of flat dicts with these
  keys and the same run ids, so they resume unchanged: :meth:`RunConfig.from_dict` reads
  their ``config.json`` as it is. Keys added since (:data:`LATER_KEYS`) appear in a
  run's flat dict only when they differ from their defaults, so every run written
  before them keeps its id.
* schema 1 (before the ``task`` and ``variant`` keys): refused by
  :class:`~neurodis.sweeps.store.RunStore` with its one-line error, like any store of
  another schema; its runs would have other ids and cannot resume.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from neurodis._validation import check_in, check_int, check_real, check_type

__all__ = ["LATER_KEYS", "NETWORKS", "RunConfig"]

#: The networks of the ``network`` key: (registered arch, constructor options).
NETWORKS: dict[str, tuple[str, dict[str, Any]]] = {
    "ctrnn": ("ctrnn", {"leaky": True}),
    "ctrnn_nonleaky": ("ctrnn", {"leaky": False}),
    "ctrnn_dale": ("ctrnn", {"leaky": True, "dale_ratio": 0.8}),  # 80 % excitatory units (Dale's law)
    "lstm": ("lstm", {}),
    "gru": ("gru", {}),
    "transformer": ("transformer", {}),
}

#: Run keys passed to a task that has a field of that name.
_TASK_KEYS = ("n_tasks", "n_dims", "sigma", "noise", "latent_correlation", "loss_mask")

#: Keys added to schema 2 after stores of it were written, with their defaults: a run's
#: flat dict (its ``config.json``, hence its id) holds one only when it is set otherwise.
LATER_KEYS: dict[str, Any] = {"lr_end": None, "l1_weights": 0.0, "l2_weights": 0.0, "l1_rates": 0.0,
                               "l2_rates": 0.0}

_INTS = {"n_tasks": 1, "n_dims": 1, "n_units": 1, "n_batches": 1, "batch_size": 1, "seed": 0, "eval_trials": 1}
#: Real fields: (minimum, strictly above it).
_REALS = {"sigma": (0.0, False), "latent_correlation": (-1.0, True), "tau": (0.0, True),
          "recurrent_noise": (0.0, False), "dt": (0.0, True), "lr": (0.0, True), "l1_weights": (0.0, False),
          "l2_weights": (0.0, False), "l1_rates": (0.0, False), "l2_rates": (0.0, False)}
_STRINGS = ("task", "noise", "encoder", "loss_mask", "network", "variant")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """One run of a sweep, with the paper's values as defaults (SCIENCE.md §1-5).

    Parameters
    ----------
    task : str
        Registered task name.
    n_tasks, n_dims : int
        Number of tasks N and latent dimensions D (for tasks that have them).
    sigma : float
        Evidence noise.
    noise : str
        The task's noise model.
    latent_correlation : float
        Correlation of the latents, in (-1, 1) (tasks that have it).
    encoder : str
        Frozen encoder kind (see :class:`~neurodis.training.TrainConfig`).
    loss_mask : str
        Which steps the loss weighs (tasks that have it).
    network : str
        A key of :data:`NETWORKS`.
    n_units : int
    tau : float
        CTRNN time constant in ms.
    recurrent_noise : float
        CTRNN recurrent noise.
    dt : float
        Step of the task's timing in ms.
    n_batches, batch_size : int
    lr : float
    lr_end : float or None
        Learning rate of the last batch, by cosine decay from ``lr``; ``None`` (the
        paper) keeps ``lr`` (see :class:`~neurodis.training.TrainConfig`).
    l1_weights, l2_weights, l1_rates, l2_rates : float
        Weight and rate penalties (>= 0; 0, the paper, is off; see
        :class:`~neurodis.training.TrainConfig`).
    seed : int
        Seeds the network, the encoder, training, and the measurements.
    eval_trials : int
        Trials simulated by the measurement of the run.
    variant : str
        Name of a preset's set of overrides (a label; the values are in the other keys).

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, names an unknown task or network, is refused by the
        task or the training config (say an unknown noise model or encoder kind), or a
        task key the task does not take differs from its default (it would otherwise be
        ignored).

    Examples
    --------
    >>> config = RunConfig(task="accumulation", n_tasks=6)
    >>> task = config.build_task()
    >>> task.name, task.n_tasks, task.timing.n_steps
    ('accumulation', 6, 20)
    >>> config.train_config().n_batches
    100000
    >>> RunConfig.from_dict(config.to_dict()) == config
    True
    >>> RunConfig(n_units=0)
    Traceback (most recent call last):
    ...
    ValueError: n_units must be an integer >= 1; got 0
    """

    #: Version of the run-config schema (see the module docstring); not a field, so not
    #: part of the run id.
    SCHEMA: ClassVar[int] = 2

    task: str = "classification"
    n_tasks: int = 24
    n_dims: int = 2
    sigma: float = 0.2
    noise: str = "gaussian"
    latent_correlation: float = 0.0
    encoder: str = "relu"
    loss_mask: str = "paper"
    network: str = "ctrnn"
    n_units: int = 64
    tau: float = 100.0
    recurrent_noise: float = 0.0
    dt: float = 100.0
    n_batches: int = 100_000
    batch_size: int = 16
    lr: float = 1e-3
    lr_end: float | None = None
    l1_weights: float = 0.0
    l2_weights: float = 0.0
    l1_rates: float = 0.0
    l2_rates: float = 0.0
    seed: int = 0
    eval_trials: int = 8000
    variant: str = ""

    def __post_init__(self) -> None:
        from neurodis.tasks import Encoder, list_tasks

        for name in _STRINGS:
            check_type(name, getattr(self, name), str, "a string")
        for name, minimum in _INTS.items():
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=minimum))
        for name, (minimum, strict) in _REALS.items():
            value = getattr(self, name)
            check_real(name, value, minimum=minimum, strict_minimum=strict,
                       maximum=1.0 if name == "latent_correlation" else None, strict_maximum=True)
            # an int stays an int: the canonical JSON, hence the run id, is the value as given
            if not isinstance(value, (int, float)):
                object.__setattr__(self, name, float(value))
        if self.lr_end is not None:
            check_real("lr_end", self.lr_end, minimum=0.0, strict_minimum=True, maximum=self.lr)
            if not isinstance(self.lr_end, (int, float)):
                object.__setattr__(self, "lr_end", float(self.lr_end))
        check_in("task", self.task, list_tasks())
        check_in("network", self.network, sorted(NETWORKS))
        # the task and the training config check their own values (noise model, loss mask,
        # encoder kind): a bad run fails here, when the sweep is laid out, not in a worker
        self.build_task()
        check_in("encoder", self.encoder, [*Encoder.KINDS, "none"])  # TrainConfig's kinds, without torch

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> RunConfig:
        """The run config of a flat dict of schema :attr:`SCHEMA` (a run's ``config.json``).

        Raises
        ------
        ValueError
            If keys are missing or unknown (a dict of another schema). Keys of
            :data:`LATER_KEYS` may be missing (they take their defaults).
        """
        check_type("config", config, Mapping, "a mapping of run keys")
        fields = [f.name for f in dataclasses.fields(cls)]
        missing = sorted(set(fields) - set(config) - set(LATER_KEYS))
        unknown = sorted(set(config) - set(fields))
        if missing or unknown:
            raise ValueError(f"config must hold exactly the run keys of schema {cls.SCHEMA} {fields}; "
                             f"got missing {missing}, unknown {unknown}")
        return cls(**config)

    def to_dict(self) -> dict[str, Any]:
        """The flat dict of JSON values that names the run (its ``config.json``).

        Keys of :data:`LATER_KEYS` are left out at their defaults.

        Examples
        --------
        >>> "lr_end" in RunConfig().to_dict(), RunConfig(lr_end=1e-5).to_dict()["lr_end"]
        (False, 1e-05)
        """
        return {key: value for key, value in dataclasses.asdict(self).items()
                if key not in LATER_KEYS or value != LATER_KEYS[key]}

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)

    def _task_params(self) -> dict[str, Any]:
        from neurodis.tasks import make_task

        default = make_task(self.task)
        fields = {f.name for f in dataclasses.fields(default)}
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        ignored = {k: getattr(self, k) for k in _TASK_KEYS if k not in fields and getattr(self, k) != defaults[k]}
        if ignored:
            raise ValueError(
                f"run keys {sorted(ignored)} do not apply to task {self.task!r} and must keep their "
                f"defaults {({k: defaults[k] for k in ignored})}; got {ignored}"
            )
        params = {key: getattr(self, key) for key in _TASK_KEYS if key in fields}
        if "timing" in fields:  # the task's own timing, with the run's step
            params["timing"] = dataclasses.replace(default.timing, dt=self.dt)
        return params

    def build_task(self):
        """The run's task: its ``task`` with the run keys it has fields for and the run's ``dt``."""
        from neurodis.tasks import make_task

        return make_task(self.task, **self._task_params())

    def network_spec(self) -> tuple[str, dict[str, Any]]:
        """The registered arch and constructor options of the run's ``network``.

        Examples
        --------
        >>> RunConfig(network="ctrnn_nonleaky").network_spec()
        ('ctrnn', {'leaky': False, 'tau': 100.0, 'recurrent_noise': 0.0})
        >>> RunConfig(network="lstm").network_spec()
        ('lstm', {})
        """
        arch, options = NETWORKS[self.network]
        if arch == "ctrnn":
            options = {**options, "tau": self.tau, "recurrent_noise": self.recurrent_noise}
        return arch, dict(options)

    def build_network(self, task: Any, encoder: Any):
        """A freshly initialised network of the run for ``task`` after ``encoder``, seeded by ``seed``."""
        from neurodis.training import make_network

        arch, options = self.network_spec()
        return make_network(task, arch, encoder=encoder, n_units=self.n_units, seed=self.seed, **options)

    def train_config(self):
        """The :class:`~neurodis.training.TrainConfig` of the run.

        A history row every ``n_batches // 20`` batches (1 to 500), a checkpoint every ten rows.
        """
        from neurodis.training import TrainConfig

        log_every = max(1, min(500, self.n_batches // 20))
        return TrainConfig(n_batches=self.n_batches, batch_size=self.batch_size, lr=self.lr, lr_end=self.lr_end,
                           l1_weights=self.l1_weights, l2_weights=self.l2_weights, l1_rates=self.l1_rates,
                           l2_rates=self.l2_rates, seed=self.seed,
                           encoder=self.encoder, log_every=log_every, checkpoint_every=log_every * 10)
