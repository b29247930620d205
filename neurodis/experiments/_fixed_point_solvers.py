"""Batched solvers of ``F(h) = h`` for fixed-point analysis (raw float64 tensors, no xarray).

Every kernel works on a batch of ``p`` points in a state space of size ``n`` and
minimises ``q = ½‖F(h) − h‖²`` for each point independently:

- :func:`levenberg_marquardt`: damped Gauss–Newton on the residual ``r = F(h) − h``
  with the Jacobian ``G = J − I``: ``(GᵀG + λI) δ = −Gᵀr`` per point, batched through
  one Cholesky factorisation per point and iteration, with Nielsen's damping update.
  Unlike plain Newton it keeps making progress where ``G`` is near singular (the slow
  points of an approximate continuous attractor) and unlike gradient descent it needs
  no learning rate.
- :func:`adam`: gradient descent with Adam on ``Σ q`` (the points do not interact).
- :func:`newton_jump`: the full Newton step, a basin-hopping move.
- :func:`newton_refine`: short Newton steps ``G δ = −r`` (LU on ``G`` itself, not the
  normal equations, so the precision is not squared away) that polish points lying
  next to a true root down to float64 round-off.

The helpers :func:`cluster` (greedy de-duplication) and :func:`sorted_eig` act on numpy
arrays. Names carry shape suffixes: ``h_pxn`` is (point, state), ``j_pxnxn`` a batch of
Jacobians.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "STOP_REASONS",
    "OneStepMap",
    "Solution",
    "adam",
    "cluster",
    "exact_threshold",
    "levenberg_marquardt",
    "newton_jump",
    "newton_refine",
    "sorted_eig",
]

# Levenberg–Marquardt constants (Nielsen 1999; Madsen, Nielsen & Tingleff 2004, §3.2)
_DAMPING_START = 1e-3  # λ₀ = this × the largest diagonal entry of GᵀG
_STEP_RTOL = 1e-12  # stop after an accepted step shorter than this × ‖h‖
_GRADIENT_RTOL = 1e-14  # stop when ‖Gᵀr‖ ≤ this × ‖G‖_F ‖r‖: stationary up to round-off
_DAMPING_MAX = 1e20  # stop when λ exceeds this × max diag(GᵀG): no step lowers q
_KINK_RTOL = 1e-6  # a pre-activation this close to 0 (relative to the largest) sits at a kink
_PIN_WEIGHT = 1e8  # penalty weight (× max diag GᵀG) holding pinned pre-activations at 0
_UNDAMPED = 1e-6  # λ below this × max diag GᵀG: the step is essentially Gauss–Newton

#: why the optimiser left a point, indexed by ``Solution.stop_p``
STOP_REASONS = ("max_iter", "exact", "stationary", "small_step", "no_descent", "non_finite")
_EXACT, _STATIONARY, _SMALL_STEP, _NO_DESCENT, _NON_FINITE = 1, 2, 3, 4, 5


class OneStepMap:
    """``F(h) = step(h, u)`` of a model at a constant input, and its Jacobian in ``h``.

    Parameters
    ----------
    model : torch.nn.Module
        A float64 model with ``step(state, input)``, whose parameters need no grad.
    u_i : torch.Tensor
        The constant input, shape (n_inputs,).

    The Jacobian is the model's analytic ``jacobian(state, input)`` when it has one
    (the CTRNN), else reverse-mode autograd in one batched backward pass (see
    :meth:`jacobian`).
    """

    def __init__(self, model: torch.nn.Module, u_i: torch.Tensor) -> None:
        self.model, self.u_i = model, u_i
        self.analytic = callable(getattr(model, "jacobian", None))

    def __call__(self, h_pxn: torch.Tensor) -> torch.Tensor:
        """``F(h)`` for every point (differentiable when grad is enabled)."""
        return self.model.step(h_pxn, self.u_i)

    def residual(self, h_pxn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``r = F(h) − h`` and ``q = ½‖r‖²`` per point, without grad."""
        with torch.no_grad():
            r_pxn = self(h_pxn) - h_pxn
        return r_pxn, 0.5 * (r_pxn * r_pxn).sum(-1)

    @property
    def kink_rows(self) -> torch.Tensor | None:
        """Rows ``w_i`` of the pre-activations ``pre_i = w_iᵀh + c_i`` at which F has kinks.

        For a ReLU CTRNN ``F`` is only piecewise smooth: it bends where a
        pre-activation crosses 0. Returns the effective ``weight_hh`` then (after the
        model's signs and masks), else ``None``.
        """
        if self.analytic and getattr(self.model, "activation", None) == "relu":
            return self.model.effective_weights()["weight_hh"]
        return None

    def preactivation(self, h_pxn: torch.Tensor) -> torch.Tensor:
        """``W h + W_in u + b`` of a CTRNN (effective weights), shape (p, n)."""
        model = self.model
        with torch.no_grad():
            weights = model.effective_weights()
            return h_pxn @ weights["weight_hh"].T + (weights["weight_ih"] @ self.u_i + model.bias)

    def jacobian(self, h_pxn: torch.Tensor) -> torch.Tensor:
        """``∂F/∂h`` at every point, shape (p, n, n); row i holds the derivatives of F_i."""
        if self.analytic:
            with torch.no_grad():
                return self.model.jacobian(h_pxn, self.u_i)
        # n copies of every point, copy i picks output i: one backward pass of Σ F_i(copy i)
        # gives every row of every Jacobian (what torch.func.vmap(jacrev) does, without the
        # seconds its first call spends importing); rows of a batch never interact in step()
        p, n = h_pxn.shape
        copies_qxn = h_pxn.detach().repeat_interleave(n, dim=0).requires_grad_(True)
        with torch.enable_grad():
            f_pxnxn = self.model.step(copies_qxn, self.u_i).reshape(p, n, n)
            (rows_qxn,) = torch.autograd.grad(f_pxnxn.diagonal(dim1=1, dim2=2).sum(), copies_qxn)
        return rows_qxn.reshape(p, n, n)


@dataclass
class Solution:
    """Points after a solver, their ``q``, the iterations each used and why it stopped."""

    h_pxn: torch.Tensor
    q_p: torch.Tensor
    iterations_p: torch.Tensor
    stop_p: torch.Tensor  # index into STOP_REASONS


def exact_threshold(h_pxn: torch.Tensor, rtol: float) -> torch.Tensor:
    """``q`` below which a point counts as an exact fixed point: ``½ rtol² max(1, ‖h‖²)``.

    Equivalently ``‖F(h) − h‖ ≤ rtol · max(1, ‖h‖)``: a residual that is a ``rtol``
    fraction of the state's size (floored at 1 so the origin is not held to 0).

    Examples
    --------
    >>> float(exact_threshold(torch.tensor([[3.0, 4.0]], dtype=torch.float64), 1e-10)[0])
    1.25e-19
    """
    return 0.5 * rtol**2 * torch.clamp((h_pxn * h_pxn).sum(-1), min=1.0)


@dataclass
class _LMState:
    """Per-point state of :func:`levenberg_marquardt` (cached normal equations, damping, pins)."""

    h_pxn: torch.Tensor
    r_pxn: torch.Tensor
    q_p: torch.Tensor
    a_pxnxn: torch.Tensor  # GᵀG at h
    g_pxn: torch.Tensor  # Gᵀr at h
    stale_p: torch.Tensor  # GᵀG and Gᵀr need (re)computing
    lam_p: torch.Tensor
    nu_p: torch.Tensor
    pinned_pxn: torch.Tensor  # pre-activations held at their kink during the next step
    active_p: torch.Tensor
    iterations_p: torch.Tensor
    stop_p: torch.Tensor


def levenberg_marquardt(
    fmap: OneStepMap, h0_pxn: torch.Tensor, *, max_iter: int, exact_rtol: float
) -> Solution:
    """Minimise ``q`` from every starting point with batched Levenberg–Marquardt.

    A point stops when it is an exact fixed point (see :func:`exact_threshold`), when
    its gradient ``Gᵀr`` vanishes to round-off (a slow point: a local minimum of q
    above 0), after a nearly undamped step (λ ≤ 1e-6 max diag GᵀG) shorter than
    1e-12·‖h‖, when no damping finds a lower q, or after ``max_iter`` iterations.
    Non-finite trial steps are refused, so the returned points are finite.

    ``GᵀG`` and ``Gᵀr`` are cached per point and recomputed only where the point moved;
    a refused step costs one Cholesky factorisation and one evaluation of F.

    Kinks (ReLU CTRNN): F is piecewise affine, bending where a pre-activation
    ``pre_i = w_iᵀh + c_i`` crosses 0, so the Gauss–Newton model is exact up to the
    first kink and wrong beyond it. Plain LM then stalls on a kink, refusing step after
    step and inflating λ, although q still falls *along* the kink. A refused step that
    crossed kinks is therefore handled as in an active-set method: kinks within 1e-6
    (relative) of the point are *held* — the next step keeps those pre-activations at
    0 (the constraints ``w_iᵀδ = −pre_i``: a stiff penalty in the damped system, then an
    exact projection of the step onto them) at the same λ —
    and otherwise the point moves along the refused step to the first kink it
    crossed (q falls there: the model is exact up to it) and holds that one. Holds are
    released after every accepted step, so a point leaves a kink when that lowers q.
    """
    st = _lm_start(fmap, h0_pxn, exact_rtol)
    eye = torch.eye(h0_pxn.shape[1], dtype=h0_pxn.dtype)
    for _ in range(max_iter):
        _lm_refresh(fmap, st, eye)
        idx = torch.nonzero(st.active_p).squeeze(-1)
        if idx.numel() == 0:
            break
        st.iterations_p[idx] += 1
        a_ixnxn = st.a_pxnxn[idx]
        delta_ixn, ok_i = _lm_direction(fmap, st, idx, a_ixnxn)
        h_new_ixn = st.h_pxn[idx] + delta_ixn
        r_new_ixn, q_new_i = fmap.residual(h_new_ixn)
        # predicted decrease of the (unpenalised) Gauss–Newton model ½‖r + Gδ‖²
        a_delta_ixn = (a_ixnxn @ delta_ixn.unsqueeze(-1)).squeeze(-1)
        predicted_i = -(st.g_pxn[idx] * delta_ixn).sum(-1) - 0.5 * (delta_ixn * a_delta_ixn).sum(-1)
        rho_i = torch.where(predicted_i > 0, (st.q_p[idx] - q_new_i) / predicted_i, torch.zeros_like(q_new_i))
        accept_i = ok_i & torch.isfinite(q_new_i) & torch.isfinite(h_new_ixn).all(-1) & (q_new_i < st.q_p[idx])
        acc, rej = idx[accept_i], idx[~accept_i]
        scale_a = st.a_pxnxn[acc].diagonal(dim1=-2, dim2=-1).amax(-1).clamp(min=1e-300)
        undamped = st.lam_p[acc] <= _UNDAMPED * scale_a
        _move(st, acc, h_new_ixn[accept_i], r_new_ixn[accept_i], q_new_i[accept_i])
        st.lam_p[acc] *= torch.clamp(1.0 - (2.0 * rho_i[accept_i] - 1.0) ** 3, min=1.0 / 3.0)
        st.nu_p[acc] = 2.0
        small = delta_ixn[accept_i].norm(dim=-1) <= _STEP_RTOL * (st.h_pxn[acc].norm(dim=-1) + _STEP_RTOL)
        _stop(st, acc[small & undamped], _SMALL_STEP)
        _stop(st, acc[st.q_p[acc] <= exact_threshold(st.h_pxn[acc], exact_rtol)], _EXACT)
        handled_r = _kink_refusals(fmap, st, rej, delta_ixn[~accept_i] * ok_i[~accept_i, None])
        grow = rej[~handled_r]  # refused for another reason: damp harder
        st.lam_p[grow] *= st.nu_p[grow]
        st.nu_p[grow] *= 2.0
        scale_g = st.a_pxnxn[grow].diagonal(dim1=-2, dim2=-1).amax(-1).clamp(min=1e-300)
        _stop(st, grow[st.lam_p[grow] > _DAMPING_MAX * scale_g], _NO_DESCENT)
    return Solution(st.h_pxn, st.q_p, st.iterations_p, st.stop_p)


def _move(st: _LMState, idx: torch.Tensor, h_ixn: torch.Tensor, r_ixn: torch.Tensor, q_i: torch.Tensor) -> None:
    """Accept new points: store them, mark their normal equations stale, release holds."""
    st.h_pxn[idx], st.r_pxn[idx], st.q_p[idx] = h_ixn, r_ixn, q_i
    st.stale_p[idx] = True
    st.pinned_pxn[idx] = False


def _stop(st: _LMState, idx: torch.Tensor, reason: int) -> None:
    st.active_p[idx] = False
    st.stop_p[idx] = reason


def _lm_start(fmap: OneStepMap, h0_pxn: torch.Tensor, exact_rtol: float) -> _LMState:
    h_pxn = h0_pxn.clone()
    p, n = h_pxn.shape
    r_pxn, q_p = fmap.residual(h_pxn)
    finite_p = torch.isfinite(q_p)
    active_p = finite_p & (q_p > exact_threshold(h_pxn, exact_rtol))
    return _LMState(
        h_pxn=h_pxn, r_pxn=r_pxn, q_p=q_p,
        a_pxnxn=torch.zeros(p, n, n, dtype=h_pxn.dtype), g_pxn=torch.zeros(p, n, dtype=h_pxn.dtype),
        stale_p=torch.ones(p, dtype=torch.bool), lam_p=torch.full((p,), float("nan"), dtype=h_pxn.dtype),
        nu_p=torch.full((p,), 2.0, dtype=h_pxn.dtype), pinned_pxn=torch.zeros(p, n, dtype=torch.bool),
        active_p=active_p, iterations_p=torch.zeros(p, dtype=torch.int64),
        stop_p=torch.where(active_p, 0, torch.where(finite_p, _EXACT, _NON_FINITE)),
    )


def _lm_refresh(fmap: OneStepMap, st: _LMState, eye: torch.Tensor) -> None:
    """Recompute GᵀG and Gᵀr where a point moved; stop points whose gradient vanished."""
    stale = torch.nonzero(st.active_p & st.stale_p).squeeze(-1)
    if stale.numel() == 0:
        return
    g_sxnxn = fmap.jacobian(st.h_pxn[stale]) - eye
    a_sxnxn = g_sxnxn.mT @ g_sxnxn
    st.a_pxnxn[stale] = a_sxnxn
    st.g_pxn[stale] = (g_sxnxn.mT @ st.r_pxn[stale].unsqueeze(-1)).squeeze(-1)
    st.stale_p[stale] = False
    diagonal_sxn = a_sxnxn.diagonal(dim1=-2, dim2=-1)
    fresh = torch.isnan(st.lam_p[stale])
    st.lam_p[stale[fresh]] = _DAMPING_START * diagonal_sxn[fresh].amax(-1).clamp(min=1e-300)
    # ‖G‖_F = sqrt(trace GᵀG): stationary when Gᵀr is at round-off of its own size
    limit_s = _GRADIENT_RTOL * diagonal_sxn.sum(-1).sqrt() * st.r_pxn[stale].norm(dim=-1)
    _stop(st, stale[st.g_pxn[stale].norm(dim=-1) <= limit_s], _STATIONARY)


def _lm_direction(
    fmap: OneStepMap, st: _LMState, idx: torch.Tensor, gram_ixnxn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The damped step ``(GᵀG + λI + μ CᵀC) δ = −Gᵀr − μ Cᵀpre_C`` (C: held rows) and its success flags."""
    a_ixnxn = gram_ixnxn.clone()
    a_ixnxn.diagonal(dim1=-2, dim2=-1).add_(st.lam_p[idx].unsqueeze(-1))
    rhs_ixn = -st.g_pxn[idx]
    pinned_ixn = st.pinned_pxn[idx]
    held = torch.nonzero(pinned_ixn.any(-1)).squeeze(-1)
    if held.numel():
        # the few held rows of every point, padded with zero rows to the most held: C is (k, n)
        mask_hxn = pinned_ixn[held]
        k = int(mask_hxn.sum(-1).max())
        order_hxk = torch.argsort(mask_hxn.to(torch.int8), dim=-1, descending=True, stable=True)[:, :k]
        keep_hxk = torch.gather(mask_hxn, 1, order_hxk).to(a_ixnxn.dtype)
        c_hxkxn = fmap.kink_rows[order_hxk] * keep_hxk.unsqueeze(-1)
        pre_hxk = torch.gather(fmap.preactivation(st.h_pxn[idx[held]]), 1, order_hxk) * keep_hxk
        weight_h = _PIN_WEIGHT * gram_ixnxn[held].diagonal(dim1=-2, dim2=-1).amax(-1).clamp(min=1.0)
        a_ixnxn[held] += weight_h[:, None, None] * (c_hxkxn.mT @ c_hxkxn)
        rhs_ixn[held] -= weight_h[:, None] * (c_hxkxn.mT @ pre_hxk.unsqueeze(-1)).squeeze(-1)
    chol_ixnxn, info_i = torch.linalg.cholesky_ex(a_ixnxn)
    delta_ixn = torch.cholesky_solve(rhs_ixn.unsqueeze(-1), chol_ixnxn).squeeze(-1)
    if held.numel():
        # the penalty holds the kinks only to ~1/μ: project the step onto C δ = −pre_C exactly
        # (δ ← δ − Cᵀ(CCᵀ)⁻¹(Cδ + pre_C); padding rows get a unit diagonal)
        gram_hxkxk = c_hxkxn @ c_hxkxn.mT + torch.diag_embed(1.0 - keep_hxk)
        miss_hxk = (c_hxkxn @ delta_ixn[held].unsqueeze(-1)).squeeze(-1) + pre_hxk
        y_hxk = torch.linalg.solve_ex(gram_hxkxk, miss_hxk.unsqueeze(-1))[0]
        delta_ixn[held] -= (c_hxkxn.mT @ y_hxk).squeeze(-1)
    return delta_ixn, (info_i == 0) & torch.isfinite(delta_ixn).all(-1)


def _kink_refusals(fmap: OneStepMap, st: _LMState, rej: torch.Tensor, delta_rxn: torch.Tensor) -> torch.Tensor:
    """Handle refused steps that crossed kinks (see :func:`levenberg_marquardt`); True where handled."""
    rows_nxn = fmap.kink_rows
    if rows_nxn is None or rej.numel() == 0:
        return torch.zeros(rej.numel(), dtype=torch.bool)
    pre_rxn = fmap.preactivation(st.h_pxn[rej])
    after_rxn = pre_rxn + delta_rxn @ rows_nxn.T
    crossed_rxn = ((pre_rxn > 0) != (after_rxn > 0)) & ~st.pinned_pxn[rej]
    near_rxn = pre_rxn.abs() <= _KINK_RTOL * pre_rxn.abs().amax(-1, keepdim=True).clamp(min=1.0)
    hold_rxn = crossed_rxn & near_rxn
    st.pinned_pxn[rej] |= hold_rxn
    held_r = hold_rxn.any(-1)
    # the others go to the first far kink on the refused step: F is affine up to there
    far_rxn = crossed_rxn & ~near_rxn & ~held_r[:, None]
    fraction_rxn = torch.where(far_rxn, pre_rxn / (pre_rxn - after_rxn), torch.full_like(pre_rxn, torch.inf))
    t_r, first_r = fraction_rxn.min(-1)
    go = torch.nonzero(torch.isfinite(t_r)).squeeze(-1)
    h_gxn = st.h_pxn[rej[go]] + t_r[go, None] * delta_rxn[go]
    r_gxn, q_g = fmap.residual(h_gxn)
    better_g = torch.isfinite(q_g) & (q_g < st.q_p[rej[go]])
    moved = rej[go[better_g]]
    _move(st, moved, h_gxn[better_g], r_gxn[better_g], q_g[better_g])
    st.pinned_pxn[moved, first_r[go[better_g]]] = True
    handled_r = held_r.clone()
    handled_r[go[better_g]] = True
    return handled_r


def adam(fmap: OneStepMap, h0_pxn: torch.Tensor, *, max_iter: int, lr: float) -> Solution:
    """Minimise ``Σ q`` with Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8, as ``torch.optim.Adam``).

    The points do not interact (the gradient of ``Σ q`` in point k is that of its own
    q), so this is per-point Adam. The update is written out rather than taken from
    ``torch.optim`` because constructing the first optimiser imports ``torch._dynamo``
    (seconds). A point whose q turns non-finite becomes NaN and is reported as
    diverged by the caller.
    """
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    h_pxn = h0_pxn.clone().requires_grad_(True)
    m_pxn, v_pxn = torch.zeros_like(h0_pxn), torch.zeros_like(h0_pxn)
    with torch.enable_grad():
        for t in range(1, max_iter + 1):
            r_pxn = fmap(h_pxn) - h_pxn
            (grad_pxn,) = torch.autograd.grad(0.5 * (r_pxn * r_pxn).sum(), h_pxn)
            with torch.no_grad():
                m_pxn.mul_(beta1).add_(grad_pxn, alpha=1 - beta1)
                v_pxn.mul_(beta2).addcmul_(grad_pxn, grad_pxn, value=1 - beta2)
                step_size = lr / (1 - beta1**t)
                denominator_pxn = (v_pxn / (1 - beta2**t)).sqrt_().add_(eps)
                h_pxn.addcdiv_(m_pxn, denominator_pxn, value=-step_size)
    h_pxn = h_pxn.detach()
    _, q_p = fmap.residual(h_pxn)
    p = h_pxn.shape[0]
    return Solution(h_pxn, q_p, torch.full((p,), max_iter, dtype=torch.int64), torch.zeros(p, dtype=torch.int64))


def newton_refine(
    fmap: OneStepMap, solution: Solution, *, max_steps: int, radius_rtol: float
) -> Solution:
    """Polish points next to a true root with Newton steps ``(J − I) δ = −r``.

    A step is taken only when it is short, ``‖δ‖ ≤ radius_rtol · (1 + ‖h‖)`` (so a slow
    point never jumps to a distant root), and lowers q; a point stops at its first
    refused step, at q = 0, or after ``max_steps``. Near a simple root each step
    squares the error, so a few steps reach float64 round-off.
    """
    h_pxn, q_p = solution.h_pxn.clone(), solution.q_p.clone()
    eye = torch.eye(h_pxn.shape[1], dtype=h_pxn.dtype)
    active_p = torch.isfinite(q_p) & (q_p > 0)
    for _ in range(max_steps):
        idx = torch.nonzero(active_p).squeeze(-1)
        if idx.numel() == 0:
            break
        r_ixn, _ = fmap.residual(h_pxn[idx])
        lu_ixnxn, pivots_ixn, info_i = torch.linalg.lu_factor_ex(fmap.jacobian(h_pxn[idx]) - eye)
        delta_ixn = -torch.linalg.lu_solve(lu_ixnxn, pivots_ixn, r_ixn.unsqueeze(-1)).squeeze(-1)
        h_new_ixn = h_pxn[idx] + delta_ixn
        _, q_new_i = fmap.residual(h_new_ixn)
        short_i = delta_ixn.norm(dim=-1) <= radius_rtol * (1.0 + h_pxn[idx].norm(dim=-1))
        accept_i = (info_i == 0) & short_i & torch.isfinite(q_new_i) & (q_new_i < q_p[idx])
        h_pxn[idx[accept_i]], q_p[idx[accept_i]] = h_new_ixn[accept_i], q_new_i[accept_i]
        active_p[idx[~accept_i]] = False
        active_p[idx[accept_i & (q_new_i == 0)]] = False
    return Solution(h_pxn, q_p, solution.iterations_p, solution.stop_p)


def newton_jump(fmap: OneStepMap, h_pxn: torch.Tensor) -> torch.Tensor:
    """The full Newton step ``δ = −(J − I)⁻¹ r`` to the fixed point of each point's linearisation.

    Zero where ``J − I`` is singular or the step is not finite. For a ReLU network F is
    affine around the point, so ``h + δ`` is the fixed point of the point's linear
    region — exact when it lies in that region.
    """
    r_pxn, _ = fmap.residual(h_pxn)
    eye = torch.eye(h_pxn.shape[1], dtype=h_pxn.dtype)
    delta_pxn, info_p = torch.linalg.solve_ex(fmap.jacobian(h_pxn) - eye, -r_pxn.unsqueeze(-1))
    delta_pxn = delta_pxn.squeeze(-1)
    ok_p = (info_p == 0) & torch.isfinite(delta_pxn).all(-1)
    return torch.where(ok_p.unsqueeze(-1), delta_pxn, torch.zeros_like(delta_pxn))


def cluster(points_pxn: np.ndarray, q_p: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy de-duplication: representatives (lowest q first) and their cluster sizes.

    Points are visited in order of increasing q (ties by index); each point not yet
    assigned becomes a representative and takes every unassigned point within Euclidean
    distance ``tol`` of it. So every point lies within ``tol`` of its representative,
    and representatives are more than ``tol`` apart.

    Returns
    -------
    representatives : ndarray of int, shape (k,)
        Indices into the points, in order of increasing q.
    sizes : ndarray of int, shape (k,)
        Number of points each representative stands for (sums to p).

    Examples
    --------
    >>> pts = np.array([[0.0], [0.05], [1.0], [0.02]])
    >>> cluster(pts, np.array([3.0, 1.0, 2.0, 0.5]), 0.1)
    (array([3, 2]), array([3, 1]))
    """
    label_p = np.full(len(q_p), -1)
    representatives, sizes = [], []
    for i in np.argsort(q_p, kind="stable"):
        if label_p[i] >= 0:
            continue
        free = np.flatnonzero(label_p < 0)
        members = free[np.linalg.norm(points_pxn[free] - points_pxn[i], axis=1) <= tol]
        label_p[members] = len(representatives)
        representatives.append(i)
        sizes.append(members.size)
    return np.asarray(representatives, dtype=int), np.asarray(sizes, dtype=int)


def sorted_eig(j_pxnxn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (p, m) and unit eigenvectors (p, n, m) sorted by descending |μ|.

    Ties (complex-conjugate pairs) put the positive imaginary part first.

    Examples
    --------
    >>> mu, _ = sorted_eig(np.array([[[0.5, 0.0], [0.0, -2.0]]]))
    >>> mu
    array([[-2. +0.j,  0.5+0.j]])
    """
    mu_pxm, v_pxnxm = np.linalg.eig(j_pxnxn)
    mu_pxm = mu_pxm.astype(complex)
    order_pxm = np.lexsort((-mu_pxm.imag, -np.abs(mu_pxm)), axis=-1)
    mu_pxm = np.take_along_axis(mu_pxm, order_pxm, axis=-1)
    v_pxnxm = np.take_along_axis(v_pxnxm.astype(complex), order_pxm[:, None, :], axis=-1)
    return mu_pxm, v_pxnxm

