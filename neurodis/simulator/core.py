"""Public simulation functions: validate, unwrap, run the kernels, relabel.

:func:`simulate` runs a CTRNN on a batch of trials and returns the trials Dataset with
``rates``, ``outputs`` and ``logits`` added; :func:`simulate_autonomous` holds one input
constant for many steps (attractor studies); :func:`simulate_arrays` is the same
computation on plain arrays, without any xarray overhead.

Conventions (identical to ``neurodis.models.CTRNN``, see ``CTRNNWeights``): the rates at
time index t are the state *after* the Euler step that starts at ``time[t]`` and receives
``inputs[:, t]``; the initial state r_0 (zeros by default) is not stored. Noise terms
are sqrt(2/α) · level · standard normal per trial, step and unit/input.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import os
import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_int,
    check_memory,
    check_rng,
    check_type,
    describe,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.simulator import _engine
from neurodis.simulator.weights import CTRNNWeights, check_float_dtype
from neurodis.trials import (
    INPUT,
    OUTPUT,
    TIME,
    TIME_ATTRS,
    TRIAL,
    UNIT,
    VARIABLE_ATTRS,
    assemble_dataset,
    dataset_parts,
    dim_coord,
    shallow_copy,
    time_coord,
    validate_trials,
)

__all__ = ["SimulationArrays", "as_weights", "simulate", "simulate_arrays", "simulate_autonomous"]

NoiseArg = "None | bool | Mapping[str, ndarray]"
_SIMULATED = ("rates", "outputs", "logits", "final_rates", "final_outputs", "final_logits")


class SimulationArrays(NamedTuple):
    """Result of :func:`simulate_arrays`.

    Attributes
    ----------
    rates : ndarray, shape (trial, time, unit), or (trial, unit) for a final-state run
    logits : ndarray, shape (trial, time, output) or (trial, output)
        Readout before its nonlinearity.
    outputs : ndarray, same shape as ``logits``
        Readout after its nonlinearity (sigmoid, bound·tanh or identity).
    noise : str
        ``"off"``, ``"drawn"`` or ``"given"``.
    """

    rates: np.ndarray
    logits: np.ndarray
    outputs: np.ndarray
    noise: str


def as_weights(model_or_weights: Any) -> CTRNNWeights:
    """Return the :class:`CTRNNWeights` of a torch CTRNN, or the weights themselves.

    Raises
    ------
    TypeError
        If the argument is neither, or is a model the simulator cannot represent
        (LSTM, GRU, transformer).

    Examples
    --------
    >>> as_weights("lstm")
    Traceback (most recent call last):
    ...
    TypeError: model_or_weights must be a CTRNN model or CTRNNWeights; got str 'lstm'
    """
    if isinstance(model_or_weights, CTRNNWeights):
        return model_or_weights
    if hasattr(model_or_weights, "arch"):
        return CTRNNWeights.from_model(model_or_weights)
    raise TypeError(
        "model_or_weights must be a CTRNN model or CTRNNWeights; got "
        f"{type(model_or_weights).__name__} {describe(model_or_weights)}"
    )


def simulate_arrays(
    model_or_weights: Any,
    inputs: Any,
    *,
    rng: Any = None,
    noise: Any = None,
    dtype: Any = np.float32,
    initial_state: Any = None,
    final_only: bool = False,
) -> SimulationArrays:
    """Simulate a CTRNN on raw inputs ``(trial, time, input)``; no labels, least overhead.

    Parameters are those of :func:`simulate`, with ``inputs`` a plain array.

    Returns
    -------
    SimulationArrays
        ``rates``, ``logits``, ``outputs`` (full trajectories, or final states when
        ``final_only``) and the kind of noise used.

    Examples
    --------
    >>> import numpy as np
    >>> w = CTRNNWeights.random(n_inputs=2, n_units=4, n_outputs=1, rng=0)
    >>> result = simulate_arrays(w, np.ones((3, 5, 2)))
    >>> result.rates.shape, result.outputs.shape, result.rates.dtype
    ((3, 5, 4), (3, 5, 1), dtype('float32'))
    """
    weights = as_weights(model_or_weights)
    dtype = check_float_dtype(dtype)
    check_type("final_only", final_only, bool, "a bool")
    return _simulate_arrays(weights, inputs, _RunRng(rng), noise, dtype, initial_state, final_only)


def _simulate_arrays(weights: CTRNNWeights, inputs: Any, generator: Callable[[], np.random.Generator],
                     noise: Any, dtype: type[np.floating], initial_state: Any,
                     final_only: bool) -> SimulationArrays:
    """:func:`simulate_arrays` after its argument checks; ``generator()`` gives the noise's generator."""
    kw = _engine.kernel_weights(weights, dtype)
    shape = np.shape(inputs)  # before the inputs are copied: a broadcast view may be huge
    if len(shape) == 3 and not final_only:
        check_memory("inputs", f"<array of shape {shape}>",
                     3.0 * shape[0] * shape[1] * max(weights.n_units, weights.n_outputs, shape[2])
                     * np.dtype(dtype).itemsize,
                     f"inputs, rates, logits and outputs (trial, time, channel) {np.dtype(dtype).name}",
                     advice="simulate fewer trials at once, or pass final_only=True")
    inputs_bxtxi = _as_array("inputs", inputs, dtype, ndim=3)
    n_trials, n_steps, n_inputs = inputs_bxtxi.shape
    if n_inputs != weights.n_inputs or n_trials == 0 or n_steps == 0:
        raise ValueError(
            f"inputs must have shape (trial >= 1, time >= 1, {weights.n_inputs}) to match the "
            f"model's n_inputs={weights.n_inputs}; got {describe(inputs_bxtxi)}"
        )
    state_bxn = _initial_state("initial_state", initial_state, n_trials, weights.n_units, dtype)
    noise_source, noise_kind = _engine.make_noise(noise, weights, kw, n_trials, n_steps, generator, dtype)
    source = _engine.InputDrive(kw, inputs_bxtxi, noise_source)
    return _run(weights, kw, state_bxn, n_steps, source, 0 if final_only else 1, noise_kind)


def _is_seed(rng: Any) -> bool:
    """Whether ``check_rng`` takes ``rng`` as an integer seed (without raising)."""
    return isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0


class _RunRng:
    """The generator of one run, built when noise is first drawn, and its provenance.

    Calling the instance gives ``check_rng(rng)`` (built once); :meth:`provenance` gives
    ``rng_provenance`` of it, the state before the first draw. A bad ``rng`` is refused
    at once, even if the run turns out noise-free. A seed or ``None`` has its generator
    built only for a run that draws noise: building one (SeedSequence hashing, PCG64
    seeding) costs a third of the labelled overhead of simulating a small batch, and a
    seed's provenance, the same in every run, is written once.
    """

    def __init__(self, rng: Any) -> None:
        self.rng, self.recorded = rng, None
        self.generator = None if rng is None or _is_seed(rng) else check_rng(rng)

    def __call__(self) -> np.random.Generator:
        if self.generator is None:
            self.generator = check_rng(self.rng)
        if self.recorded is None and not _is_seed(self.rng):  # the state before the first draw
            self.recorded = rng_provenance(self.rng, self.generator)
        return self.generator

    def provenance(self) -> Mapping[str, Any]:
        """``seed`` and ``rng_state`` for the attrs; asked for after the run."""
        if self.recorded is not None:
            return self.recorded
        if _is_seed(self.rng):
            return _seed_provenance(int(self.rng))
        if self.generator is not None:  # the caller's generator or SeedSequence's, not drawn from
            return rng_provenance(self.rng, self.generator)
        return {"seed": -1, "rng_state": _unused_rng_state()}  # rng=None, nothing drawn


@functools.lru_cache(maxsize=64)
def _seed_provenance(seed: int) -> Mapping[str, Any]:
    """``rng_provenance`` of a seed: the same for every run of that seed, so it is built once."""
    return types.MappingProxyType(rng_provenance(seed, check_rng(seed)))


def _unused_rng_state() -> str:
    """A fresh PCG64 state from OS entropy, written as ``rng_provenance`` writes one.

    What a run with ``rng=None`` that drew no noise records: the generator it would have
    built starts from an equally unpredictable state, and with no draw made there is
    nothing to replay. (PCG64's increment is odd.)
    """
    entropy = os.urandom(32)
    state, inc = int.from_bytes(entropy[:16], "little"), int.from_bytes(entropy[16:], "little") | 1
    # json.dumps of numpy's PCG64 state dict, written out (a test checks they agree)
    return (f'{{"bit_generator": "PCG64", "state": {{"state": {state}, "inc": {inc}}}, '
            f'"has_uint32": 0, "uinteger": 0}}')


def _run(weights: CTRNNWeights, kw: _engine.KernelWeights, state_bxn: np.ndarray, n_steps: int,
         source: _engine.InputDrive, record_every: int, noise_kind: str) -> SimulationArrays:
    """Integrate, raise on divergence, read out (final states when ``record_every`` is 0)."""
    records, bad_step_b = _engine.integrate(kw, state_bxn, n_steps, source, record_every=record_every)
    _engine.raise_if_diverged(bad_step_b, weights.dt)
    rates = records if record_every else state_bxn
    logits, outputs = _engine.readout(kw, weights.readout, weights.bound, rates)
    return SimulationArrays(rates, logits, outputs, noise_kind)


def simulate(
    model_or_weights: Any,
    trials_or_inputs: Any,
    *,
    rng: Any = None,
    noise: Any = None,
    dtype: Any = np.float32,
    initial_state: Any = None,
    final_only: bool = False,
) -> xr.Dataset:
    """Simulate a CTRNN on a batch of trials with the Numba kernels.

    Parameters
    ----------
    model_or_weights : neurodis.models.CTRNN or CTRNNWeights
        The network; a torch model is read once (its weights are copied).
    trials_or_inputs : xarray.Dataset, xarray.DataArray or ndarray
        A trials Dataset with ``inputs (trial, time, input)``, such a DataArray, or a raw
        array of shape (trial, time, input) (a minimal Dataset is built around it).
    rng : int, Generator, SeedSequence or None
        Source of the noise draws (used only when a noise level is > 0 and ``noise`` is
        not given); the same seed gives identical rates. The draws depend on ``dtype``.
    noise : None, bool or mapping
        ``None``/``True``: draw noise where the model's noise level is > 0; ``False``:
        simulate without noise; a mapping ``{"recurrent": ξ, "input": ζ}`` of standard-normal
        draws with dims (trial, time, unit) and (trial, time, input), as accepted by the
        torch model's forward (for exact parity).
    dtype : numpy.float32 or numpy.float64
        Precision of the simulation.
    initial_state : array-like, shape (unit,) or (trial, unit), optional
        Rates before the first step; zeros by default.
    final_only : bool
        Keep only the state after the last step (no (trial, time, unit) array is built).

    Returns
    -------
    xarray.Dataset
        The trials with ``rates (trial, time, unit)``, ``outputs (trial, time, output)``
        (after the readout nonlinearity) and ``logits`` (before it: log-odds for a sigmoid
        readout, which keep their precision where probabilities round to 0 or 1). With
        ``final_only`` these are ``final_rates (trial, unit)``, ``final_outputs`` and
        ``final_logits (trial, output)`` instead, and ``attrs["final_time"]`` is the time
        of the last step. ``attrs`` add ``tau``, ``alpha``, ``model`` (JSON config),
        ``simulation`` (JSON: dtype, noise kind) and ``simulation_seed`` /
        ``simulation_rng_state`` (the generator's state before its first draw, which
        replays the noise; with ``rng=None`` and no noise drawn, a fresh PCG64 state).

    Raises
    ------
    TypeError
        If the model is not a CTRNN, an argument has the wrong type (``final_only`` not a
        bool), or ``dtype`` is not float32/float64.
    ValueError
        If the input width, the number of outputs or ``dt`` disagree with the model,
        values are non-finite, the trajectories would not fit in memory, or the rates
        diverge (the message names trial and step).

    Examples
    --------
    >>> import numpy as np
    >>> w = CTRNNWeights.random(n_inputs=2, n_units=4, n_outputs=1, rng=0)
    >>> ds = simulate(w, np.ones((3, 5, 2)))
    >>> ds["rates"].dims, ds.attrs["alpha"]
    (('trial', 'time', 'unit'), 1.0)
    """
    weights = as_weights(model_or_weights)
    check_type("final_only", final_only, bool, "a bool")
    ds = _as_trials(trials_or_inputs, weights)
    generator = _RunRng(rng)
    # the labelled parts are ready before the run, so that little Python work follows it
    frame = _ResultFrame(ds, weights)
    dtype = check_float_dtype(dtype)
    result = _simulate_arrays(weights, ds.variables["inputs"].values, generator, noise, dtype,
                              initial_state, final_only)
    attrs = {**ds.attrs, **_attrs(weights, dtype, result.noise, generator.provenance())}
    if final_only:
        attrs["final_time"] = float(ds.variables[TIME].values[-1])
    return frame.with_results(_result_variables(result, final_only), attrs)


class _ResultFrame:
    """``ds`` without earlier results, with ``unit`` (and ``output``) coords, ready for new results.

    :meth:`with_results` gives what ``ds.drop_vars(...).assign_coords(...).assign(...)``
    gives (the tests check it), assembled directly: xarray's merging would cost several
    times the simulation of a small batch. A Dataset whose other variables use ``unit``
    (whose size the new coord could contradict) takes xarray's checked path.
    """

    def __init__(self, ds: xr.Dataset, weights: CTRNNWeights) -> None:
        variables, coord_names, indexes = dataset_parts(ds)
        self.ds, self.stale = ds, {name for name in (*_SIMULATED, UNIT) if name in variables}
        kept = {name: variable for name, variable in variables.items() if name not in self.stale}
        self.coords = {UNIT: np.arange(weights.n_units)}
        if OUTPUT not in ds.dims:  # then no variable uses it: only `unit` can clash
            self.coords[OUTPUT] = np.arange(weights.n_outputs)
        self.checked = UNIT in ds.dims and any(UNIT in variable.dims for variable in kept.values())
        if self.checked:
            return
        # shallow copies, as assign makes them (index variables keep their class)
        self.variables = {name: shallow_copy(variable) for name, variable in kept.items()}
        self.coord_names = [name for name in kept if name in coord_names] + list(self.coords)
        self.indexes = {name: index for name, index in indexes.items() if name not in self.stale}
        # the dims in the order of their first use, with the sizes they have in ds
        ds_sizes = ds.sizes
        self.sizes = {dim: ds_sizes[dim] for dim in dict.fromkeys(dim for variable in kept.values()
                                                                  for dim in variable.dims)}
        for name, values in self.coords.items():
            self.indexes[name], self.variables[name] = dim_coord(name, values)
            self.sizes[name] = len(values)

    def with_results(self, results: Mapping[str, tuple], attrs: dict[str, Any]) -> xr.Dataset:
        """The Dataset with ``results`` (name to (dims, data, attrs)) and ``attrs``."""
        if self.checked:
            ds = self.ds.drop_vars(sorted(self.stale)).assign_coords(self.coords).assign(results)
            ds.attrs = attrs
            return ds
        variables, sizes = dict(self.variables), dict(self.sizes)
        for name, (dims, data, data_attrs) in results.items():
            # fastpath: the kernels' results are plain float ndarrays, which xarray would keep as they are
            variables[name] = xr.Variable(dims, data, data_attrs, fastpath=True)
            for dim, size in zip(dims, data.shape):
                sizes.setdefault(dim, size)
        return assemble_dataset(variables, self.coord_names, attrs, self.indexes, self.ds.encoding, sizes)


def simulate_autonomous(
    model_or_weights: Any,
    input_vector: Any,
    n_steps: int,
    *,
    initial_states: Any,
    rng: Any = None,
    noise: Any = None,
    dtype: Any = np.float32,
    record_every: int = 1,
    final_only: bool = False,
) -> xr.Dataset:
    """Run a CTRNN from many initial states with the input held constant.

    Parameters
    ----------
    model_or_weights : neurodis.models.CTRNN or CTRNNWeights
    input_vector : array-like, shape (input,) or (trial, input)
        The constant input (for example the zero-evidence input ``[1, f(0)]``).
    n_steps : int
        Number of Euler steps (>= 1).
    initial_states : array-like, shape (trial, unit) or (unit,)
        Starting rates; each row is one run (``trial`` indexes the runs).
    rng, noise, dtype
        As in :func:`simulate` (noise arrays have ``n_steps`` steps).
    record_every : int
        Keep the rates after every ``record_every``-th step; must divide ``n_steps``.
    final_only : bool
        Keep only the state after the last step.

    Returns
    -------
    xarray.Dataset
        ``rates (trial, time, unit)``, ``outputs`` and ``logits (trial, time, output)``
        (or ``final_*`` without ``time`` when ``final_only``), ``initial_states (trial,
        unit)`` and ``input_vector``. ``time`` follows the trials convention: the state
        after step s (counted from 1) is labelled ``(s - 1) · dt``.

    Raises
    ------
    TypeError
        If ``final_only`` is not a bool, or an argument has the wrong type.
    ValueError
        If shapes disagree with the model, ``record_every`` does not divide ``n_steps``,
        the recorded rates would not fit in memory, values are non-finite or the rates
        diverge.

    Examples
    --------
    >>> import numpy as np
    >>> w = CTRNNWeights.random(n_inputs=2, n_units=4, n_outputs=1, rng=0)
    >>> ds = simulate_autonomous(w, np.zeros(2), 100, initial_states=np.ones((3, 4)),
    ...                          record_every=50)
    >>> ds["rates"].shape, ds["time"].values
    ((3, 2, 4), array([4900., 9900.]))
    """
    weights = as_weights(model_or_weights)
    dtype = check_float_dtype(dtype)
    kw = _engine.kernel_weights(weights, dtype)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    record_every = check_int("record_every", record_every, minimum=1)
    check_type("final_only", final_only, bool, "a bool")
    if not final_only and n_steps % record_every:
        raise ValueError(f"record_every must divide n_steps={n_steps}; got {record_every}")
    states = _as_array("initial_states", initial_states, dtype, ndim=None)
    states = states[None] if states.ndim == 1 else states
    state_bxn = _initial_state("initial_states", states, len(states), weights.n_units, dtype)
    input_bxi = _as_array("input_vector", input_vector, dtype, ndim=None)
    input_bxi = input_bxi[None] if input_bxi.ndim == 1 else input_bxi
    n_runs = len(state_bxn)
    if not final_only:
        check_memory("n_steps", n_steps,
                     3.0 * n_runs * (n_steps // record_every) * max(weights.n_units, weights.n_outputs)
                     * np.dtype(dtype).itemsize,
                     f"rates, logits and outputs of {n_runs} runs every {record_every} steps, {np.dtype(dtype).name}",
                     advice="reduce n_steps, raise record_every, or pass final_only=True")
    if input_bxi.ndim != 2 or input_bxi.shape[1] != weights.n_inputs or len(input_bxi) not in (1, n_runs):
        raise ValueError(
            f"input_vector must have shape ({weights.n_inputs},) or ({n_runs}, "
            f"{weights.n_inputs}) to match the model and initial_states; got {describe(input_bxi)}"
        )
    generator = _RunRng(rng)
    noise_source, noise_kind = _engine.make_noise(noise, weights, kw, n_runs, n_steps, generator, dtype)
    initial = state_bxn.copy()
    source = _engine.ConstantDrive(kw, input_bxi, noise_source)
    result = _run(weights, kw, state_bxn, n_steps, source, 0 if final_only else record_every, noise_kind)
    ds = xr.Dataset(
        {
            "initial_states": ((TRIAL, UNIT), initial, dict(VARIABLE_ATTRS["initial_states"])),
            "input_vector": ((INPUT,), input_bxi[0], dict(VARIABLE_ATTRS["input_vector"]))
            if np.ndim(input_vector) == 1 else ((TRIAL, INPUT), input_bxi, dict(VARIABLE_ATTRS["input_vector"])),
        },
        coords={TRIAL: np.arange(len(initial)), UNIT: np.arange(weights.n_units),
                INPUT: np.arange(weights.n_inputs), OUTPUT: np.arange(weights.n_outputs)},
        attrs={"dt": weights.dt, "n_steps": n_steps, "record_every": record_every},
    )
    if final_only:
        ds.attrs["final_time"] = (n_steps - 1) * weights.dt
    else:
        # the state after step s (counted from 1) is labelled (s - 1)·dt, as in trials
        offset = (record_every - 1) * weights.dt
        time = time_coord(n_steps // record_every, weights.dt * record_every) + offset
        ds = ds.assign_coords({TIME: time.assign_attrs(units="ms", long_name="time from run start")})
    ds = ds.assign(_result_variables(result, final_only))
    ds.attrs.update(_attrs(weights, dtype, noise_kind, generator.provenance()))
    return ds


def _result_variables(result: SimulationArrays, final_only: bool) -> dict[str, tuple]:
    """The simulated variables with their dims: trajectories or final states."""
    if final_only:
        named = {"final_rates": ((TRIAL, UNIT), result.rates),
                 "final_logits": ((TRIAL, OUTPUT), result.logits),
                 "final_outputs": ((TRIAL, OUTPUT), result.outputs)}
    else:
        named = {"rates": ((TRIAL, TIME, UNIT), result.rates),
                 "logits": ((TRIAL, TIME, OUTPUT), result.logits),
                 "outputs": ((TRIAL, TIME, OUTPUT), result.outputs)}
    return {name: (dims, data, dict(VARIABLE_ATTRS[name])) for name, (dims, data) in named.items()}


def _as_array(name: str, value: Any, dtype: type[np.floating], ndim: int | None) -> np.ndarray:
    """``value`` (array-like or DataArray) as a C-contiguous finite array of ``dtype``."""
    value = getattr(value, "values", value) if isinstance(value, xr.DataArray) else value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like; got {type(value).__name__}") from err
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got {describe(array)}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got {describe(array)}")
    if array.dtype != dtype:
        with np.errstate(over="ignore"):  # values beyond the dtype's range are reported below
            array = array.astype(dtype, order="C")
    else:
        array = np.ascontiguousarray(array)
    if not np.isfinite(array).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} must be finite in {np.dtype(dtype).name}; got a non-finite "
                         f"value at index {bad}")
    return array


def _initial_state(name: str, value: Any, n_trials: int, n_units: int,
                   dtype: type[np.floating]) -> np.ndarray:
    """Initial rates as a fresh (trial, unit) array (the kernels overwrite it)."""
    if value is None:
        return np.zeros((n_trials, n_units), dtype=dtype)
    array = _as_array(name, value, dtype, ndim=None)
    if array.shape not in ((n_units,), (n_trials, n_units)):
        raise ValueError(f"{name} must have shape ({n_units},) or ({n_trials}, {n_units}) to "
                         f"match the model and the trials; got {describe(array)}")
    return np.array(np.broadcast_to(array, (n_trials, n_units)), dtype=dtype, order="C")


def _as_trials(trials_or_inputs: Any, weights: CTRNNWeights) -> xr.Dataset:
    """A validated trials Dataset with ``inputs``, its dt and outputs matching ``weights``."""
    if isinstance(trials_or_inputs, xr.DataArray):
        trials_or_inputs = xr.Dataset({"inputs": trials_or_inputs}, attrs={"dt": weights.dt})
    if isinstance(trials_or_inputs, xr.Dataset):
        ds = validate_trials(trials_or_inputs, required=("inputs",))
        if not abs(ds.attrs["dt"] - weights.dt) <= 1e-9 * abs(weights.dt):  # np.isclose, without its overhead
            raise ValueError(f"trials.attrs['dt'] must equal the model's dt={weights.dt} ms; "
                             f"got {ds.attrs['dt']}")
        if OUTPUT in ds.dims and ds.sizes[OUTPUT] != weights.n_outputs:
            raise ValueError(f"trials must have {weights.n_outputs} outputs to match the model's "
                             f"n_outputs; got {ds.sizes[OUTPUT]} along 'output'")
        return ds
    check_type("trials_or_inputs", trials_or_inputs, (np.ndarray, list, tuple),
               "an xarray.Dataset, a DataArray or an array of shape (trial, time, input)")
    inputs = _as_array("inputs", trials_or_inputs, np.float64, ndim=3)
    n_trials, n_steps, n_inputs = inputs.shape
    # what xr.Dataset({"inputs": ...}, coords={trial, time, input}) builds, assembled directly
    variables = {"inputs": xr.Variable((TRIAL, TIME, INPUT), np.asarray(trials_or_inputs),
                                       dict(VARIABLE_ATTRS["inputs"]))}
    indexes = {}
    for name, values, attrs in ((TRIAL, np.arange(n_trials), None),
                                (TIME, np.arange(n_steps, dtype=np.float64) * float(weights.dt), TIME_ATTRS),
                                (INPUT, np.arange(n_inputs), None)):
        indexes[name], variables[name] = dim_coord(name, values, attrs)
    return assemble_dataset(variables, [TRIAL, TIME, INPUT], {"dt": weights.dt}, indexes)


def _attrs(weights: CTRNNWeights, dtype: type[np.floating], noise_kind: str,
           provenance: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "tau": weights.tau,
        "alpha": weights.alpha,
        "model": _model_json(weights),
        "simulation": _simulation_json(dtype, noise_kind),
        "simulation_seed": provenance["seed"],
        "simulation_rng_state": provenance["rng_state"],
        "neurodis_version": __version__,
    }


def _model_json(weights: CTRNNWeights) -> str:
    """``json.dumps(weights.config(), sort_keys=True)``, written once per distinct config."""
    config = weights.config()
    # CTRNNWeights gives each field one type, so equal configs write equal JSON, except
    # for -0.0 and 0.0 (equal, but written apart): the signs of zeros are part of the key
    return _config_json(tuple(config.items()), tuple(math.copysign(1.0, v) for v in config.values() if v == 0))


@functools.lru_cache(maxsize=64)
def _config_json(items: tuple[tuple[str, Any], ...], zero_signs: tuple[float, ...]) -> str:
    return json.dumps(dict(items), sort_keys=True)


@functools.lru_cache(maxsize=16)
def _simulation_json(dtype: type[np.floating], noise_kind: str) -> str:
    """``attrs["simulation"]``: one of a few strings, so each is written once."""
    return json.dumps({"dtype": np.dtype(dtype).name, "noise": noise_kind})
