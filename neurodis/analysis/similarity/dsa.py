"""Dynamical similarity analysis (DSA; Ostrow et al. 2023), as dsa-metric computes it.

DSA compares two systems by the linear dynamics fitted to their trajectories, up to an
orthogonal change of coordinates. For each system's trajectories ``(…, time, unit)``:

1. **Delay embedding**: each row of the Hankel matrix stacks ``n_delays`` lagged states.
2. **DMD (HAVOK-style)**: the Hankel matrix is factored ``H = V S Uᵀ``; the leading
   ``rank`` columns of ``V`` (whitened delay coordinates) are advanced one step by a
   linear operator ``A`` fitted by least squares across all trajectories.
3. **Procrustes over vector fields**: the score is the angle between the two operators
   after the best orthogonal alignment,
   ``min_{C ∈ O(r)} arccos(⟨A_x, C A_y Cᵀ⟩_F / (‖A_x‖_F ‖A_y‖_F))``, found by gradient
   ascent on the orthogonal group with several starts (see
   :func:`~neurodis.analysis.similarity._dmd.vector_field_angle`).

The score lies in [0, π] radians; 0 means the same dynamics up to rotation. Because DMD
works in whitened coordinates, an invertible linear map of the states leaves ``A``
unchanged up to rotation when ``rank`` keeps every direction, so such copies score 0.
Unlike the eigenvalue distance of :func:`~neurodis.analysis.similarity.spectral_dsa`,
DSA sees non-normal structure: two systems with the same eigenvalues and different
eigenvector geometry score above 0. Conventions (no centring, whitened coordinates,
O(r) via a Cayley map from several starts, angular score) follow dsa-metric 2.0
(``DSA(X, Y, n_delays=..., rank=..., score_method="angular")``), so the numbers agree
with it to the tolerance of its optimiser.

``n_delays`` and ``rank`` matter; :func:`select_dmd` picks them by the Akaike criterion
of held-out one-step predictions, as dsa-metric's ``DefaultSweeper`` does.

**The null.** Shuffling ``y`` in time only tests that ``y`` has dynamics at all: any two
dynamical systems are closer to each other than to white noise. The default null,
``"spectrum"``, instead asks whether ``y`` is closer to ``x`` than systems with *y's
eigenvalues* and random eigenvectors are: each surrogate operator is
``W Λ W⁻¹`` (``Λ`` the eigenvalues of ``A_y``; ``W`` Gaussian, a complex Gaussian column
for each conjugate pair), expressed in the whitened coordinates a DMD fit would give
(``P^{-1/2} M P^{1/2}`` with ``P = Σ_{k<T} M^k M^{kᵀ}``, the covariance of the system
driven by isotropic noise over the ``T`` steps of the data). A small p says that ``x``
and ``y`` share dynamics beyond y's spectrum; two systems that merely differ do not get
one. The p-value is exact when ``A_y`` is itself such a random system independent of
``x``. ``null`` may also be ``"shuffle"`` (time) or a sequence of other systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int, check_real, check_type
from neurodis.analysis.similarity._align import align_trajectories, trajectories
from neurodis.analysis.similarity._dmd import havok_dmd, one_step_aic, vector_field_angle
from neurodis.analysis.similarity.nulls import score_with_null
from neurodis.trials import TIME, UNIT

__all__ = ["dsa", "select_dmd", "spectrum_surrogates"]


def _check_rank(rank: Any, n_delays: int, n_units: int) -> int | float | None:
    if rank is None:
        return None
    if isinstance(rank, float):
        return check_real("rank", rank, minimum=0.0, maximum=1.0, strict_minimum=True)
    return check_int("rank", rank, minimum=1, maximum=n_delays * n_units)


def spectrum_surrogates(a_rxr: np.ndarray, n: int, *, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random operators with the eigenvalues of ``a_rxr``, in DMD-whitened coordinates.

    Each is ``W Λ W⁻¹`` with Gaussian eigenvectors ``W`` (complex Gaussian for each
    conjugate pair, so the result is real), mapped to ``P^{-1/2} M P^{1/2}`` with
    ``P = Σ_{k<horizon} M^k M^{kᵀ}``: what a DMD fit in whitened coordinates returns for
    data from ``M`` driven by isotropic noise. Eigenvalues are kept exactly.

    Examples
    --------
    >>> a = np.array([[0.9, -0.3], [0.3, 0.9]])
    >>> out = spectrum_surrogates(a, 3, horizon=20, rng=np.random.default_rng(0))
    >>> out.shape, np.allclose(np.sort_complex(np.linalg.eigvals(out[1])), [0.9 - 0.3j, 0.9 + 0.3j])
    ((3, 2, 2), True)
    """
    lam = np.linalg.eigvals(a_rxr)
    r = lam.size
    out = np.empty((n, r, r))
    for k in range(n):
        w = np.empty((r, r), dtype=np.complex128)
        j = 0
        while j < r:
            if abs(lam[j].imag) > 1e-12 and j + 1 < r:
                col = rng.normal(size=r) + 1j * rng.normal(size=r)
                w[:, j], w[:, j + 1] = col, col.conj()
                pair = (lam[j], lam[j].conjugate())
                lam[j], lam[j + 1] = pair
                j += 2
            else:
                w[:, j] = rng.normal(size=r)
                lam[j] = lam[j].real
                j += 1
        m = np.real(w @ np.diag(lam) @ np.linalg.inv(w))
        cov, power = np.zeros((r, r)), np.eye(r)
        for _ in range(horizon):
            cov += power @ power.T
            power = m @ power
        evals, evecs = np.linalg.eigh(cov)
        root = (evecs * np.sqrt(evals)) @ evecs.T
        out[k] = np.linalg.solve(root, m @ root)
    return out


def select_dmd(
    x: xr.DataArray,
    *,
    n_delays: Sequence[int] = (1, 2, 3, 5, 10),
    ranks: Sequence[int] | None = None,
    test_fraction: float = 0.2,
    delay_interval: int = 1,
) -> xr.Dataset:
    """Choose ``n_delays`` and ``rank`` by the Akaike criterion of held-out predictions.

    The last ``test_fraction`` of the trajectories (of the time steps, when there is
    one trajectory) are held out; the operator fitted on the rest predicts each held-out
    delay row from the one before, and ``AIC / N = log(MSE) + 2 (r² + 1) / N`` over the
    ``N`` predicted values of the current state (dsa-metric's ``DefaultSweeper`` with
    ``reseed=1`` and its ``aic``). Pairs with ``rank > n_delays × units`` are skipped.

    Parameters
    ----------
    x : xarray.DataArray
        Trajectories with dims ``(…, time, unit)``.
    n_delays : sequence of int
        Delay depths to try.
    ranks : sequence of int, optional
        Ranks to try (default 1 … max n_delays × units, at most 20).
    test_fraction : float
        Share of the data held out, in (0, 1).
    delay_interval : int
        Steps between delays.

    Returns
    -------
    xarray.Dataset
        ``aic`` (``n_delays``, ``rank``; NaN where skipped) and scalars ``best_n_delays``
        and ``best_rank``.

    Raises
    ------
    ValueError
        If ``x`` lacks ``time`` or ``unit``, the grids are empty or hold a bad value, or
        ``test_fraction`` is outside (0, 1).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> gen = np.random.default_rng(0)
    >>> a = np.array([[0.95, -0.2], [0.2, 0.95]])
    >>> x = np.empty((8, 40, 2)); x[:, 0] = gen.normal(size=(8, 2))
    >>> for t in range(39): x[:, t + 1] = x[:, t] @ a.T + 0.01 * gen.normal(size=(8, 2))
    >>> sel = select_dmd(xr.DataArray(x, dims=("condition", "time", "unit")), n_delays=[1, 2], ranks=[1, 2])
    >>> int(sel.best_n_delays), int(sel.best_rank)
    (1, 2)
    """
    check_type("x", x, xr.DataArray, "an xarray.DataArray with 'time' and 'unit' dims")
    if TIME not in x.dims or UNIT not in x.dims:
        raise ValueError(f"x must have {TIME!r} and {UNIT!r} dims; got {tuple(x.dims)}")
    test_fraction = check_real("test_fraction", test_fraction, minimum=0.0, maximum=1.0,
                               strict_minimum=True, strict_maximum=True)
    delay_interval = check_int("delay_interval", delay_interval, minimum=1)
    delays = [check_int("n_delays", d, minimum=1) for d in n_delays]
    n_units = x.sizes[UNIT]
    if ranks is None:
        ranks = range(1, min(20, max(delays, default=1) * n_units) + 1)
    ranks = [check_int("ranks", r, minimum=1) for r in ranks]
    if not delays or not ranks:
        raise ValueError(f"n_delays and ranks must be non-empty; got {len(delays)} and {len(ranks)} values")
    traj = trajectories(x)
    if traj.shape[0] > 1:
        cut = min(max(int(round(traj.shape[0] * (1 - test_fraction))), 1), traj.shape[0] - 1)
        train, test = traj[:cut], traj[cut:]
    else:
        cut = int(round(traj.shape[1] * (1 - test_fraction)))
        train, test = traj[:, :cut], traj[:, cut:]
    aic = np.full((len(delays), len(ranks)), np.nan)
    for i, d in enumerate(delays):
        for j, r in enumerate(ranks):
            if r <= d * n_units:
                aic[i, j] = one_step_aic(train, test, n_delays=d, rank=r, delay_interval=delay_interval)
    i, j = np.unravel_index(np.nanargmin(aic), aic.shape)
    return xr.Dataset(
        {"aic": (("n_delays", "rank"), aic), "best_n_delays": delays[i], "best_rank": ranks[j]},
        coords={"n_delays": delays, "rank": ranks},
        attrs={"test_fraction": test_fraction, "delay_interval": delay_interval},
    )


def dsa(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    n_delays: int = 1,
    rank: int | float | None = None,
    delay_interval: int = 1,
    ridge: float = 0.0,
    n_restarts: int = 4,
    null: str | Sequence[xr.DataArray] | None = "spectrum",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Dynamical similarity analysis (Ostrow et al. 2023) of two systems' trajectories.

    Parameters
    ----------
    x, y : xarray.DataArray
        Trajectories with dims ``(…, time, unit)`` (e.g. ``(condition, time, unit)``),
        aligned on the sample dims; each entry of the non-time dims is one trajectory.
    n_delays, delay_interval : int
        Delay embedding (see :func:`select_dmd` to choose ``n_delays``).
    rank : int, float or None
        Whitened coordinates kept for both systems: an int, a fraction in (0, 1] of
        variance to explain (then both systems use the larger of their two ranks), or
        None for all (``n_delays × units``, which must then match).
    ridge : float
        Ridge penalty of the DMD fit (dsa-metric's ``lamb``).
    n_restarts : int
        Starting points of the orthogonal alignment (the first four are deterministic).
    null : {"spectrum", "shuffle"}, sequence of DataArray or None
        ``"spectrum"``: ``n_shuffles`` random systems with y's eigenvalues (see the
        module docstring); ``"shuffle"``: ``y`` shuffled along ``time`` (tests only that
        ``y`` has dynamics); a sequence: other systems scored against ``y``.
    n_shuffles, shuffle_dim, rng
        Number of null draws, the dim a ``"shuffle"`` null permutes (default ``time``),
        and the one source of randomness (random starts and the null).

    Returns
    -------
    xarray.Dataset
        ``score`` (radians; smaller is more similar), ``null``, ``p_value`` (the share
        of null draws at least as close), ``operator_x`` and ``operator_y``
        (``mode_i``, ``mode_j``) and provenance attrs.

    Raises
    ------
    ValueError
        If the arrays lack a ``time`` dim, do not align, are constant, are too short
        for the fit, a parameter is out of range, or the ranks differ.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> gen = np.random.default_rng(0)
    >>> a = np.array([[0.9, -0.3], [0.3, 0.9]])
    >>> x = np.empty((6, 30, 2)); x[:, 0] = gen.normal(size=(6, 2))
    >>> for t in range(29): x[:, t + 1] = x[:, t] @ a.T + 0.05 * gen.normal(size=(6, 2))
    >>> dims = ("condition", "time", "unit")
    >>> mixed = x @ gen.normal(size=(2, 2))  # an invertible linear map of x
    >>> res = dsa(xr.DataArray(x, dims=dims), xr.DataArray(mixed, dims=dims), n_shuffles=19, rng=0)
    >>> round(float(res.score), 3), float(res.p_value)
    (0.0, 0.05)
    """
    n_delays = check_int("n_delays", n_delays, minimum=1)
    delay_interval = check_int("delay_interval", delay_interval, minimum=1)
    ridge = check_real("ridge", ridge, minimum=0.0)
    n_restarts = check_int("n_restarts", n_restarts, minimum=1)
    x, y, dims = align_trajectories(x, y)
    rank = _check_rank(rank, n_delays, min(x.sizes[UNIT], y.sizes[UNIT]))
    fit = {"n_delays": n_delays, "delay_interval": delay_interval, "ridge": ridge}

    def operators(xa: xr.DataArray, ya: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
        tx, ty = trajectories(xa), trajectories(ya)
        if isinstance(rank, float):  # one rank for both: the larger of the two needed
            r = max(havok_dmd(t, rank=rank, **fit)[0].shape[0] for t in (tx, ty))
            return havok_dmd(tx, rank=r, **fit)[0], havok_dmd(ty, rank=r, **fit)[0]
        ax, ay = havok_dmd(tx, rank=rank, **fit)[0], havok_dmd(ty, rank=rank, **fit)[0]
        if ax.shape != ay.shape:
            raise ValueError(
                f"x and y must give operators of one rank; got {ax.shape[0]} and {ay.shape[0]} "
                f"(n_delays × units differ: give rank=...)"
            )
        return ax, ay

    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        ax, ay = operators(xa, ya)
        score = vector_field_angle(ax, ay, rng=np.random.default_rng(seed), n_restarts=n_restarts)
        dims_op = ("mode_i", "mode_j")
        return score, {"operator_x": (dims_op, ax), "operator_y": (dims_op, ay)}

    def spectrum_null(xa: xr.DataArray, ya: xr.DataArray, n: int, metric_seed: np.random.SeedSequence,
                      null_seed: np.random.SeedSequence) -> np.ndarray:
        ax, ay = operators(xa, ya)
        surrogates = spectrum_surrogates(ay, n, horizon=ya.sizes[TIME], rng=np.random.default_rng(null_seed))
        return np.array([
            vector_field_angle(ax, s, rng=np.random.default_rng(metric_seed), n_restarts=n_restarts)
            for s in surrogates
        ])

    return score_with_null(
        "dsa", score_fn, x, y,
        params={**fit, "rank": rank, "n_restarts": n_restarts, "score_method": "angular"},
        higher_is_similar=False, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng,
        preferred_shuffle_dims=(TIME,), own_nulls={"spectrum": spectrum_null},
    )
