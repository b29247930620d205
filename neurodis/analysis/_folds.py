"""Fold sets of the out-of-distribution decoder analysis: which orthants of the latent
box a decoder is trained on, which it is tested on, and checks that trials lie there.

Orthant codes follow :mod:`neurodis.tasks.latents`: bit ``i`` is set when ``x_i < 0``
(a coordinate exactly 0 counts as positive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_finite, check_in, check_int, check_type, describe
from neurodis.latents import check_orthants, orthant_of, orthant_to_quadrant, quadrant_code, quadrant_to_orthant
from neurodis.trials import LATENT, TRIAL

__all__ = [
    "EVALUATIONS",
    "FOLD_KINDS",
    "Fold",
    "check_latents",
    "check_splits",
    "evaluation_note",
    "fold_indices",
    "heldout_mask",
    "make_folds",
    "pool_splits",
    "region_codes",
    "region_label",
    "region_mask",
]

FOLD_KINDS = ("quadrant", "orthant", "halfspace")
EVALUATIONS = ("heldout", "authors_default")
#: the published default run tested folds Q2 and Q4 on trials from Q1 and Q3
_AUTHORS_TEST_QUADRANTS = {2: (1, 3), 4: (1, 3)}


@dataclass(frozen=True)
class Fold:
    """One fold of an out-of-distribution evaluation, as sets of orthant codes.

    Attributes
    ----------
    name : str
        Label, e.g. ``"Q2"``, ``"O+-+"`` or ``"x0<0"``.
    heldout : tuple of int
        Orthants of the held-out region.
    train : tuple of int
        Orthants the decoder is trained on (disjoint from ``heldout``).
    test : tuple of int
        Orthants the test trials come from: ``heldout`` for the true test; other
        orthants only under ``evaluation="authors_default"``.
    """

    name: str
    heldout: tuple[int, ...]
    train: tuple[int, ...]
    test: tuple[int, ...]

    @property
    def tests_heldout(self) -> bool:
        """Whether every test trial comes from the held-out region (the true OOD test)."""
        return set(self.test) <= set(self.heldout)


def make_folds(folds: str = "quadrant", n_dims: int = 2, *, evaluation: str = "heldout") -> tuple[Fold, ...]:
    """The folds of an out-of-distribution evaluation (see the module docstring).

    Parameters
    ----------
    folds : {"quadrant", "orthant", "halfspace"}
    n_dims : int
        Number of latent dims D. With D > 2, a quadrant is one of the first two latents
        (``x_0``, ``x_1``), the others free: fold Q2 holds out every orthant with
        ``x_0 < 0 <= x_1``, a quarter of the box whatever D is, and has the name, and
        the held-out share, of its D = 2 fold.
    evaluation : {"heldout", "authors_default"}
        ``"authors_default"`` (quadrant folds only) makes folds Q2 and Q4 test on Q1
        and Q3, as the published default run did.

    Returns
    -------
    tuple of Fold

    Raises
    ------
    ValueError
        For an unknown kind or evaluation, quadrant folds with D < 2, or the authors'
        evaluation with non-quadrant folds.

    Examples
    --------
    >>> [f.name for f in make_folds("quadrant")]
    ['Q1', 'Q2', 'Q3', 'Q4']
    >>> make_folds("quadrant", evaluation="authors_default")[1]
    Fold(name='Q2', heldout=(1,), train=(0, 2, 3), test=(0, 3))
    >>> [f.name for f in make_folds("halfspace", 2)]
    ['x0<0', 'x0>0', 'x1<0', 'x1>0']
    >>> make_folds("quadrant", 3)[1]  # x_0 < 0 <= x_1, x_2 either sign
    Fold(name='Q2', heldout=(1, 5), train=(0, 2, 3, 4, 6, 7), test=(1, 5))
    """
    check_in("folds", folds, FOLD_KINDS)
    n_dims = check_int("n_dims", n_dims, minimum=1)
    check_in("evaluation", evaluation, EVALUATIONS)
    if folds == "quadrant" and n_dims < 2:
        raise ValueError(
            f"folds='quadrant' needs latents with at least 2 dims; got {n_dims} (use folds='orthant' or 'halfspace')"
        )
    if evaluation == "authors_default" and folds != "quadrant":
        raise ValueError(f"evaluation='authors_default' is defined for folds='quadrant' only; got folds={folds!r}")
    codes = range(2**n_dims)
    if folds == "halfspace":
        # bit i set <=> x_i < 0: hold out one side, train on the other
        return tuple(
            Fold(
                f"x{dim}{sign}0",
                tuple(c for c in codes if (c >> dim) & 1 == bit),
                tuple(c for c in codes if (c >> dim) & 1 != bit),
                tuple(c for c in codes if (c >> dim) & 1 == bit),
            )
            for dim in range(n_dims)
            for sign, bit in (("<", 1), (">", 0))
        )
    if folds == "orthant":
        return tuple(
            Fold(
                "O" + "".join("-" if (code >> i) & 1 else "+" for i in range(n_dims)),
                (code,),
                tuple(c for c in codes if c != code),
                (code,),
            )
            for code in codes
        )
    def region(quadrants: tuple[int, ...]) -> tuple[int, ...]:
        wanted = {int(quadrant_to_orthant(q)) for q in quadrants}
        return tuple(c for c in codes if quadrant_code(c) in wanted)

    result = []
    for quadrant in (1, 2, 3, 4):
        heldout = region((quadrant,))
        test = heldout
        if evaluation == "authors_default" and quadrant in _AUTHORS_TEST_QUADRANTS:
            test = region(_AUTHORS_TEST_QUADRANTS[quadrant])
        result.append(Fold(f"Q{quadrant}", heldout, tuple(c for c in codes if c not in heldout), test))
    return tuple(result)


def region_mask(latents: xr.DataArray, orthants: Sequence[int]) -> xr.DataArray:
    """Boolean ``(trial,)`` mask of the trials whose latent lies in ``orthants``.

    Raises
    ------
    TypeError, ValueError
        If ``latents`` is not a ``(trial, latent)`` DataArray, or an orthant code is not
        an integer in ``[0, 2**n_latent - 1]``.

    Examples
    --------
    >>> x = xr.DataArray([[0.1, 0.2], [-0.1, 0.2]], dims=("trial", "latent"))
    >>> region_mask(x, [1]).values
    array([False,  True])
    """
    latents = check_latents(latents)
    orthants = check_orthants(orthants, latents.sizes[LATENT])
    codes = orthant_of(latents.values)
    return xr.DataArray(np.isin(codes, list(orthants)), dims=(TRIAL,), coords={TRIAL: latents[TRIAL]})


def heldout_mask(latents: xr.DataArray, fold: Fold) -> xr.DataArray:
    """Boolean ``(trial,)`` mask of the trials inside ``fold``'s held-out region.

    Examples
    --------
    >>> x = xr.DataArray([[0.1, 0.2], [-0.1, 0.2], [0.3, -0.4]], dims=("trial", "latent"))
    >>> heldout_mask(x, make_folds("quadrant")[3]).values  # Q4: x > 0, y < 0
    array([False, False,  True])
    """
    check_type("fold", fold, Fold, "a Fold (see make_folds)")
    return region_mask(latents, fold.heldout)


def check_latents(latents: Any, n_trials: int | None = None) -> xr.DataArray:
    """Latents as a finite float64 ``(trial, latent)`` DataArray (with ``n_trials`` trials)."""
    check_type("latents", latents, xr.DataArray, "an xarray.DataArray with dims (trial, latent)")
    if set(latents.dims) != {TRIAL, LATENT}:
        raise ValueError(f"latents must have dims ('trial', 'latent'); got {describe(latents)}")
    latents = latents.transpose(TRIAL, LATENT).astype(np.float64)
    check_finite("latents", latents.values)
    if n_trials is not None and latents.sizes[TRIAL] != n_trials:
        raise ValueError(f"latents must have {n_trials} trials to match rates; got {describe(latents)}")
    return latents


def fold_indices(codes: np.ndarray, fold: Fold) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of the trials in ``fold``'s training and test orthants.

    Examples
    --------
    >>> fold_indices(np.array([0, 1, 2, 3, 1]), make_folds("quadrant")[1])  # Q2 holds out orthant 1
    (array([0, 2, 3]), array([1, 4]))
    """
    return np.flatnonzero(np.isin(codes, fold.train)), np.flatnonzero(np.isin(codes, fold.test))


def pool_splits(
    codes: np.ndarray, fold_set: Sequence[Fold], rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) trial indices of each fold, partitioning one set of trials."""
    pairs = []
    for fold in fold_set:
        train, test = fold_indices(codes, fold)
        if not fold.tests_heldout:
            # the authors' test region lies inside the training region: score on a random
            # half of it that the decoder never sees, like their freshly sampled trials
            test = np.sort(rng.permutation(test)[: test.size // 2])
            train = np.setdiff1d(train, test)
        pairs.append((train, test))
    return pairs


def check_splits(splits: Any, codes: np.ndarray, fold_set: Sequence[Fold]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Validated explicit splits; proves every trial lies where its fold says."""
    check_type("splits", splits, Mapping, "a mapping of fold name to (train indices, test indices)")
    names = [fold.name for fold in fold_set]
    if sorted(splits) != sorted(names):
        raise ValueError(f"splits must have one entry per fold {names}; got keys {sorted(splits)}")
    pairs = []
    for fold in fold_set:
        pair = splits[fold.name]
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(
                f"splits[{fold.name!r}] must be a (train indices, test indices) pair; got {describe(pair)}"
            )
        train, test = (_check_indices(f"splits[{fold.name!r}]", part, codes.size) for part in pair)
        if np.intersect1d(train, test).size:
            raise ValueError(f"splits[{fold.name!r}] must not use a trial for both training and testing")
        for role, idx, allowed in (("training", train, fold.train), ("test", test, fold.test)):
            outside = idx[~np.isin(codes[idx], allowed)]
            if outside.size:
                raise ValueError(
                    f"splits[{fold.name!r}] {role} trials must lie in orthants {list(allowed)}; got "
                    f"{outside.size} outside, the first at trial index {int(outside[0])} "
                    f"(orthant {int(codes[outside[0]])})"
                )
        pairs.append((train, test))
    return pairs


def _check_indices(name: str, value: Any, n_trials: int) -> np.ndarray:
    idx = np.asarray(value)
    if idx.size and idx.dtype.kind not in "iu":
        raise TypeError(f"{name} indices must be integers; got {describe(value)}")
    if idx.ndim != 1:
        raise ValueError(f"{name} indices must be 1-D; got {describe(value)}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_trials):
        raise ValueError(f"{name} indices must lie in [0, {n_trials - 1}]; got values from {idx.min()} to {idx.max()}")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{name} indices must not repeat a trial")
    return idx


def evaluation_note(fold_set: Sequence[Fold]) -> str:
    """One sentence saying whether the folds test on held-out trials only."""
    leaky = [fold.name for fold in fold_set if not fold.tests_heldout]
    if not leaky:
        return "true held-out test: every test trial lies in its fold's held-out region"
    return (
        f"authors' default evaluation: folds {leaky} are tested on trials from training orthants "
        "(in distribution), so their r2 overstates out-of-distribution generalization"
    )


def region_codes(latents_nxd: np.ndarray, folds: str) -> np.ndarray:
    """The region of each trial that ridge's penalty choice and nested folds leave out in turn:
    under quadrant folds its quadrant of ``x_0, x_1`` (as a 2-D orthant code), else its orthant.

    Examples
    --------
    >>> x = np.array([[0.1, -0.2, -0.3], [-0.1, 0.2, 0.3]])
    >>> region_codes(x, "quadrant"), region_codes(x, "orthant")
    (array([2, 1]), array([6, 1]))
    """
    codes = orthant_of(latents_nxd)
    return quadrant_code(codes) if folds == "quadrant" else codes


def region_label(codes: Sequence[int], n_dims: int, quadrants: bool) -> str:
    """Readable name of a set of orthants: ``"Q1,Q3"`` (quadrants of ``x_0, x_1``) or ``"O+-,O--"``."""
    if quadrants:
        named = sorted({int(orthant_to_quadrant(quadrant_code(int(c)))) for c in codes})
        return ",".join(f"Q{q}" for q in named)
    return ",".join("O" + "".join("-" if (c >> i) & 1 else "+" for i in range(n_dims)) for c in codes)
