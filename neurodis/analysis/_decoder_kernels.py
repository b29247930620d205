"""Raw-array kernels of the linear decoders (no xarray inside).

Every kernel is batched over a leading axis ``b`` (time steps, or 1 without a time
dim): ``x_bxnxu`` holds ``n`` trials of ``u`` units for each of the ``b`` problems and
``y_nxd`` the ``d`` latent targets shared by all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from neurodis._validation import check_in, check_int, check_real
from neurodis.analysis._folds import FOLD_KINDS, region_codes
from neurodis.analysis.theory import VAR_UNIFORM

__all__ = [
    "METHODS",
    "RIDGE_GRID",
    "Solver",
    "adam_init",
    "adam_linear",
    "axis_angles",
    "fit_linear",
    "fit_ridge_cv",
    "predict",
    "scores",
]

#: The decoder fits, in the order the public functions document them.
METHODS = ("lstsq", "ridge", "ridge_cv", "adam")

#: Ridge penalties tried by :func:`fit_ridge_cv`, relative to the mean eigenvalue of the
#: centred Gram matrix (so the grid means the same for any scale of the rates).
RIDGE_GRID = 10.0 ** np.arange(-6.0, 1.5, 0.5)


def fit_linear(x_bxnxu: np.ndarray, y_nxd: np.ndarray, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (``alpha = 0``) or ridge linear decoders with an unpenalised bias.

    Centring removes the bias from the problem (the intercept of an unpenalised
    column is the mean residual). Every problem is then solved through the
    eigendecomposition ``XᵀX = V diag(λ) Vᵀ`` of its small ``u × u`` Gram matrix:
    ``W = V diag(f(λ)) Vᵀ XᵀY`` with ``f(λ) = 1/(λ + alpha)`` (ridge) or ``1/λ`` on the
    eigenvalues above ``eps · max(n, u) · λ_max`` and 0 below (the minimum-norm
    least-squares solution on the directions the data resolve; the dropped ones carry
    less than ~1e-6 of the largest singular value). Batched ``u × u`` work is several
    times faster than an SVD of the tall ``n × u`` data and scales well on busy cores.

    Returns
    -------
    w_bxuxd, b_bxd
    """
    x_mean_bxu = x_bxnxu.mean(axis=1)
    y_mean_d = y_nxd.mean(axis=0)
    xc_bxnxu = x_bxnxu - x_mean_bxu[:, None, :]
    xct_bxuxn = np.swapaxes(xc_bxnxu, 1, 2)
    lam_bxu, v_bxuxu = np.linalg.eigh(xct_bxuxn @ xc_bxnxu)
    if alpha > 0.0:
        f_bxu = 1.0 / (lam_bxu + alpha)
    else:
        cutoff_bx1 = np.finfo(np.float64).eps * max(x_bxnxu.shape[1:]) * lam_bxu[:, -1:]
        keep = lam_bxu > cutoff_bx1
        f_bxu = np.where(keep, 1.0 / np.where(keep, lam_bxu, 1.0), 0.0)
    xty_bxuxd = xct_bxuxn @ (y_nxd - y_mean_d)
    w_bxuxd = v_bxuxu @ (f_bxu[:, :, None] * (np.swapaxes(v_bxuxu, 1, 2) @ xty_bxuxd))
    b_bxd = y_mean_d[None, :] - np.einsum("bu,bud->bd", x_mean_bxu, w_bxuxd)
    return w_bxuxd, b_bxd


def _centred_eigh(x_bxnxu: np.ndarray, y_nxd: np.ndarray):
    x_mean_bxu, y_mean_d = x_bxnxu.mean(axis=1), y_nxd.mean(axis=0)
    xct_bxuxn = np.swapaxes(x_bxnxu - x_mean_bxu[:, None, :], 1, 2)
    lam_bxu, v_bxuxu = np.linalg.eigh(xct_bxuxn @ np.swapaxes(xct_bxuxn, 1, 2))
    vty_bxuxd = np.swapaxes(v_bxuxu, 1, 2) @ (xct_bxuxn @ (y_nxd - y_mean_d))
    return x_mean_bxu, y_mean_d, np.maximum(lam_bxu, 0.0), v_bxuxu, vty_bxuxd


def _ridge_path(x_bxnxu: np.ndarray, y_nxd: np.ndarray, alpha_bxa: np.ndarray):
    """Ridge decoders for several penalties per problem from one eigendecomposition:
    ``w_bxaxuxd``, ``b_bxaxd``."""
    x_mean_bxu, y_mean_d, lam_bxu, v_bxuxu, vty_bxuxd = _centred_eigh(x_bxnxu, y_nxd)
    f_bxaxu = 1.0 / (lam_bxu[:, None, :] + alpha_bxa[:, :, None])
    # matmul, not einsum: numpy's einsum runs these contractions without BLAS
    w_bxaxuxd = (v_bxuxu[:, None] * f_bxaxu[:, :, None, :]) @ vty_bxuxd[:, None]
    b_bxaxd = y_mean_d - (x_mean_bxu[:, None, None, :] @ w_bxaxuxd)[:, :, 0]
    return w_bxaxuxd, b_bxaxd


def fit_ridge_cv(
    x_bxnxu: np.ndarray, y_nxd: np.ndarray, groups_n: np.ndarray, grid: np.ndarray = RIDGE_GRID
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge decoders whose penalty is chosen by leaving one group (orthant) out.

    For an out-of-distribution test the penalty must be chosen for extrapolation, not
    interpolation: each candidate is scored by fitting on all training groups but one
    and predicting the left-out group (its squared error summed over groups), and the
    winner is refit on every training trial. The test region is never seen. Penalties
    are ``grid`` times the mean eigenvalue of the centred Gram matrix of the training
    trials; each of the ``b`` problems chooses its own.

    Returns
    -------
    w_bxuxd, b_bxd, alpha_b
        Decoders and the chosen absolute penalties.

    Raises
    ------
    ValueError
        If the training trials hold fewer than two groups.
    """
    labels = np.unique(groups_n)
    if labels.size < 2:
        raise ValueError(f"method='ridge_cv' needs training trials from at least 2 orthants to choose "
                         f"its penalty by leaving one out; got {labels.size}")
    xc_bxnxu = x_bxnxu - x_bxnxu.mean(axis=1, keepdims=True)
    scale_b = np.einsum("bnu,bnu->b", xc_bxnxu, xc_bxnxu) / x_bxnxu.shape[2]
    # constant rates (e.g. steps before the stimulus) have no scale: any positive
    # penalty then gives the same zero weights, a zero one would divide 0 by 0
    scale_b = np.where(scale_b > 0, scale_b, 1.0)
    alpha_bxa = scale_b[:, None] * np.asarray(grid)[None, :]
    sse_bxa = np.zeros_like(alpha_bxa)
    for label in labels:
        out = groups_n == label
        w_bxaxuxd, b_bxaxd = _ridge_path(x_bxnxu[:, ~out], y_nxd[~out], alpha_bxa)
        pred_bxaxnxd = x_bxnxu[:, None, out] @ w_bxaxuxd + b_bxaxd[:, :, None, :]
        sse_bxa += np.sum((pred_bxaxnxd - y_nxd[out]) ** 2, axis=(2, 3))
    alpha_b = alpha_bxa[np.arange(alpha_bxa.shape[0]), np.argmin(sse_bxa, axis=1)]
    w_bx1xuxd, b_bx1xd = _ridge_path(x_bxnxu, y_nxd, alpha_b[:, None])
    return w_bx1xuxd[:, 0], b_bx1xd[:, 0], alpha_b


@dataclass(frozen=True)
class Solver:
    """How decoders are fit: one of :data:`METHODS` and its settings, validated once.

    The one dispatch from a method name to its kernel, shared by the functional API
    (every fold of :func:`~neurodis.analysis.fit_ood_decoders`) and the
    :class:`~neurodis.analysis.Decoder` estimator, so that both fit the same numbers:
    ``"lstsq"`` and ``"ridge"`` (penalty ``alpha``) by :func:`fit_linear`,
    ``"ridge_cv"`` by :func:`fit_ridge_cv` with the trials grouped by
    :func:`~neurodis.analysis._folds.region_codes` of their targets under the fold kind
    ``regions`` (quadrants of ``x_0, x_1`` for quadrant folds, orthants otherwise),
    ``"adam"`` by :func:`adam_init` (drawn from ``rng``) then :func:`adam_linear`.
    """

    method: str = "lstsq"
    alpha: float = 1.0
    n_batches: int = 2000
    batch_size: int = 16
    lr: float = 3e-3
    regions: str = "orthant"

    def __post_init__(self) -> None:
        check_in("method", self.method, METHODS)
        check_in("regions", self.regions, FOLD_KINDS)
        check_real("alpha", self.alpha, minimum=0.0, strict_minimum=self.method == "ridge")
        check_int("n_batches", self.n_batches, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_real("lr", self.lr, minimum=0.0, strict_minimum=True)

    def fit(
        self, x_bxnxu: np.ndarray, y_nxd: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoders ``w_bxuxd, b_bxd`` and the ridge penalty of each problem (0 for least
        squares, NaN for Adam), on already validated arrays."""
        n_problems = x_bxnxu.shape[0]
        if self.method == "adam":
            init = adam_init(rng, *x_bxnxu.shape, y_nxd.shape[1], self.n_batches, self.batch_size)
            return (*adam_linear(x_bxnxu, y_nxd, *init, lr=self.lr), np.full(n_problems, np.nan))
        if self.method == "ridge_cv":
            return fit_ridge_cv(x_bxnxu, y_nxd, region_codes(y_nxd, self.regions))
        alpha = self.alpha if self.method == "ridge" else 0.0
        return (*fit_linear(x_bxnxu, y_nxd, alpha=alpha), np.full(n_problems, alpha))

    def attrs(self) -> dict[str, Any]:
        """The settings a result records."""
        if self.method == "adam":
            return {"method": "adam", "n_batches": self.n_batches, "batch_size": self.batch_size, "lr": self.lr}
        if self.method == "ridge_cv":
            return {"method": "ridge_cv", "ridge_grid_relative": RIDGE_GRID.tolist()}
        return {"method": self.method, "alpha": self.alpha if self.method == "ridge" else 0.0}


def predict(x_bxnxu: np.ndarray, w_bxuxd: np.ndarray, b_bxd: np.ndarray) -> np.ndarray:
    """Decoded latents ``x W + b``, shape (b, n, d)."""
    return x_bxnxu @ w_bxuxd + b_bxd[:, None, :]


def scores(pred_bxnxd: np.ndarray, y_nxd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-dimension MSE, the paper's r² and the standard r² of predictions.

    ``r2_paper = 1 - mean_d(MSE_d) / (1/12)``; ``r2 = mean_d(1 - SSE_d / SST_d)`` with
    ``SST_d`` the spread of the targets around their own mean.

    Returns
    -------
    mse_bxd, r2_paper_b, r2_b
    """
    err_bxnxd = pred_bxnxd - y_nxd[None]
    mse_bxd = np.mean(err_bxnxd**2, axis=1)
    r2_paper_b = 1.0 - mse_bxd.mean(axis=1) / VAR_UNIFORM
    sst_d = np.sum((y_nxd - y_nxd.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2_b = np.mean(1.0 - mse_bxd * y_nxd.shape[0] / sst_d[None, :], axis=1)
    return mse_bxd, r2_paper_b, r2_b


def axis_angles(w_bxuxd: np.ndarray) -> np.ndarray:
    """Mean pairwise angle in degrees between the decoder axes (columns of W).

    For two latents this is the angle between the two weight vectors (90° means
    orthogonal axes); a zero weight vector gives NaN.
    """
    norms_bxd = np.linalg.norm(w_bxuxd, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit_bxuxd = w_bxuxd / norms_bxd[:, None, :]
    cos_bxdxd = np.clip(np.swapaxes(unit_bxuxd, 1, 2) @ unit_bxuxd, -1.0, 1.0)
    rows, cols = np.triu_indices(w_bxuxd.shape[2], k=1)
    if rows.size == 0:
        return np.full(w_bxuxd.shape[0], np.nan)
    return np.degrees(np.arccos(cos_bxdxd[:, rows, cols])).mean(axis=1)


def adam_init(
    rng: np.random.Generator, n_problems: int, n_trials: int, n_units: int, n_dims: int, n_batches: int,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial weights and biases (uniform ``±1/√u``, torch's ``nn.Linear`` default) and
    the minibatch trial indices (drawn with replacement), shape (n_batches, batch_size)."""
    bound = 1.0 / np.sqrt(n_units)
    w_bxuxd = rng.uniform(-bound, bound, (n_problems, n_units, n_dims))
    b_bxd = rng.uniform(-bound, bound, (n_problems, n_dims))
    return w_bxuxd, b_bxd, rng.integers(0, n_trials, (n_batches, batch_size))


def adam_linear(
    x_bxnxu: np.ndarray,
    y_nxd: np.ndarray,
    w_bxuxd: np.ndarray,
    b_bxd: np.ndarray,
    batches_sxk: np.ndarray,
    *,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear decoders trained by Adam on minibatches of cached rates (the authors' fit).

    Starting from ``w, b``, step ``s`` minimises the MSE (averaged over trials and
    latents) of the trials ``batches_sxk[s]`` with the update of ``torch.optim.Adam``
    (defaults ``betas``, ``eps``; no weight decay). The gradient of a linear model is
    written out and the steps run in one compiled loop (float64, no per-step array
    allocations); a test checks the trajectory against ``torch.optim.Adam``. The ``b``
    problems are independent and share the minibatch indices.

    Returns
    -------
    w_bxuxd, b_bxd
        New arrays; the inputs are not modified.
    """
    w_bxuxd = np.array(w_bxuxd, dtype=np.float64)  # copies: the inputs are not modified
    b_bxd = np.array(b_bxd, dtype=np.float64)
    x_bxnxu = np.ascontiguousarray(x_bxnxu, dtype=np.float64)
    y_nxd = np.ascontiguousarray(y_nxd, dtype=np.float64)
    batches_sxk = np.ascontiguousarray(batches_sxk, dtype=np.int64)
    _adam_steps(x_bxnxu, y_nxd, w_bxuxd, b_bxd, batches_sxk, float(lr), float(betas[0]), float(betas[1]),
                float(eps))
    return w_bxuxd, b_bxd


@njit(cache=True)
def _adam_steps(x_bxnxu: np.ndarray, y_nxd: np.ndarray, w_bxuxd: np.ndarray, b_bxd: np.ndarray,
                batches_sxk: np.ndarray, lr: float, beta1: float, beta2: float, eps: float) -> None:
    """Adam's steps on every problem, updating ``w`` and ``b`` in place (see :func:`adam_linear`)."""
    n_problems, _, n_units = x_bxnxu.shape
    n_steps, n_rows = batches_sxk.shape
    n_dims = y_nxd.shape[1]
    scale = 2.0 / (n_rows * n_dims)  # d(mean squared error)/d(prediction)
    grad_kxd = np.empty((n_rows, n_dims))
    grad_uxd = np.empty((n_units, n_dims))
    for problem in range(n_problems):
        x_nxu, w_uxd, b_d = x_bxnxu[problem], w_bxuxd[problem], b_bxd[problem]
        m_w, v_w = np.zeros((n_units, n_dims)), np.zeros((n_units, n_dims))
        m_b, v_b = np.zeros(n_dims), np.zeros(n_dims)
        for step in range(1, n_steps + 1):
            index = batches_sxk[step - 1]
            for row in range(n_rows):
                trial = index[row]
                for d in range(n_dims):
                    prediction = 0.0
                    for u in range(n_units):
                        prediction += x_nxu[trial, u] * w_uxd[u, d]
                    grad_kxd[row, d] = scale * (prediction + b_d[d] - y_nxd[trial, d])
            grad_uxd[:] = 0.0
            for row in range(n_rows):
                trial = index[row]
                for u in range(n_units):
                    value = x_nxu[trial, u]
                    for d in range(n_dims):
                        grad_uxd[u, d] += value * grad_kxd[row, d]
            step_size = lr / (1.0 - beta1**step)
            root_correction = np.sqrt(1.0 - beta2**step)
            for u in range(n_units):
                for d in range(n_dims):
                    grad = grad_uxd[u, d]
                    m_w[u, d] = m_w[u, d] * beta1 + (1.0 - beta1) * grad
                    v_w[u, d] = v_w[u, d] * beta2 + (1.0 - beta2) * grad * grad
                    w_uxd[u, d] -= step_size * m_w[u, d] / (np.sqrt(v_w[u, d]) / root_correction + eps)
            for d in range(n_dims):
                grad = 0.0
                for row in range(n_rows):
                    grad += grad_kxd[row, d]
                m_b[d] = m_b[d] * beta1 + (1.0 - beta1) * grad
                v_b[d] = v_b[d] * beta2 + (1.0 - beta2) * grad * grad
                b_d[d] -= step_size * m_b[d] / (np.sqrt(v_b[d]) / root_correction + eps)
