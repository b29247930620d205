"""The probit and logit scales of a Gaussian posterior's classification, converted exactly.

The Bayes-optimal probability that ``c · x > 0`` under a Gaussian posterior is ``Φ(z)``
for a *probit score* ``z``; its log-odds ``log Φ(z) - log Φ(-z)`` is the *logit*. The
task's ideal observer (:meth:`neurodis.tasks.ClassificationTask.ideal_observer`) and the
closed-form theory (:mod:`neurodis.analysis.theory`) both convert through these two
functions, so the two scales mean the same everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import log_expit, log_ndtr, ndtri_exp

from neurodis._validation import check_array

__all__ = ["logit_to_probit", "probit_to_logit"]


def _check_real(name: str, value: Any) -> None:
    """Refuse non-numeric input (strings, objects) before a ufunc fails on it unnamed."""
    check_array(name, value.values if isinstance(value, xr.DataArray) else value, finite=False)


def probit_to_logit(z: Any) -> Any:
    """Log-odds ``log Φ(z) - log Φ(-z)`` of probit scores, stable at any ``|z|``.

    Works elementwise on arrays and DataArrays (labels are kept).

    Raises
    ------
    TypeError
        If ``z`` is not numeric.

    Examples
    --------
    >>> probit_to_logit(np.array([0.0, 1.0, 40.0])).round(4)
    array([  0.    ,   1.6683, 804.6084])
    """
    _check_real("z", z)
    return log_ndtr(z) - log_ndtr(-z)


def logit_to_probit(logits: Any) -> Any:
    """Probit scores ``z = Φ⁻¹(expit(logit))``, exact to machine precision at any size.

    The probability ``expit(logit)`` rounds to 1 once ``|z| > 8.3``, so the inverse is
    taken on the small tail instead: ``log Φ(-|z|) = log_expit(-|logit|)`` is exact for
    every finite logit and ``ndtri_exp`` inverts ``log_ndtr`` there. One Newton step on
    ``logit(z) = log Φ(z) - log Φ(-z)`` then removes the inverse's own rounding, which
    grows with ``|z|``.

    Raises
    ------
    TypeError
        If ``logits`` is not numeric.

    Examples
    --------
    >>> z = np.array([-30.0, -1.0, 0.0, 8.5, 30.0])
    >>> bool(np.allclose(logit_to_probit(probit_to_logit(z)), z, rtol=1e-15, atol=0))
    True
    """
    _check_real("logits", logits)
    target = np.abs(np.asarray(logits, dtype=np.float64))
    magnitude = -ndtri_exp(log_expit(-target))
    # d logit / dz = φ(z)/Φ(z) + φ(z)/Φ(-z), in logs so it stays finite for any z
    log_phi = -0.5 * magnitude**2 - 0.5 * np.log(2.0 * np.pi)
    slope = np.exp(log_phi - log_ndtr(magnitude)) + np.exp(log_phi - log_ndtr(-magnitude))
    magnitude = magnitude - (probit_to_logit(magnitude) - target) / slope
    return np.sign(logits) * magnitude
