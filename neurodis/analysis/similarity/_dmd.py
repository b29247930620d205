"""HAVOK-style DMD and Procrustes over vector fields: the array kernels behind DSA.

Plain arrays only (no xarray). The conventions are those of dsa-metric (the reference
implementation of Ostrow et al. 2023, ``DSA.DMD`` and ``DSA.SimilarityTransformDist``),
so that scores agree with it:

* the Hankel matrix stacks ``n_delays`` lagged copies of the state; it is *not* centred;
* ``H = V S Uᵀ`` (rows of ``H`` are samples across all trajectories); the operator is
  fitted in the leading ``rank`` columns of ``V`` (whitened coordinates), by
  least squares (optionally ridge) from each row to the next row of its trajectory;
* the angular distance between operators ``A`` and ``B`` is
  ``min_{C ∈ O(n)} arccos(⟨A, C B Cᵀ⟩_F / (‖A‖_F ‖B‖_F))``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["delay_embed", "havok_dmd", "one_step_aic", "vector_field_angle"]


def delay_embed(x_rxtxn: np.ndarray, n_delays: int, delay_interval: int = 1) -> np.ndarray:
    """Hankel rows ``(trajectory, window, n_delays * n)``; block ``d`` holds the state ``d`` lags back.

    Examples
    --------
    >>> delay_embed(np.arange(4.0).reshape(1, 4, 1), 2)[0]
    array([[1., 0.],
           [2., 1.],
           [3., 2.]])
    """
    span = (n_delays - 1) * delay_interval
    n_steps = x_rxtxn.shape[1]
    if n_steps - span < 2:
        raise ValueError(
            f"time must have at least (n_delays - 1) * delay_interval + 2 = {span + 2} steps; got {n_steps}"
        )
    blocks = [x_rxtxn[:, span - d * delay_interval : n_steps - d * delay_interval] for d in range(n_delays)]
    return np.concatenate(blocks, axis=-1)


def havok_dmd(
    x_rxtxn: np.ndarray, *, n_delays: int = 1, delay_interval: int = 1, rank: int | float | None = None,
    ridge: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit the DMD operator of delay-embedded trajectories in whitened SVD coordinates.

    Parameters
    ----------
    x_rxtxn : ndarray
        Trajectories ``(trajectory, time, unit)``.
    n_delays, delay_interval : int
        Delay embedding: ``n_delays`` lagged copies, ``delay_interval`` steps apart.
    rank : int, float or None
        Columns of ``V`` kept: an int, a float in (0, 1] (the fewest whose squared
        singular values explain that fraction of the total, dsa-metric's
        ``rank_explained_variance``), or None for all.
    ridge : float
        Ridge penalty of the least-squares fit (dsa-metric's ``lamb``).

    Returns
    -------
    a_rxr : ndarray
        The operator: ``v_{t+1} ≈ a_rxr @ v_t``.
    s : ndarray
        All singular values of the Hankel matrix.

    Raises
    ------
    ValueError
        If there are too few time steps, or the fit has fewer snapshot pairs than ``rank``.

    Examples
    --------
    >>> a = np.array([[0.9, -0.2], [0.2, 0.9]])
    >>> x = np.empty((3, 20, 2)); x[:, 0] = np.random.default_rng(0).normal(size=(3, 2))
    >>> for t in range(19): x[:, t + 1] = x[:, t] @ a.T
    >>> op, _ = havok_dmd(x)
    >>> np.round(np.sort_complex(np.linalg.eigvals(op)), 8)
    array([0.9-0.2j, 0.9+0.2j])
    """
    hankel = delay_embed(x_rxtxn, n_delays, delay_interval)
    n_traj, n_windows, width = hankel.shape
    v, s, _ = np.linalg.svd(hankel.reshape(-1, width), full_matrices=False)
    r = _rank(s, rank)
    v = v[:, :r].reshape(n_traj, n_windows, r)
    before, after = v[:, :-1].reshape(-1, r), v[:, 1:].reshape(-1, r)
    if before.shape[0] < r:
        raise ValueError(
            f"the DMD fit needs at least rank = {r} snapshot pairs; got {before.shape[0]} "
            f"({n_traj} trajectories × {n_windows - 1} steps)"
        )
    gram = before.T @ before + ridge * np.eye(r)
    return np.linalg.solve(gram, before.T @ after).T, s


def _rank(s: np.ndarray, rank: int | float | None) -> int:
    if rank is None:
        return s.size
    if isinstance(rank, float):
        explained = np.cumsum(s**2) / np.sum(s**2)
        # same rule as dsa-metric: first index where the cumulative fraction reaches rank
        return int(min(np.searchsorted(explained, rank) + 1, s.size))
    if rank > s.size:
        raise ValueError(f"rank must be an integer in [1, {s.size}] (n_delays × units); got {rank}")
    return rank


def one_step_aic(train_rxtxn: np.ndarray, test_rxtxn: np.ndarray, *, n_delays: int, rank: int | float | None,
                 delay_interval: int = 1, ridge: float = 0.0) -> float:
    """Akaike criterion of one-step predictions of held-out trajectories, per value.

    The operator fitted on ``train`` (in the original delay coordinates) predicts each
    held-out delay row from the one before; with ``N`` predicted values and ``r`` the
    rank, ``AIC / N = log(MSE) + 2 (r² + 1) / N`` (dsa-metric's ``stats.aic``).
    """
    hankel = delay_embed(train_rxtxn, n_delays, delay_interval)
    width = hankel.shape[-1]
    _, s, ut = np.linalg.svd(hankel.reshape(-1, width), full_matrices=False)
    a_rxr, _ = havok_dmd(train_rxtxn, n_delays=n_delays, delay_interval=delay_interval, rank=rank, ridge=ridge)
    r = a_rxr.shape[0]
    # the full-space operator U S A S⁻¹ Uᵀ maps a delay row to the next one
    full = ut[:r].T @ np.diag(s[:r]) @ a_rxr @ np.diag(1.0 / s[:r]) @ ut[:r]
    test = delay_embed(test_rxtxn, n_delays, delay_interval)
    n_units = test_rxtxn.shape[-1]
    pred = test[:, :-1] @ full.T
    err = (pred[..., :n_units] - test[:, 1:, :n_units]) ** 2
    return float(np.log(err.mean()) + 2 * (r * r + 1) / err.size)


def _cayley(s_nxn: np.ndarray) -> np.ndarray:
    eye = np.eye(s_nxn.shape[0])
    return np.linalg.solve(eye + s_nxn, eye - s_nxn)


def _best_alignment(
    a_nxn: np.ndarray, b_nxn: np.ndarray, start_nxn: np.ndarray, *, tight: bool = False
) -> tuple[float, np.ndarray]:
    """Max of ``⟨A, C B Cᵀ⟩`` over ``C = start · cayley(S)``, from ``S = 0`` (L-BFGS), and its ``C``."""
    from scipy.optimize import minimize

    n = a_nxn.shape[0]
    iu = np.triu_indices(n, k=1)
    eye = np.eye(n)

    def negative(params: np.ndarray) -> tuple[float, np.ndarray]:
        skew = np.zeros((n, n))
        skew[iu] = params
        skew -= skew.T
        inv = np.linalg.inv(eye + skew)
        c = start_nxn @ (inv @ (eye - skew))
        value = np.sum(a_nxn * (c @ b_nxn @ c.T))
        # d⟨A, C B Cᵀ⟩/dC = A C Bᵀ + Aᵀ C B; through C = start (I+S)⁻¹(I-S):
        # dC = -start (I+S)⁻¹ dS (I + C₀) with C₀ = (I+S)⁻¹(I-S)
        grad_c = start_nxn.T @ (a_nxn @ c @ b_nxn.T + a_nxn.T @ c @ b_nxn)
        m = -(eye + start_nxn.T @ c) @ grad_c.T @ inv
        return -value, -(m.T - m)[iu]

    if n == 1:
        return float(np.sum(a_nxn * b_nxn)), start_nxn
    # scipy's default ftol (~2e-9 relative) is plenty to rank the starts; near a perfect
    # match the angle ≈ sqrt(2 (1 - cos)) amplifies its error, so the winner is polished
    options = {"maxiter": 2000, "gtol": 1e-12, "ftol": 1e-16} if tight else {"maxiter": 300, "gtol": 1e-6}
    result = minimize(negative, np.zeros(iu[0].size), jac=True, method="L-BFGS-B", options=options)
    skew = np.zeros((n, n))
    skew[iu] = result.x
    return -float(result.fun), start_nxn @ _cayley(skew - skew.T)


def _random_orthogonal(n: int, gen: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(gen.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def vector_field_angle(a_nxn: np.ndarray, b_nxn: np.ndarray, *, rng: np.random.Generator,
                       n_restarts: int = 8) -> float:
    """Angular Procrustes distance over vector fields: ``min_C arccos(⟨A, C B Cᵀ⟩ / ‖A‖‖B‖)``.

    ``C`` runs over the orthogonal group: gradient ascent (L-BFGS) on the Cayley
    parametrisation ``C = C₀ (I + S)⁻¹ (I - S)`` with ``S`` skew-symmetric, from
    ``n_restarts`` starting points ``C₀``, the best of which is polished with tight
    tolerances. The objective is a quadratic form on O(n)
    with many local optima, so the starts matter: first the map that lines up the
    eigenvectors of the symmetric parts ``A + Aᵀ`` and ``B + Bᵀ`` (in order of their
    eigenvalues) and its mirror image, then the identity and a reflection (the Cayley
    map only reaches the rotations around ``C₀``, so each component of O(n) needs starts
    of its own, as in dsa-metric), then random orthogonal matrices from ``rng``. The
    best alignment found wins.

    Examples
    --------
    >>> rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    >>> round(vector_field_angle(rot, -rot, rng=np.random.default_rng(0)), 8)  # a reflection maps one on the other
    0.0
    """
    n = a_nxn.shape[0]
    a_nxn = a_nxn / np.linalg.norm(a_nxn)
    b_nxn = b_nxn / np.linalg.norm(b_nxn)
    reflect = np.eye(n)
    reflect[0, 0] = -1.0
    vec_a = np.linalg.eigh(a_nxn + a_nxn.T)[1]
    vec_b = np.linalg.eigh(b_nxn + b_nxn.T)[1]
    starts = [vec_a @ vec_b.T, vec_a @ reflect @ vec_b.T, np.eye(n), reflect]
    starts += [_random_orthogonal(n, rng) for _ in range(max(n_restarts - len(starts), 0))]
    _, c_best = max((_best_alignment(a_nxn, b_nxn, c0) for c0 in starts[:n_restarts]), key=lambda vc: vc[0])
    best, _ = _best_alignment(a_nxn, b_nxn, c_best, tight=True)
    return float(np.arccos(np.clip(best, -1.0, 1.0)))
