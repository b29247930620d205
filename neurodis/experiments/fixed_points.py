"""Fixed and slow points of a recurrent network at a constant input, with their spectra.

:func:`find_fixed_points` looks for states ``h`` with ``F(h) = h``, where ``F`` is the
network's noise-free one-step map ``h ↦ step(h, u)`` at a constant input ``u``:

1. Many starting points: visited states (e.g. the rates of noise-free trials) drawn at
   random plus Gaussian jitter, or given ones.
2. Each point minimises ``q = ½‖F(h) − h‖²`` in float64: batched Levenberg–Marquardt
   (``method="lm"``, the default; kink-aware for ReLU networks, see
   :func:`~neurodis.experiments._fixed_point_solvers.levenberg_marquardt`) or Adam
   (``method="adam"``), then short Newton steps polish points that sit next to a true
   root down to round-off. Optionally (``hops``), rounds of basin hopping move points
   that are not exact to lower local minima of q.
3. Every point is labelled ``"exact"`` when ``‖F(h) − h‖ ≤ exact_rtol · max(1, ‖h‖)``,
   i.e. ``q ≤ ½ exact_rtol² max(1, ‖h‖²)`` (default rtol 1e-10: q ≤ 5e-21 for ‖h‖ ≤ 1),
   and ``"slow"`` otherwise (a local minimum of q above 0, or a point still moving
   when the iterations ran out). Points that diverge (non-finite, or
   ``‖h‖∞ > 1e6 · max(1, max‖h₀‖∞)``) are dropped and counted; with ``tol_q`` also the
   points with ``q > tol_q``.
4. Near-duplicates within ``dedup_tol`` (Euclidean) are merged, keeping the lowest q.
5. At every point: the Jacobian J of the one-step map (analytic for the CTRNN, autograd
   otherwise), its eigenvalues μ and eigenvectors, the continuous-time eigenvalues
   ``λ = (μ − 1)/α`` (``μ = 1 + αλ``; for a leaky CTRNN λ are the eigenvalues of
   ``−I + diag(f′) W`` in units of 1/τ), stability of the discrete map (all |μ| < 1)
   and of the vector field (all Re λ < 0), and the time-scale amplification
   ``A = dt / (τ |ln|μ||) = α / |ln|μ||`` (∞ where |μ| = 1, 0 where μ = 0). Models
   without a time constant (LSTM, GRU) use α = 1: λ = μ − 1 and A are per step.

The model is never changed: the work happens on a float64 copy whose parameters need
no gradient.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_array,
    check_in,
    check_int,
    check_memory,
    check_real,
    check_rng,
    check_type,
    describe,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.trials import FIXED_POINT, INPUT, MODE, OUTPUT, UNIT

if TYPE_CHECKING:
    import torch
    from torch import nn

    from neurodis.experiments import _fixed_point_solvers as solvers

# torch (and the torch solvers) are imported inside the functions that run a model, not
# here: `neurodis.experiments` imports this module, and importing torch costs seconds that
# `import neurodis` should not pay

__all__ = ["find_fixed_points", "zero_evidence_input"]

METHODS = ("lm", "adam")
DEFAULT_MAX_ITER = {"lm": 500, "adam": 10_000}
NEWTON_STEPS = 10
NEWTON_RADIUS = 1e-2  # Newton steps longer than this × (1 + ‖h‖) are refused
DIVERGENCE_FACTOR = 1e6


def zero_evidence_input(task: Any, encoder: Any = None) -> xr.DataArray:
    """The network input with no evidence: fixation on, every stimulus channel at 0.

    With an encoder the stimulus channels become ``f(0)`` (``encoder.offset()``), so a
    paper network gets ``[1, f(0)]``.

    Parameters
    ----------
    task : neurodis Task
        Names the raw input channels (``"fixation"``, ``"stimulus_i"``).
    encoder : neurodis Encoder, optional
        The network's frozen encoder.

    Returns
    -------
    xarray.DataArray
        Dims (input,), with the channel names as the ``input`` coord.

    Raises
    ------
    TypeError
        If ``task`` has no ``input_names``.

    Examples
    --------
    >>> from neurodis.tasks import make_task
    >>> zero_evidence_input(make_task("classification", n_tasks=2)).values
    array([1., 0., 0.])
    """
    names = getattr(task, "input_names", None)
    if names is None:
        raise TypeError(f"task must be a neurodis Task with input_names; got {describe(task)}")
    raw = np.array([[1.0 if name == "fixation" else 0.0 for name in names]])
    if encoder is not None:
        raw, names = encoder.encode_inputs(raw, list(names))
    return xr.DataArray(np.asarray(raw[0], dtype=np.float64), dims=(INPUT,), coords={INPUT: list(names)})


def _check_model(model: Any) -> int:
    """The model's state size, after checking it has a one-step map."""
    from torch import nn

    check_type("model", model, nn.Module, "a neurodis model (torch.nn.Module)")
    if not callable(getattr(model, "step", None)):
        raise TypeError(
            "model must expose a one-step map step(state, input) (CTRNN, LSTM, GRU); "
            f"got {type(model).__name__}, which has none"
        )
    return int(getattr(model, "state_size", model.n_units))


def _float64_copy(model: nn.Module) -> nn.Module:
    """A CPU float64 copy in eval mode whose parameters need no grad (the model is untouched)."""
    import torch

    clone = copy.deepcopy(model).to(device="cpu", dtype=torch.float64)
    clone.eval()
    for parameter in clone.parameters():
        parameter.requires_grad_(False)
    return clone


def _as_matrix(name: str, value: Any, width: int) -> np.ndarray:
    """States as a float64 (sample, width) array; a DataArray needs a ``unit`` dim."""
    import torch

    if isinstance(value, xr.DataArray):
        if UNIT not in value.dims:
            raise ValueError(f"{name} must have a 'unit' dim; got {describe(value)}")
        others = [d for d in value.dims if d != UNIT]
        value = value.transpose(*others, UNIT).values.reshape(-1, value.sizes[UNIT])
    elif isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = check_array(name, value, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}) (the model's state size); got {describe(array)}")
    array = array.reshape(-1, width)
    if array.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one state; got {describe(array)}")
    return array


def _input_vector(inputs: Any, n_inputs: int) -> tuple[np.ndarray, list[Any]]:
    """The constant input as a float64 vector, and its channel labels."""
    import torch

    labels: list[Any] = list(range(n_inputs))
    if isinstance(inputs, xr.DataArray):
        if inputs.dims != (INPUT,):
            raise ValueError(f"inputs must have dims ('input',); got {describe(inputs)}")
        if INPUT in inputs.coords:
            labels = inputs[INPUT].values.tolist()
        inputs = inputs.values
    elif isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    u_i = check_array("inputs", inputs, dtype=np.float64)
    if u_i.shape != (n_inputs,):
        raise ValueError(f"inputs must have shape (n_inputs={n_inputs},); got {describe(u_i)}")
    return u_i, labels if len(labels) == n_inputs else list(range(n_inputs))


def _initial_points(
    initial_states: Any, states: Any, n_inits: int, jitter: float, width: int, generator: np.random.Generator
) -> np.ndarray:
    """Given starting points, or ``n_inits`` visited states plus Gaussian jitter."""
    if (initial_states is None) == (states is None):
        raise ValueError(
            "exactly one of initial_states (starting points used as given) and states (visited states "
            f"to sample from) must be given; got initial_states={describe(initial_states)}, "
            f"states={describe(states)}"
        )
    if initial_states is not None:
        return _as_matrix("initial_states", initial_states, width)
    visited = _as_matrix("states", states, width)
    picks = generator.choice(len(visited), size=n_inits, replace=len(visited) < n_inits)
    spread = float(visited.std()) or 1.0
    return visited[picks] + jitter * spread * generator.standard_normal((n_inits, width))


def _time_constants(model: nn.Module) -> tuple[float, float, float, str]:
    """α, dt, τ and the unit of the amplification (per τ for a CTRNN, per step otherwise)."""
    if hasattr(model, "tau") and hasattr(model, "dt"):
        return float(model.dt / model.tau), float(model.dt), float(model.tau), "tau"
    return 1.0, float("nan"), float("nan"), "step"


def _optimise(
    fmap: solvers.OneStepMap, h0_pxn: torch.Tensor, method: str, max_iter: int, lr: float, exact_rtol: float
) -> solvers.Solution:
    """Local minimisation of q from every point, then Newton refinement of the finite ones."""
    import torch

    from neurodis.experiments import _fixed_point_solvers as solvers

    if method == "lm":
        solution = solvers.levenberg_marquardt(fmap, h0_pxn, max_iter=max_iter, exact_rtol=exact_rtol)
    else:
        solution = solvers.adam(fmap, h0_pxn, max_iter=max_iter, lr=lr)
    finite_p = torch.isfinite(solution.h_pxn).all(-1) & torch.isfinite(solution.q_p)
    if bool(finite_p.any()):
        subset = solvers.Solution(solution.h_pxn[finite_p], solution.q_p[finite_p],
                                  solution.iterations_p[finite_p], solution.stop_p[finite_p])
        refined = solvers.newton_refine(fmap, subset, max_steps=NEWTON_STEPS, radius_rtol=NEWTON_RADIUS)
        solution.h_pxn[finite_p], solution.q_p[finite_p] = refined.h_pxn, refined.q_p
    return solution


def _search(
    fmap: solvers.OneStepMap,
    h0_pxn: torch.Tensor,
    local: dict[str, Any],
    hops: int,
    hop_sd: float,
    generator: np.random.Generator,
) -> tuple[solvers.Solution, np.ndarray]:
    """Local minimisation plus ``hops`` rounds of basin hopping; the hops that lowered each q."""
    import torch

    from neurodis.experiments import _fixed_point_solvers as solvers

    solution = _optimise(fmap, h0_pxn, **local)
    improved_p = np.zeros(len(h0_pxn), dtype=np.int64)
    for _ in range(hops):
        h_pxn, q_p = solution.h_pxn, solution.q_p
        finite_p = torch.isfinite(q_p) & torch.isfinite(h_pxn).all(-1)
        idx = torch.nonzero(finite_p & (q_p > solvers.exact_threshold(h_pxn, local["exact_rtol"]))).squeeze(-1)
        if idx.numel() == 0:
            break
        noise_ixn = torch.from_numpy(generator.standard_normal((idx.numel(), h_pxn.shape[1])))
        proposal_ixn = h_pxn[idx] + solvers.newton_jump(fmap, h_pxn[idx]) + hop_sd * noise_ixn
        trial = _optimise(fmap, proposal_ixn, **local)
        solution.iterations_p[idx] += trial.iterations_p
        better_i = torch.isfinite(trial.q_p) & torch.isfinite(trial.h_pxn).all(-1) & (trial.q_p < q_p[idx])
        won = idx[better_i]
        h_pxn[won], q_p[won], solution.stop_p[won] = trial.h_pxn[better_i], trial.q_p[better_i], trial.stop_p[better_i]
        improved_p[won.numpy()] += 1
    return solution, improved_p


def find_fixed_points(
    model: nn.Module,
    inputs: Any,
    *,
    initial_states: Any = None,
    states: Any = None,
    n_inits: int = 128,
    jitter: float = 0.1,
    method: str = "lm",
    max_iter: int | None = None,
    lr: float = 0.01,
    exact_rtol: float = 1e-10,
    tol_q: float | None = None,
    dedup_tol: float = 1e-3,
    hops: int = 0,
    hop_scale: float = 0.1,
    eigenvectors: bool = True,
    rng: Any = None,
) -> xr.Dataset:
    """Fixed and slow points of ``model`` at the constant input ``inputs``, with spectra.

    The procedure, the labels and the formulas are in the module docstring
    (:mod:`neurodis.experiments.fixed_points`).

    Parameters
    ----------
    model : torch.nn.Module
        A model with a one-step map ``step(state, input)``: CTRNN (analytic Jacobian),
        LSTM (state ``[h, c]``), GRU. Never changed.
    inputs : array-like or xarray.DataArray, shape (n_inputs,)
        The constant input (dims ``("input",)`` for a DataArray), e.g.
        :func:`zero_evidence_input`.
    initial_states : array-like or DataArray, shape (..., state_size), optional
        Starting points, used as given (a DataArray needs a ``unit`` dim).
    states : array-like or DataArray, shape (..., state_size), optional
        Visited states (e.g. ``rates`` (trial, time, unit) of noise-free trials) from
        which ``n_inits`` starting points are drawn at random. Exactly one of
        ``initial_states`` and ``states`` must be given.
    n_inits : int
        Number of starting points drawn from ``states``.
    jitter : float
        Standard deviation of the Gaussian noise added to the drawn states, as a
        fraction of the standard deviation of all entries of ``states`` (of 1 when
        they do not vary); 0 starts on visited states.
    method : {"lm", "adam"}
        Batched Levenberg–Marquardt on ``F(h) − h`` (float64, no tuning) or Adam on q.
    max_iter : int, optional
        Iterations of the optimiser (default 500 for "lm", 10 000 for "adam").
    lr : float
        Adam's learning rate (``method="adam"`` only).
    exact_rtol : float
        A point is ``"exact"`` when ``‖F(h) − h‖ ≤ exact_rtol · max(1, ‖h‖)``; in (0, 1).
    tol_q : float, optional
        Drop (and count) points whose q exceeds it; ``None`` keeps every point.
    dedup_tol : float
        Points closer than this (Euclidean, in state units) are one point; >= 0.
    hops : int
        Rounds of basin hopping after the local search. Slow points are local minima
        of q, which no local method leaves; in each round every point that is not
        exact jumps to the fixed point of its linearisation, ``h − (J − I)⁻¹ r`` (no
        jump where ``J − I`` is singular), plus Gaussian noise (sd ``hop_scale`` times
        the standard deviation of all entries of the starting points, or of 1 if they
        do not vary), is minimised again, and is replaced when that lowers its q.
        Hopping trades the local picture (which minimum lies near each start) for
        lower q; 0 (default) keeps the local picture.
    hop_scale : float
        Size of the random part of a hop (> 0), see ``hops``.
    eigenvectors : bool
        Store the eigenvectors (fixed_point × unit × mode × 2 floats).
    rng : int, Generator, SeedSequence or None
        Source of the draws from ``states`` and of the jitter.

    Returns
    -------
    xarray.Dataset
        Dims ``fixed_point`` (sorted by increasing q), ``unit`` (the state), ``mode``
        (eigen-modes by descending |μ|), ``input``, ``output``. Variables: ``states``
        (fixed_point, unit), ``q``, ``speed`` = ‖F(h) − h‖ per step, ``kind``
        ("exact"/"slow"), ``cluster_size`` (starting points merged into the point),
        ``iterations`` (of the optimiser, all hops included), ``stop`` (why the last
        successful optimisation ended: "exact", "stationary", "small_step",
        "no_descent", "max_iter"), ``hops_improved``, ``outputs`` (fixed_point, output;
        the activated readout),
        ``eigenvalues_real``/``eigenvalues_imag`` (fixed_point, mode; μ of the one-step
        map), ``lambda_real``/``lambda_imag`` (λ = (μ − 1)/α), ``amplification``,
        ``stable_discrete``, ``stable_continuous``, ``eigenvectors_real``/``_imag``
        (fixed_point, unit, mode; column ``mode`` is the unit eigenvector of that μ),
        ``inputs`` (input). Attrs: ``alpha``, ``dt``, ``tau``, ``amplification_units``,
        the tolerances, ``n_inits``, ``n_diverged``, ``n_above_tol_q``, ``n_exact``,
        ``n_slow``, ``method``, ``max_iter``, ``jacobian`` ("analytic"/"autograd"),
        ``seed``, ``rng_state``, ``model`` (JSON config), ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``model`` is not a torch module with a ``step`` method, or an argument has
        the wrong type.
    ValueError
        If ``inputs`` has the wrong width, not exactly one of ``initial_states`` and
        ``states`` is given, a state set is empty, has the wrong width or non-finite
        values, a tolerance, count or option is out of range, or the ``n_inits`` search
        points drawn from ``states`` would not fit in memory.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodis.models import CTRNN
    >>> net = CTRNN(1, 1, n_units=3, activation="linear", dt=50.0)
    >>> with torch.no_grad():
    ...     _ = net.weight_hh.mul_(0.5)
    >>> ds = find_fixed_points(net, [0.3], initial_states=np.zeros((4, 3)))
    >>> ds.sizes["fixed_point"], str(ds["kind"].values[0]), int(ds["cluster_size"][0])
    (1, 'exact', 4)
    >>> w = net.weight_hh.detach().double().numpy()
    >>> b = net.weight_ih.detach().double().numpy() @ [0.3] + net.bias.detach().double().numpy()
    >>> bool(np.allclose(ds["states"][0], np.linalg.solve(np.eye(3) - w, b), atol=1e-12))
    True
    """
    import torch

    from neurodis.experiments import _fixed_point_solvers as solvers

    width = _check_model(model)
    u_i, input_labels = _input_vector(inputs, model.n_inputs)
    n_inits = check_int("n_inits", n_inits, minimum=1)
    if states is not None:  # otherwise the points are the given initial_states, already in memory
        # each point carries its state and, for the Newton/LM steps, a (unit, unit) Jacobian
        check_memory("n_inits", n_inits, 8.0 * n_inits * width * (width + 4),
                     f"states and Jacobians of the search points, float64, {width} units")
    jitter = check_real("jitter", jitter, minimum=0.0)
    check_in("method", method, METHODS)
    max_iter = DEFAULT_MAX_ITER[method] if max_iter is None else check_int("max_iter", max_iter, minimum=0)
    lr = check_real("lr", lr, minimum=0.0, strict_minimum=True)
    exact_rtol = check_real("exact_rtol", exact_rtol, minimum=0.0, maximum=1.0, strict_minimum=True,
                            strict_maximum=True)
    if tol_q is not None:
        tol_q = check_real("tol_q", tol_q, minimum=0.0)
    dedup_tol = check_real("dedup_tol", dedup_tol, minimum=0.0)
    hops = check_int("hops", hops, minimum=0)
    hop_scale = check_real("hop_scale", hop_scale, minimum=0.0, strict_minimum=True)
    check_type("eigenvectors", eigenvectors, bool, "a bool")
    generator = check_rng(rng)
    provenance = rng_provenance(rng, generator)
    h0_pxn = _initial_points(initial_states, states, n_inits, jitter, width, generator)

    clone = _float64_copy(model)
    fmap = solvers.OneStepMap(clone, torch.from_numpy(u_i))
    local = {"method": method, "max_iter": max_iter, "lr": lr, "exact_rtol": exact_rtol}
    hop_sd = hop_scale * (float(h0_pxn.std()) or 1.0)
    solution, improved_p = _search(fmap, torch.from_numpy(h0_pxn.copy()), local, hops, hop_sd, generator)
    h_pxn, q_p = solution.h_pxn.numpy(), solution.q_p.numpy()
    bound = DIVERGENCE_FACTOR * max(1.0, float(np.abs(h0_pxn).max()))
    finite_p = np.isfinite(q_p) & np.all(np.isfinite(h_pxn), axis=1)
    diverged_p = ~finite_p | (np.abs(np.where(finite_p[:, None], h_pxn, 0.0)).max(axis=1) > bound)
    above_p = ~diverged_p & (q_p > tol_q) if tol_q is not None else np.zeros_like(diverged_p)
    keep = np.flatnonzero(~diverged_p & ~above_p)
    representatives, sizes = solvers.cluster(h_pxn[keep], q_p[keep], dedup_tol)
    chosen = keep[representatives]
    result = _spectra_dataset(clone, fmap, solution, chosen, sizes, _time_constants(model)[0], exact_rtol,
                              eigenvectors)
    result = result.assign(
        hops_improved=((FIXED_POINT,), improved_p[chosen]),
        inputs=xr.DataArray(u_i, dims=(INPUT,), coords={INPUT: input_labels}),
    )
    result.attrs = {
        **_time_attrs(model),
        "method": method, "max_iter": max_iter, "lr": lr if method == "adam" else float("nan"),
        "exact_rtol": exact_rtol, "tol_q": float("inf") if tol_q is None else tol_q, "dedup_tol": dedup_tol,
        "hops": hops, "hop_scale": hop_scale,
        "jitter": jitter if initial_states is None else float("nan"), "n_inits": len(h0_pxn),
        "n_diverged": int(diverged_p.sum()), "n_above_tol_q": int(above_p.sum()),
        "n_exact": int((result["kind"] == "exact").sum()), "n_slow": int((result["kind"] == "slow").sum()),
        "newton_steps": NEWTON_STEPS, "newton_radius_rtol": NEWTON_RADIUS,
        "jacobian": "analytic" if fmap.analytic else "autograd",
        **provenance,
    }
    return result


def _time_attrs(model: nn.Module) -> dict[str, Any]:
    """Provenance and time constants: α, dt, τ and the unit of the amplification."""
    alpha, dt, tau, units = _time_constants(model)
    return {
        "analysis": "find_fixed_points", "alpha": alpha, "dt": dt, "tau": tau, "amplification_units": units,
        "arch": str(getattr(model, "arch", type(model).__name__)),
        "model": json.dumps(getattr(model, "config", {}), sort_keys=True, default=str),
        "neurodis_version": __version__,
    }


def _spectra_dataset(
    clone: nn.Module,
    fmap: solvers.OneStepMap,
    solution: solvers.Solution,
    chosen: np.ndarray,
    sizes: np.ndarray,
    alpha: float,
    exact_rtol: float,
    eigenvectors: bool,
) -> xr.Dataset:
    """The Dataset of the chosen points: labels, Jacobian spectra, stability, amplification."""
    import torch

    from neurodis.experiments import _fixed_point_solvers as solvers

    h_kxn = solution.h_pxn[torch.from_numpy(chosen)]
    q_k = solution.q_p[torch.from_numpy(chosen)]
    k, n = h_kxn.shape
    exact_k = (q_k <= solvers.exact_threshold(h_kxn, exact_rtol)).numpy()
    mu_kxm, v_kxnxm = solvers.sorted_eig(fmap.jacobian(h_kxn).numpy()) if k else (
        np.zeros((0, n), complex), np.zeros((0, n, n), complex))
    lam_kxm = (mu_kxm - 1.0) / alpha
    with np.errstate(divide="ignore"):
        amplification_kxm = alpha / np.abs(np.log(np.abs(mu_kxm)))
    outputs_kxo = _outputs(clone, h_kxn)
    fp, fpm = (FIXED_POINT,), (FIXED_POINT, MODE)
    data = {
        "states": ((FIXED_POINT, UNIT), h_kxn.numpy()),
        "q": (fp, q_k.numpy()),
        "speed": (fp, np.sqrt(2.0 * q_k.numpy())),
        "kind": (fp, np.where(exact_k, "exact", "slow")),
        "cluster_size": (fp, sizes.astype(np.int64)),
        "iterations": (fp, solution.iterations_p[torch.from_numpy(chosen)].numpy()),
        "stop": (fp, np.array(solvers.STOP_REASONS)[solution.stop_p[torch.from_numpy(chosen)].numpy()]),
        "eigenvalues_real": (fpm, mu_kxm.real), "eigenvalues_imag": (fpm, mu_kxm.imag),
        "lambda_real": (fpm, lam_kxm.real), "lambda_imag": (fpm, lam_kxm.imag),
        "amplification": (fpm, amplification_kxm),
        "stable_discrete": (fp, np.all(np.abs(mu_kxm) < 1.0, axis=1)),
        "stable_continuous": (fp, np.all(lam_kxm.real < 0.0, axis=1)),
    }
    if outputs_kxo is not None:
        data["outputs"] = ((FIXED_POINT, OUTPUT), outputs_kxo)
    if eigenvectors:
        data["eigenvectors_real"] = ((FIXED_POINT, UNIT, MODE), v_kxnxm.real)
        data["eigenvectors_imag"] = ((FIXED_POINT, UNIT, MODE), v_kxnxm.imag)
    ds = xr.Dataset(data, coords={FIXED_POINT: np.arange(k), UNIT: np.arange(n), MODE: np.arange(n)})
    ds["q"].attrs["long_name"] = "½‖F(h) − h‖², per step"
    ds["amplification"].attrs["long_name"] = "α / |ln|μ||: network time constant over τ (or in steps)"
    return ds


def _outputs(clone: nn.Module, h_kxn: torch.Tensor) -> np.ndarray | None:
    """The activated readout at each point (of ``h``, the first n_units of an LSTM state)."""
    import torch

    readout = getattr(clone, "readout", None)
    if readout is None:
        return None
    with torch.no_grad():
        return readout.activate(readout(h_kxn[:, : clone.n_units])).numpy()
