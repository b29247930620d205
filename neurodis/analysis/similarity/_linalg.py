"""Small linear-algebra helpers shared by the similarity kernels (plain arrays only)."""

from __future__ import annotations

import numpy as np

__all__ = ["center", "centered_svd"]


def center(x_sxn: np.ndarray) -> np.ndarray:
    """Subtract each column's mean (float64 copy)."""
    x_sxn = np.asarray(x_sxn, dtype=np.float64)
    return x_sxn - x_sxn.mean(axis=0, keepdims=True)


def centered_svd(x_sxn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left singular vectors and singular values of the column-centred matrix.

    Directions with singular values below numpy's ``matrix_rank`` tolerance
    (``s_max * max(shape) * eps``) are dropped, so ``u_sxr`` spans exactly the
    numerical column space. A constant matrix gives ``r = 0``.
    """
    x_sxn = center(x_sxn)
    u_sxk, s_k, _ = np.linalg.svd(x_sxn, full_matrices=False)
    tol = (s_k[0] if s_k.size else 0.0) * max(x_sxn.shape) * np.finfo(np.float64).eps
    keep = s_k > tol
    return u_sxk[:, keep], s_k[keep]
