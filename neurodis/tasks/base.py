"""Task base class, trial timing and the task registry.

A task is a frozen, keyword-only dataclass describing the trial structure, plus
``sample(n_trials, rng)``. Subclasses implement :meth:`Task.sample_arrays`, which is
vectorised over trials and returns plain numpy arrays (the fast path used by the
trainer); :meth:`Task.sample` wraps those arrays into a labelled trials Dataset.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_in,
    check_int,
    check_memory,
    check_multiple,
    check_real,
    check_rng,
    describe,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.trials import make_trials

__all__ = [
    "EncoderLike",
    "Task",
    "Timing",
    "TrialBatch",
    "list_tasks",
    "make_task",
    "register_task",
    "set_derived",
]


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Durations of the trial periods in ms, and the Euler step ``dt``.

    The paper's defaults give 1 fixation step, 20 stimulus steps, no delay and one
    decision step: 22 steps of 100 ms.

    Parameters
    ----------
    fixation, stimulus, delay, decision : float
        Period durations in ms; each must be a non-negative multiple of ``dt``.
    dt : float
        Euler step in ms (> 0).

    Examples
    --------
    >>> t = Timing()
    >>> t.n_steps, t.decision_index
    (22, 21)
    >>> Timing(stimulus=250.0)
    Traceback (most recent call last):
    ...
    ValueError: stimulus must be a non-negative multiple of dt=100.0 ms; got 250.0
    """

    fixation: float = 100.0
    stimulus: float = 2000.0
    delay: float = 0.0
    decision: float = 100.0
    dt: float = 100.0

    PERIODS: ClassVar[tuple[str, ...]] = ("fixation", "stimulus", "delay", "decision")

    def __post_init__(self) -> None:
        check_real("dt", self.dt, minimum=0.0, strict_minimum=True)
        for period in self.PERIODS:
            check_multiple(period, getattr(self, period), self.dt)
        if self.n_steps == 0:
            raise ValueError("timing must have at least one step; got all periods of 0 ms")

    def steps(self, period: str) -> int:
        """Number of Euler steps in ``period``."""
        check_in("period", period, self.PERIODS)
        return check_multiple(period, getattr(self, period), self.dt)

    def period_slice(self, period: str) -> slice:
        """Slice of time steps covered by ``period``."""
        start = sum(self.steps(p) for p in self.PERIODS[: self.PERIODS.index(period)])
        return slice(start, start + self.steps(period))

    @property
    def n_steps(self) -> int:
        """Total number of Euler steps in one trial."""
        return sum(self.steps(p) for p in self.PERIODS)

    @property
    def decision_index(self) -> int:
        """Index of the first decision step (the last step when there is no decision period)."""
        return self.period_slice("decision").start if self.steps("decision") else self.n_steps - 1


@dataclass
class TrialBatch:
    """Raw arrays of a batch of trials, the output of :meth:`Task.sample_arrays`.

    Attributes
    ----------
    inputs : ndarray, shape (trial, time, input)
    targets : ndarray, shape (trial, time, output)
    loss_mask : ndarray, shape (trial, time, output)
    latents : ndarray, shape (trial, latent)
    trial_coords : dict of str to ndarray of shape (trial,)
    """

    inputs: np.ndarray
    targets: np.ndarray
    loss_mask: np.ndarray
    latents: np.ndarray
    trial_coords: dict[str, np.ndarray] = field(default_factory=dict)


class EncoderLike(Protocol):
    """What :meth:`Task.sample` needs from an encoder (:class:`~neurodis.tasks.encoders.Encoder` has it)."""

    def encode_inputs(
        self, inputs: np.ndarray, input_names: list[str]
    ) -> tuple[np.ndarray, list[str]]:
        """Return encoded inputs ``(trial, time, input')`` and their channel names."""

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description."""


class _SamplingLayout(NamedTuple):
    """What :meth:`Task.sample` reads of a task besides its draws (see ``Task._layout_for_sampling``)."""

    config: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    latent_names: tuple[str, ...]
    steps_per_trial: int


@dataclass(frozen=True, kw_only=True)
class Task:
    """Base class of all tasks: a frozen description plus vectorised sampling.

    Subclasses set the class attribute ``name``, declare their parameters as dataclass
    fields (validated in ``__post_init__``) and implement :meth:`sample_arrays` and the
    channel-name properties.
    """

    name: ClassVar[str] = ""

    @property
    def input_names(self) -> list[str]:
        """Names of the input channels (stimulus channels start with ``"stimulus"``)."""
        raise NotImplementedError

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs."""
        raise NotImplementedError

    @property
    def latent_names(self) -> list[str]:
        """Names of the latent dimensions."""
        raise NotImplementedError

    @property
    def dt(self) -> float:
        """Euler step in ms."""
        return self.timing.dt  # type: ignore[attr-defined]

    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` trials as raw arrays, vectorised over trials."""
        raise NotImplementedError

    @property
    def steps_per_trial(self) -> int:
        """Time steps of one sampled trial (a whole sequence for sequence tasks)."""
        n_steps = getattr(self, "n_steps", None)
        if n_steps is None:
            n_steps = self.timing.n_steps * getattr(self, "trials_per_sequence", 1)  # type: ignore[attr-defined]
        return int(n_steps)

    def check_batch_memory(self, n_trials: int, n_inputs: int | None = None) -> None:
        """Refuse, before sampling, a batch whose arrays would not fit in memory.

        Counts the float64 ``inputs`` (``n_inputs`` channels, default the task's),
        ``targets`` and ``loss_mask`` of ``n_trials`` trials.

        Raises
        ------
        ValueError
            Naming ``n_trials``, the bytes needed and the physical memory.

        Examples
        --------
        >>> from neurodis.tasks import make_task
        >>> make_task("classification", n_tasks=4).check_batch_memory(10**13)
        Traceback (most recent call last):
        ...
        ValueError: n_trials=10000000000000 would need about 2e+16 bytes (inputs, targets and loss_mask (trial, time, channel) float64), ...
        """
        layout = self._layout_for_sampling()
        n_inputs = len(layout.input_names) if n_inputs is None else n_inputs
        per_trial = layout.steps_per_trial * (n_inputs + 2 * len(layout.output_names)) + len(layout.latent_names)
        check_memory("n_trials", n_trials, 8.0 * n_trials * per_trial,
                     "inputs, targets and loss_mask (trial, time, channel) float64",
                     advice="reduce n_trials or split the sampling")

    def config(self) -> dict[str, Any]:
        """The task's parameters as a JSON-serialisable dict (with ``"task"`` = name)."""
        return {"task": self.name, **_jsonable(dataclasses.asdict(self))}

    def _layout_for_sampling(self) -> _SamplingLayout:
        """The config JSON, channel names and trial length, read once per task.

        A task is frozen: its parameters, and what follows from them, never change after
        it is built. Reading them costs ~0.1 ms a call (the config walks every field),
        as much as sampling a small batch, so the first call keeps them on the instance.
        """
        layout = self.__dict__.get("_sampling_layout")
        if layout is None:
            layout = _SamplingLayout(json.dumps(self.config(), sort_keys=True), tuple(self.input_names),
                                     tuple(self.output_names), tuple(self.latent_names), self.steps_per_trial)
            set_derived(self, _sampling_layout=layout)
        return layout

    def sample(
        self,
        n_trials: int,
        rng: int | np.random.Generator | np.random.SeedSequence | None = None,
        *,
        encoder: EncoderLike | None = None,
    ) -> xr.Dataset:
        """Draw ``n_trials`` trials as a labelled trials Dataset.

        Parameters
        ----------
        n_trials : int
            Number of trials (>= 1).
        rng : int, Generator, SeedSequence or None
            Source of randomness; the same seed gives an identical Dataset.
        encoder : Encoder, optional
            Frozen encoder applied to the stimulus channels.

        Returns
        -------
        xarray.Dataset
            Trials with ``inputs``, ``targets``, ``loss_mask``, ``latent`` and
            provenance attrs (``task``, ``config``, ``seed``, ``rng_state``, version).

        Raises
        ------
        TypeError
            If ``n_trials`` is not an int, ``rng`` not a seed or Generator, or
            ``encoder`` not an encoder (an object with ``encode_inputs`` and ``config``).
        ValueError
            If ``n_trials`` < 1, or the trials would not fit in memory.
        """
        n_trials = check_int("n_trials", n_trials, minimum=1)
        if encoder is not None and not (callable(getattr(encoder, "encode_inputs", None))
                                        and callable(getattr(encoder, "config", None))):
            raise TypeError(
                "encoder must be a neurodis Encoder (with encode_inputs and config) or None; "
                f"got {type(encoder).__name__} {describe(encoder)}"
            )
        layout = self._layout_for_sampling()
        n_outputs = getattr(encoder, "n_out", 0) if encoder is not None else 0
        self.check_batch_memory(n_trials, len(layout.input_names) + n_outputs)
        generator = check_rng(rng)
        provenance = rng_provenance(rng, generator)
        batch = self.sample_arrays(n_trials, generator)
        inputs, input_names = batch.inputs, layout.input_names
        attrs: dict[str, Any] = {
            "task": self.name,
            "config": layout.config,
            **provenance,
            "neurodis_version": __version__,
        }
        if encoder is not None:
            inputs, input_names = encoder.encode_inputs(inputs, list(input_names))
            attrs["encoder"] = json.dumps(encoder.config(), sort_keys=True)
        return make_trials(
            inputs=inputs,
            targets=batch.targets,
            loss_mask=batch.loss_mask,
            latents=batch.latents,
            dt=self.dt,
            input_names=input_names,
            output_names=layout.output_names,
            latent_names=layout.latent_names,
            trial_coords=batch.trial_coords,
            attrs=attrs,
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


_REGISTRY: dict[str, type[Task]] = {}
T = TypeVar("T", bound=type[Task])


def register_task(cls: T) -> T:
    """Class decorator adding a task to the registry under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"task class {cls.__name__} must set a non-empty class attribute 'name'")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"task name {cls.name!r} is already registered by {_REGISTRY[cls.name].__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def list_tasks() -> list[str]:
    """Names of all registered tasks, sorted."""
    return sorted(_REGISTRY)


def make_task(name: str, **params: Any) -> Task:
    """Build a registered task by name.

    Parameters
    ----------
    name : str
        A name from :func:`list_tasks`.
    **params
        Keyword parameters of that task; ``timing`` may be a dict of
        :class:`Timing` fields.

    Raises
    ------
    ValueError
        If ``name`` is not registered.
    TypeError
        If a parameter is not accepted by the task.
    """
    check_in("name", name, list_tasks())
    cls = _REGISTRY[name]
    if isinstance(params.get("timing"), Mapping):
        params["timing"] = Timing(**params["timing"])
    accepted = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise TypeError(f"task {name!r} accepts parameters {sorted(accepted)}; got unknown {unknown}")
    return cls(**params)


def set_derived(obj: Any, **values: Any) -> None:
    """Store derived state on a frozen dataclass (computed once in its ``__post_init__``).

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Box:
    ...     width: float
    ...     def __post_init__(self):
    ...         set_derived(self, _half=self.width / 2)
    >>> Box(3.0)._half
    1.5
    """
    for key, value in values.items():
        object.__setattr__(obj, key, value)
