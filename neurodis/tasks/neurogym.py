"""neurogym tasks as neurodis tasks, and neurodis tasks as neurogym environments.

neurogym (``pip install neurodis[neurogym]``) builds a trial of a cognitive task in a
``TrialEnv``: ``new_trial()`` lays out the periods, the observations ``ob (time, input)``
and the ground truth ``gt (time,)`` (an action index) or ``gt (time, output)``, and
returns the trial's info (ground truth, coherence, ...). neurogym is imported when a
bridge is used, never by ``import neurodis``.

:func:`from_neurogym` wraps an env (or its id) as a :class:`NeurogymTask`, registered
as ``"neurogym"``:

- **Seeding.** Every :meth:`~NeurogymTask.sample_arrays` call works on a fresh env
  (built from the task's config, or a copy of the env it was made from), seeded with
  ``env.seed(s)`` (neurogym's convention) where ``s`` is one draw from the numpy
  Generator; the same seed gives the same trials, and nothing carries over from earlier
  calls. A task is refused when two fresh envs seeded alike draw different trials (the
  env then draws from a source neurodis cannot seed).
- **Padding.** Trials are padded with zeros to ``n_steps`` (default: the longest trial
  of the batch); ``loss_mask`` is 0 on the padding and 1 elsewhere.
- **Targets.** A ``Discrete`` action space (categorical ``gt``) gives one-hot targets,
  one output per action, and a sigmoid readout (:attr:`NeurogymTask.readout`), so the
  trainer minimises the binary cross-entropy of every action's logit: the choice is
  the argmax of the outputs. A ``Box`` action space gives ``gt`` itself and a linear
  readout (mean squared error).
- **Labels.** Channels are named from the spaces' ``name`` dicts
  (``{"fixation": 0, "stimulus": [1, 2]}`` gives ``fixation, stimulus_0, stimulus_1``,
  so the stimulus channels are the ones neurodis encoders read). The trial info's
  scalar entries become coords on ``trial`` (the numeric ones also the ``latents``);
  every period ``p`` gives trial coords ``p_start`` and ``p_end`` in ms and
  :meth:`~NeurogymTask.sample` adds ``period (trial, time)``, the name of the period each
  step lies in (``""`` on padding; where periods overlap, the one added last).

:func:`to_neurogym` exposes a neurodis task as a neurogym ``TrialEnv``: a task that came
from neurogym gives back a copy of its env; any other task a :class:`TrialEnv` whose
trials are that task's (see :func:`to_neurogym`), registered in gymnasium as
:data:`ENV_ID` so ``neurogym.make(ENV_ID, task=config)`` rebuilds it.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from neurodis._validation import NeurodisWarning, check_int, check_type, describe
from neurodis.tasks.base import Task, TrialBatch, make_task, register_task
from neurodis.trials import TIME, TRIAL, VARIABLE_DIMS

__all__ = ["ENV_ID", "NeurogymTask", "from_neurogym", "to_neurogym"]

#: gymnasium id of the envs :func:`to_neurogym` makes (keyword argument ``task``: a task config).
ENV_ID = "neurodis/Task-v0"
#: Seed of the two env copies compared when a task is built (any fixed value would do).
_PROBE_SEED = 0
_PROBE_TRIALS = 2
#: Names a trial-info key may not take (it is prefixed with ``info_`` instead).
_RESERVED = {TRIAL, TIME, "input", "output", "latent", "period", *VARIABLE_DIMS}


def _import_neurogym() -> tuple[Any, Any]:
    """neurogym and gymnasium (which it installs), with neurodis's env registered in gymnasium."""
    try:
        import gymnasium
        import neurogym
    except ImportError as err:
        raise ImportError("neurodis's neurogym bridge needs neurogym; install it with "
                          "`pip install neurodis[neurogym]`") from err
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="neurodis.tasks.neurogym:to_neurogym")
    return neurogym, gymnasium


# ----------------------------------------------------------------------------- reading an env
def _space_names(space: Any, size: int, default: str) -> list[str]:
    """Channel names from a neurogym space's ``name`` dict (``key`` or ``key_j``)."""
    names: list[str | None] = [None] * size
    for key, where in (getattr(space, "name", None) or {}).items():
        indices = [where] if isinstance(where, numbers.Integral) else list(where)
        for j, index in enumerate(indices):
            if 0 <= int(index) < size and names[int(index)] is None:
                names[int(index)] = str(key) if isinstance(where, numbers.Integral) else f"{key}_{j}"
    return [name if name is not None else f"{default}_{i}" for i, name in enumerate(names)]


def _trial_source(env: Any) -> Any:
    """The outermost layer that makes trials: a neurogym ``TrialWrapper`` or the ``TrialEnv``.

    gymnasium's own wrappers (``OrderEnforcing`` from ``neurogym.make``) are skipped: they
    only forward ``new_trial``, with a deprecation warning.
    """
    ngym, gymnasium = _import_neurogym()
    while isinstance(env, gymnasium.Wrapper) and not isinstance(env, ngym.core.TrialWrapper):
        env = env.env
    return env


def _scalar(value: Any) -> Any:
    """A trial-info value as a plain scalar (bool, int, float or str), or None if it is not one."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = value.item()
    return value if isinstance(value, (numbers.Real, str)) else None


@dataclass(frozen=True)
class _Draw:
    """One neurogym trial: observations, ground truth, scalar info and periods (start, end steps)."""

    ob: np.ndarray
    gt: np.ndarray
    info: dict[str, Any]
    periods: dict[str, tuple[int, int]]


def _draw(source: Any, trial_env: Any) -> _Draw:
    """One trial: ``source`` (see :func:`_trial_source`) makes it, ``trial_env`` holds it."""
    info = source.new_trial() or {}
    gt = getattr(trial_env, "gt", None)
    if gt is None:
        raise ValueError(f"env must set a ground truth (set_groundtruth) in new_trial, which neurodis trains on; "
                         f"{type(trial_env).__name__} sets none")
    scalars = {str(key): _scalar(value) for key, value in dict(info).items()}
    periods = {str(p): (int(trial_env.start_ind[p]), int(trial_env.end_ind[p])) for p in trial_env.start_ind}
    return _Draw(ob=np.array(trial_env.ob, dtype=np.float64), gt=np.array(gt),
                 info={key: value for key, value in scalars.items() if value is not None}, periods=periods)


def _draws(env: Any, seed: int, n_trials: int) -> list[_Draw]:
    """``n_trials`` trials of ``env`` (a fresh one, which this changes) seeded with ``seed``."""
    env.unwrapped.seed(seed)
    source = _trial_source(env)
    return [_draw(source, env.unwrapped) for _ in range(n_trials)]


def _same(first: list[_Draw], second: list[_Draw]) -> bool:
    return all(a.ob.shape == b.ob.shape and np.array_equal(a.ob, b.ob) and np.array_equal(a.gt, b.gt)
               and a.info == b.info and a.periods == b.periods for a, b in zip(first, second))


def _json_kwargs(name: str, kwargs: Any) -> dict[str, Any]:
    """``kwargs`` as it reads back from JSON (the task's config), or TypeError."""
    check_type(name, kwargs, Mapping, "a mapping of keyword arguments")
    try:
        return json.loads(json.dumps(dict(kwargs), sort_keys=True))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be JSON-serialisable (it is part of the task's config); got {describe(kwargs)} "
                        f"({err}); build the env yourself and pass it to from_neurogym") from err


def _build_env(env: str, env_kwargs: dict[str, Any]) -> Any:
    """The env an id (``neurogym.make``) or an entry point ``"module:Class"`` names."""
    ngym, gymnasium = _import_neurogym()
    if ":" in env:
        module, _, attr = env.partition(":")
        try:
            creator = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"env must be a neurogym env id or an importable 'module:Class'; got {env!r} "
                             f"({type(err).__name__}: {err})") from err
        return creator(**env_kwargs)
    if env not in gymnasium.registry:
        raise ValueError(f"env must be a registered neurogym env id (see neurogym.all_envs()) or 'module:Class'; "
                         f"got {env!r}")
    with warnings.catch_warnings():
        # gymnasium warns that neurogym's env metadata lacks `render_modes`: nothing the caller can change
        warnings.filterwarnings("ignore", message=".*render_modes", category=UserWarning)
        return ngym.make(env, **env_kwargs)


@dataclass(frozen=True)
class _Layout:
    """What a task reads once from its env: channel names, kinds, trial info and periods."""

    dt: float
    input_names: list[str]
    output_names: list[str]
    categorical: bool
    coords: list[str]  # scalar trial-info keys, in the env's order
    latents: list[str]  # the numeric ones
    periods: list[str]
    longest: int  # steps of the longest probe trial


def _layout(env: Any, probe: list[_Draw]) -> _Layout:
    _, gymnasium = _import_neurogym()
    trial_env = env.unwrapped
    obs, action = trial_env.observation_space, trial_env.action_space
    if obs.shape is None or len(obs.shape) != 1:
        raise ValueError(f"env's observation_space must be a 1-D Box (one value per input channel); got {obs}")
    if isinstance(action, gymnasium.spaces.Discrete):
        categorical, n_outputs = True, int(action.n)
    elif isinstance(action, gymnasium.spaces.Box) and len(action.shape) == 1:
        categorical, n_outputs = False, int(action.shape[0])
    else:
        raise ValueError(f"env's action_space must be Discrete (categorical gt) or a 1-D Box; got {action}")
    first = probe[0]
    return _Layout(
        dt=float(trial_env.dt),
        input_names=_space_names(obs, int(obs.shape[0]), "input"),
        output_names=_space_names(action, n_outputs, "action"),
        categorical=categorical,
        coords=list(first.info),
        latents=[key for key, value in first.info.items() if not isinstance(value, str)],
        periods=list(first.periods),
        longest=max(draw.ob.shape[0] for draw in probe),
    )


# ----------------------------------------------------------------------------- the task
@register_task
@dataclass(frozen=True, kw_only=True)
class NeurogymTask(Task):
    """A neurogym env as a neurodis task (see the module docstring for the conventions).

    Parameters
    ----------
    env : str
        A neurogym env id (``neurogym.all_envs()``), built with ``neurogym.make``, or an
        entry point ``"module:Class"``, built as ``Class(**env_kwargs)``.
    env_kwargs : dict
        Keyword arguments of the env (JSON-serialisable: they are the task's config).
    n_steps : int, optional
        Length every trial is padded to; ``None`` pads each batch to its longest trial.
    prototype : neurogym env, optional
        An env whose copies are sampled instead of building ``env`` (what
        :func:`from_neurogym` passes for an env its config does not rebuild). Not part
        of the config: ``env`` and ``env_kwargs`` then only name it.

    Attributes
    ----------
    readout : str
        ``"sigmoid"`` for a categorical (``Discrete``) action space, else ``"linear"``.
    categorical : bool
        Whether the targets are one-hot actions.

    Raises
    ------
    ImportError
        If neurogym is not installed.
    TypeError
        If ``env`` is not a str, ``env_kwargs`` not a JSON-serialisable mapping (or not
        accepted by the env), or ``n_steps`` not an int.
    ValueError
        If ``env`` names no env, its spaces are not 1-D, it sets no ground truth, it is
        not reproducible under ``env.seed``, or ``n_steps`` is shorter than its trials.

    Examples
    --------
    >>> task = NeurogymTask(env="PerceptualDecisionMaking-v0", env_kwargs={"dt": 100})
    >>> task.input_names, task.output_names, task.latent_names
    (['fixation', 'stimulus_0', 'stimulus_1'], ['fixation', 'choice_0', 'choice_1'], ['ground_truth', 'coh'])
    >>> trials = task.sample(4, rng=0)
    >>> dict(trials.sizes), str(trials["period"].values[0, -1])
    ({'trial': 4, 'time': 22, 'input': 3, 'output': 3, 'latent': 2}, 'decision')
    >>> NeurogymTask(env="PerceptualDecisionMaking-v0", n_steps=10)
    Traceback (most recent call last):
    ...
    ValueError: n_steps must be at least the length of env's trials (22 steps); got 10
    """

    name: ClassVar[str] = "neurogym"

    env: str = "PerceptualDecisionMaking-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_steps: int | None = None
    prototype: InitVar[Any] = None

    def __post_init__(self, prototype: Any) -> None:
        check_type("env", self.env, str, "a neurogym env id (e.g. 'PerceptualDecisionMaking-v0') or 'module:Class'")
        object.__setattr__(self, "env_kwargs", _json_kwargs("env_kwargs", self.env_kwargs))
        if self.n_steps is not None:
            object.__setattr__(self, "n_steps", check_int("n_steps", self.n_steps, minimum=1))
        # the instance every sample copies (None: each sample builds the env from the config)
        object.__setattr__(self, "_prototype", None if prototype is None else copy.deepcopy(prototype))
        try:
            first, twin = self._fresh_env(), self._fresh_env()
        except TypeError as err:  # the env's constructor refused a keyword
            raise TypeError(f"env_kwargs must be keyword arguments of {self.env}; got {self.env_kwargs} "
                            f"({err})") from err
        _check_trial_env(first)
        # two fresh envs seeded alike must agree: one that also draws from global state, from a
        # generator seeded when it was built, or (a copy) from the env it was copied from would not
        probe = _draws(first, _PROBE_SEED, _PROBE_TRIALS)
        if not _same(probe, _draws(twin, _PROBE_SEED, _PROBE_TRIALS)):
            raise ValueError(f"env must give the same trials after env.seed(s); {self.env} does not (it, or a copy "
                             "of it, also draws from a random source other than its rng), so its trials could not "
                             "be reproduced")
        layout = _layout(first, probe)
        if self.n_steps is not None and self.n_steps < layout.longest:
            raise ValueError(f"n_steps must be at least the length of env's trials ({layout.longest} steps); "
                             f"got {self.n_steps}")
        object.__setattr__(self, "_layout", layout)  # not a field: not config

    def _fresh_env(self) -> Any:
        """A new env in its initial state: built from the config, or a copy of the instance."""
        if self._prototype is not None:
            return copy.deepcopy(self._prototype)
        return _build_env(self.env, self.env_kwargs)

    def __hash__(self) -> int:
        return hash((self.env, json.dumps(self.env_kwargs, sort_keys=True), self.n_steps))

    @property
    def dt(self) -> float:
        """The env's step in ms."""
        return self._layout.dt

    @property
    def input_names(self) -> list[str]:
        return list(self._layout.input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self._layout.output_names)

    @property
    def latent_names(self) -> list[str]:
        return list(self._layout.latents)

    @property
    def categorical(self) -> bool:
        return self._layout.categorical

    @property
    def readout(self) -> str:
        """Readout of a network trained on the task: sigmoid for actions, linear for continuous gt."""
        return "sigmoid" if self.categorical else "linear"

    @property
    def periods(self) -> list[str]:
        """Names of the env's trial periods, in the order it adds them."""
        return list(self._layout.periods)

    @property
    def steps_per_trial(self) -> int:
        """``n_steps``, or the longest of a few trials drawn when the task was built (an estimate)."""
        return self.n_steps if self.n_steps is not None else self._layout.longest

    def coord_name(self, key: str) -> str:
        """The trial coord of trial-info entry ``key`` (``info_key`` where it would clash).

        Examples
        --------
        >>> task = NeurogymTask()
        >>> task.coord_name("coh"), task.coord_name("time")
        ('coh', 'info_time')
        """
        taken = _RESERVED | {f"{p}_{edge}" for p in self._layout.periods for edge in ("start", "end")}
        return f"info_{key}" if key in taken else key

    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` trials from a fresh env seeded with one draw from ``rng``.

        Raises
        ------
        ValueError
            If a trial is longer than ``n_steps``, its ground truth is out of the action
            space, or its trial info lacks an entry the first trials had.
        """
        n_trials = check_int("n_trials", n_trials, minimum=1)
        check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
        draws = _draws(self._fresh_env(), int(rng.integers(2**32)), n_trials)
        layout = self._layout
        lengths = [draw.ob.shape[0] for draw in draws]
        n_steps = self.n_steps if self.n_steps is not None else max(lengths)
        if max(lengths) > n_steps:
            raise ValueError(f"n_steps must be at least the length of env's trials; got n_steps={n_steps}, but a "
                             f"trial of {self.env} lasts {max(lengths)} steps: raise n_steps")
        n_outputs = len(layout.output_names)
        inputs = np.zeros((n_trials, n_steps, len(layout.input_names)))
        targets = np.zeros((n_trials, n_steps, n_outputs))
        loss_mask = np.zeros_like(targets)
        for i, draw in enumerate(draws):
            length = lengths[i]
            inputs[i, :length] = draw.ob
            targets[i, :length] = self._targets(draw.gt, length, n_outputs)
            loss_mask[i, :length] = 1.0
        coords = {self.coord_name(key): np.array([self._info(draw, key, i) for i, draw in enumerate(draws)])
                  for key in layout.coords}
        for period in layout.periods:  # a period a trial did not add (a wrapper switching envs) is empty
            for edge, index in (("start", 0), ("end", 1)):
                coords[f"{period}_{edge}"] = np.array([draw.periods.get(period, (0, 0))[index] * layout.dt
                                                       for draw in draws])
        latents = np.array([[float(self._info(draw, key, i)) for key in layout.latents]
                            for i, draw in enumerate(draws)]).reshape(n_trials, len(layout.latents))
        return TrialBatch(inputs=inputs, targets=targets, loss_mask=loss_mask, latents=latents, trial_coords=coords)

    def _targets(self, gt: np.ndarray, length: int, n_outputs: int) -> np.ndarray:
        if not self.categorical:
            return np.asarray(gt, dtype=np.float64).reshape(length, n_outputs)
        actions = np.asarray(gt).reshape(length)
        if actions.size and (actions.min() < 0 or actions.max() >= n_outputs):
            raise ValueError(f"env's gt must be actions in [0, {n_outputs}); got {np.unique(actions).tolist()}")
        return np.eye(n_outputs)[actions.astype(np.int64)]

    def _info(self, draw: _Draw, key: str, index: int) -> Any:
        if key not in draw.info:
            raise ValueError(f"env's trial info must hold the scalar entries of its first trials "
                             f"({self._layout.coords}); trial {index} has {sorted(draw.info)}")
        return draw.info[key]

    def sample(
        self,
        n_trials: int,
        rng: int | np.random.Generator | np.random.SeedSequence | None = None,
        *,
        encoder: Any = None,
    ) -> xr.Dataset:
        """Draw ``n_trials`` trials as a labelled trials Dataset (see :meth:`Task.sample`).

        Besides :meth:`Task.sample`'s content, the trials carry the coord ``period
        (trial, time)`` (the period of each step, ``""`` on padding) and the attr
        ``neurogym_version``.
        """
        trials = super().sample(n_trials, rng, encoder=encoder)
        time_t = trials[TIME].values
        labels = np.full((trials.sizes[TRIAL], time_t.size), "", dtype=f"<U{max(map(len, self.periods), default=1)}")
        for period in self.periods:
            start, end = trials[f"{period}_start"].values[:, None], trials[f"{period}_end"].values[:, None]
            labels[(time_t >= start) & (time_t < end)] = period
        trials = trials.assign_coords(period=((TRIAL, TIME), labels))
        trials.attrs["neurogym_version"] = _import_neurogym()[0].__version__
        return trials


def _check_trial_env(env: Any) -> None:
    ngym, _ = _import_neurogym()
    if not isinstance(getattr(env, "unwrapped", None), ngym.core.TrialEnv):
        raise TypeError(f"env must be a neurogym TrialEnv (or a wrapper of one) or an env id; got "
                        f"{type(env).__name__} {describe(env)}")


# ----------------------------------------------------------------------------- the bridges
def from_neurogym(env: Any, *, n_steps: int | None = None, **env_kwargs: Any) -> NeurogymTask:
    """A neurogym env (or its id) as a neurodis task.

    Parameters
    ----------
    env : str or neurogym.TrialEnv
        An env id (``neurogym.all_envs()``) or an env, e.g. from ``neurogym.make`` (with
        gymnasium or neurogym wrappers around it). An env is copied, never changed.
    n_steps : int, optional
        Length every trial is padded to (default: the longest trial of each batch).
    **env_kwargs
        Keyword arguments of the env, with an id only.

    Returns
    -------
    NeurogymTask
        Its config names the env: the id and keyword arguments ``neurogym.make`` was
        given (the env's ``spec``), else the env's class as ``"module:Class"``.

    Raises
    ------
    TypeError
        If ``env`` is neither an id nor a neurogym env, or ``env_kwargs`` come with an env.
    ValueError
        As :class:`NeurogymTask`.

    Warns
    -----
    NeurodisWarning
        If the config is not known to rebuild ``env`` (an env built from its class
        with arguments, or wrapped in a neurogym wrapper that changes its trials): the
        task samples from copies of ``env``, but a network saved with it loads with the
        env its config names. (An env ``neurogym.make`` built and nothing wrapped is
        taken to be what its ``spec`` says, changes made to it afterwards included.)

    Examples
    --------
    >>> task = from_neurogym("PerceptualDecisionMaking-v0", dt=50)
    >>> task.env, task.env_kwargs, task.dt
    ('PerceptualDecisionMaking-v0', {'dt': 50}, 50.0)
    >>> from_neurogym(to_neurogym(task)) == task  # the env it samples from gives it back
    True
    >>> from_neurogym(3)
    Traceback (most recent call last):
    ...
    TypeError: env must be a neurogym TrialEnv (or a wrapper of one) or an env id; got int 3
    """
    if isinstance(env, str):
        return NeurogymTask(env=env, env_kwargs=env_kwargs, n_steps=n_steps)
    _check_trial_env(env)
    if env_kwargs:
        raise TypeError(f"env_kwargs go with an env id; got an env ({type(env.unwrapped).__name__}) and "
                        f"{sorted(env_kwargs)}")
    name, kwargs, rebuilds = _config_of(env)
    if rebuilds:
        return NeurogymTask(env=name, env_kwargs=kwargs, n_steps=n_steps)
    warnings.warn(f"env ({type(env.unwrapped).__name__}) is not rebuilt by its config (env={name!r}, "
                  f"env_kwargs={kwargs}): the task samples from copies of env, but a network saved with it will "
                  "load with the env the config names; make the env with neurogym.make(id, **kwargs), or pass "
                  "the id to from_neurogym", NeurodisWarning, stacklevel=2)
    return NeurogymTask(env=name, env_kwargs=kwargs, n_steps=n_steps, prototype=env)


def _config_of(env: Any) -> tuple[str, dict[str, Any], bool]:
    """The ``(env, env_kwargs)`` that name ``env``, and whether they are known to build it.

    An env that ``neurogym.make`` built (it has a ``spec``) with no neurogym wrapper
    around it is what its id and keyword arguments build. Otherwise (an env built from
    its class, or wrapped) the id or ``"module:Class"`` with the keyword arguments it is
    known by must give the same trials as a copy of ``env``.
    """
    ngym, gymnasium = _import_neurogym()
    spec, kind = env.unwrapped.spec, type(env.unwrapped)
    name = spec.id if spec is not None else f"{kind.__module__}:{kind.__qualname__}"
    try:
        kwargs = _json_kwargs("env_kwargs", {} if spec is None else spec.kwargs)
    except TypeError:  # arguments JSON cannot hold
        return name, {}, False
    layers = []
    while isinstance(env, gymnasium.Wrapper):
        layers.append(env)
        env = env.env
    if spec is not None and not any(isinstance(layer, ngym.core.TrialWrapper) for layer in layers):
        return name, kwargs, True
    try:
        rebuilt = _build_env(name, kwargs)
    except (TypeError, ValueError):  # e.g. a class that needs arguments
        return name, kwargs, False
    copied = copy.deepcopy(layers[0] if layers else env)
    same = rebuilt.unwrapped.dt == env.dt and _same(_draws(copied, _PROBE_SEED, _PROBE_TRIALS),
                                                     _draws(rebuilt, _PROBE_SEED, _PROBE_TRIALS))
    return name, kwargs, same


def to_neurogym(task: Task | Mapping[str, Any]) -> Any:
    """A neurodis task as a neurogym ``TrialEnv``.

    A :class:`NeurogymTask` gives a fresh env of the kind it samples from (what its config
    builds, or a copy of the env it was made from). Any other task gives
    a ``TrialEnv`` whose ``new_trial`` draws one trial of the task with the numpy
    Generator seeded by one draw from the env's ``rng`` (so ``env.seed(s)`` makes it
    deterministic) and returns its latents and trial coords as the trial info.
    ``observation_space`` and ``action_space`` are float64 ``Box`` es named by the task's
    inputs and outputs; ``gt`` holds the targets and ``loss_mask`` the loss weights of
    the trial, and a step's reward is minus the loss-weighted squared error of the
    action. The periods are the task's timing (fixation, stimulus, delay, decision), or
    one period ``"trial"``. The raw input channels are used (no encoder). Its ``spec``
    is :data:`ENV_ID` with the task's config, so ``neurogym.make(ENV_ID, task=config)``
    builds it again (the id is registered in gymnasium once a bridge has run).

    Parameters
    ----------
    task : Task or mapping
        The task, or its config (``Task.config()``, as ``neurogym.make`` passes it).

    Returns
    -------
    neurogym.TrialEnv
        Or, for a NeurogymTask, the env wrapped as ``neurogym.make`` returns it.

    Raises
    ------
    TypeError
        If ``task`` is neither a Task nor a config mapping.
    ValueError
        If ``task``'s step cannot place its periods on neurogym's grid of ``dt``.

    Examples
    --------
    >>> import neurodis
    >>> env = to_neurogym(neurodis.make_task("flipflop", n_bits=2, duration=50.0))
    >>> env.seed(0)
    [0]
    >>> trial = env.new_trial()
    >>> env.ob.shape, env.gt.shape, env.action_space.name
    ((5, 2), (5, 2), {'bit_0': 0, 'bit_1': 1})
    """
    if isinstance(task, Mapping):
        config = dict(task)
        task = make_task(config.pop("task", None), **config)
    check_type("task", task, Task, "a neurodis Task or its config")
    if isinstance(task, NeurogymTask):
        return task._fresh_env()
    _, gymnasium = _import_neurogym()
    env = _task_env_class()(task)
    env.spec = gymnasium.envs.registration.EnvSpec(ENV_ID, entry_point="neurodis.tasks.neurogym:to_neurogym",
                                                   kwargs={"task": task.config()})
    return env


@functools.cache
def _task_env_class() -> type:
    """The TrialEnv subclass of :func:`to_neurogym` (built once neurogym is imported)."""
    ngym, _ = _import_neurogym()

    class NeurodisTrialEnv(ngym.core.TrialEnv):
        """A neurodis task's trials, one per ``new_trial`` (see :func:`to_neurogym`)."""

        metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "paper_name": "neurodis task",
                                              "tags": ["supervised", "neurodis"]}

        def __init__(self, task: Task) -> None:
            super().__init__(dt=task.dt)
            self.task = task
            self.timing = _periods(task)
            box = ngym.spaces.Box
            self.observation_space = box(-np.inf, np.inf, shape=(len(task.input_names),), dtype=np.float64,
                                         name={name: i for i, name in enumerate(task.input_names)})
            self.action_space = box(-np.inf, np.inf, shape=(len(task.output_names),), dtype=np.float64,
                                    name={name: i for i, name in enumerate(task.output_names)})
            self.loss_mask = np.zeros((0, len(task.output_names)))

        def _new_trial(self, **kwargs: Any) -> dict[str, Any]:
            if kwargs:
                raise TypeError(f"new_trial of a neurodis task takes no trial parameters; got {sorted(kwargs)}")
            generator = np.random.default_rng(int(self.rng.randint(2**32, dtype=np.int64)))
            batch = self.task.sample_arrays(1, generator)
            self.add_period(list(self.timing), duration=list(self.timing.values()))
            self.add_ob(batch.inputs[0])
            self.set_groundtruth(batch.targets[0])
            self.loss_mask = batch.loss_mask[0]
            trial = {name: float(value) for name, value in zip(self.task.latent_names, batch.latents[0])}
            trial.update({name: values[0].item() for name, values in batch.trial_coords.items()})
            return trial

        def _step(self, action: Any) -> tuple:
            gt = self.gt_now
            error = self.loss_mask[self.t_ind] * (np.asarray(action, dtype=np.float64) - gt) ** 2
            return self.ob_now, -float(error.sum()), False, False, {"new_trial": False, "gt": gt}

    return NeurodisTrialEnv


def _periods(task: Task) -> dict[str, float]:
    """The task's periods in ms, checked to land on the steps neurogym computes (``int(t / dt)``)."""
    timing = getattr(task, "timing", None)
    steps = task.steps_per_trial
    if timing is not None and timing.n_steps == steps:
        periods = {p: timing.steps(p) for p in timing.PERIODS}
    else:  # no timing, or several trials in a sequence
        periods = {"trial": steps}
    start, index = 0.0, 0
    for name, count in periods.items():  # neurogym sums the durations in ms and truncates end / dt
        start, index = start + count * task.dt, index + count
        if int(start / task.dt) != index:
            raise ValueError(f"task.dt must place every period on neurogym's step grid; dt={task.dt} ms puts the end "
                             f"of {name!r} at step {int(start / task.dt)} instead of {index}")
    return {name: count * task.dt for name, count in periods.items()}
