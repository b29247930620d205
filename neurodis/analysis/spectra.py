"""Spectra of fixed points, read from the Dataset that the fixed-point search returns (pure).

The search itself runs the network's one-step map, so it lives with the experiments
(:func:`neurodis.experiments.find_fixed_points`); this module only reads its output.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodis._validation import check_real, check_type
from neurodis.trials import MODE

__all__ = ["SLOW_MODE_TOL", "slow_mode_counts"]

#: A mode is slow when its eigenvalue μ of the one-step map has |μ - 1| below this.
SLOW_MODE_TOL = 0.05


def slow_mode_counts(found: xr.Dataset, tol: float = SLOW_MODE_TOL) -> xr.DataArray:
    """Number of slow modes of each point: eigenvalues μ of the one-step map with |μ - 1| < ``tol``.

    An eigenvalue μ of the one-step map near 1 is one of ``J - I`` near 0: a direction
    along which the state neither grows nor decays (a line attractor has one, a plane
    attractor two).

    Parameters
    ----------
    found : xarray.Dataset
        :func:`neurodis.experiments.find_fixed_points` output (``eigenvalues_real``, ``eigenvalues_imag``).
    tol : float
        Distance of μ from 1 below which a mode counts as slow (> 0).

    Returns
    -------
    xarray.DataArray
        Integer counts along ``fixed_point``.

    Raises
    ------
    TypeError
        If ``found`` is not a Dataset.
    ValueError
        If ``tol`` is not positive or the spectra are missing.

    Examples
    --------
    >>> spectra = xr.Dataset({"eigenvalues_real": (("fixed_point", "mode"), [[1.01, 0.5], [0.97, 1.02]]),
    ...                       "eigenvalues_imag": (("fixed_point", "mode"), [[0.0, 0.0], [0.01, 0.0]])})
    >>> slow_mode_counts(spectra).values.tolist()
    [1, 2]
    """
    check_type("found", found, xr.Dataset, "the Dataset of find_fixed_points")
    tol = check_real("tol", tol, minimum=0.0, strict_minimum=True)
    missing = [name for name in ("eigenvalues_real", "eigenvalues_imag") if name not in found]
    if missing:
        raise ValueError(f"found must hold the spectra of find_fixed_points; missing {missing}")
    mu = found["eigenvalues_real"] + 1j * found["eigenvalues_imag"]
    counts = (np.abs(mu - 1.0) < tol).sum(MODE)
    counts.attrs.update(long_name="modes with |mu - 1| < tol", tol=tol)
    return counts.rename("slow_modes")
