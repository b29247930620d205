"""Abstraction metrics of Bernardi et al. (Cell 2020) for labelled population rates.

Conditions are the distinct task situations (e.g. the four latent quadrants); a
*dichotomy* splits the conditions into two sides (e.g. ``x0 > 0``).

- **CCGP**: a linear classifier trained on a dichotomy using some conditions of each
  side is tested on the held-out conditions; averaged over the choices of held-out
  conditions (one per side in the paper).
- **Parallelism score**: the conditions of the two sides are paired; the coding vectors
  (centroid differences) of the pairs are compared by their mean pairwise cosine; the
  maximum over pairings.
- **Shattering dimensionality**: mean cross-validated decoding accuracy over the
  balanced dichotomies of the conditions (a seeded random subset when there are many).

Nulls, as the paper uses them: ``"geometric"`` (CCGP, parallelism) rotates every
condition's cloud of points independently by a random discrete rotation (a permutation
of the unit axes) about the mean of the condition centroids: cluster shapes and
distances from the centre are kept, their arrangement is destroyed, so the null tests
the *geometry*, not mere decodability. ``"shuffle"`` (shattering dimensionality; an
option for the others) permutes the condition labels across samples. One-sided p-values
are ``(1 + #{null >= observed}) / (1 + n_null)``.

Rates: a DataArray with a ``unit`` dim, sample dims ``trial`` and/or ``condition``
(condition-averaged recordings have one sample per condition) and an optional ``time``
dim, over which every metric is computed step by step. Classifiers see every unit
z-scored over all samples at each step (label-free, as in the paper).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_dims,
    check_in,
    check_int,
    check_real,
    check_rng,
    check_type,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.analysis._dichotomies import Design, Labels, make_design
from neurodis.trials import CONDITION, TIME, TRIAL

__all__ = ["ccgp", "parallelism_score", "shattering_dimensionality", "sign_dichotomies"]

DICHOTOMY = "dichotomy"
NULL = "null"
_CLASSIFIERS = ("svm", "logistic")
_REFERENCE = (
    "Bernardi et al. (2020) The geometry of abstraction in the hippocampus and prefrontal cortex. "
    "Cell 183:954"
)


# --------------------------------------------------------------------------- kernels
def _zscore(x_sxtxn: np.ndarray) -> np.ndarray:
    """Every unit z-scored over all samples at each step.

    Statistics of the training conditions alone would blow up units that barely vary
    across them and wreck generalization to the held-out conditions.
    """
    std_txn = x_sxtxn.std(axis=0)
    std_txn[std_txn == 0] = 1.0  # silent or constant units carry no information; keep them finite
    return (x_sxtxn - x_sxtxn.mean(axis=0)) / std_txn


def _fit_predict(x_train_sxn, y_train_s, x_test_sxn, classifier: str, c: float) -> np.ndarray:
    """Fit a linear classifier and return its boolean predictions on the test samples."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if classifier == "svm":
        # a fixed random_state: liblinear's dual solver shuffles with the global numpy state otherwise
        model = LinearSVC(C=c, dual="auto", class_weight="balanced", max_iter=10_000, random_state=0)
    else:
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=1_000)
    return model.fit(x_train_sxn, y_train_s).predict(x_test_sxn).astype(bool)


def _condition_accuracy(correct_s: np.ndarray, cond_s: np.ndarray, n_conditions: int) -> float:
    """Accuracy averaged over the conditions present, each weighted equally."""
    count = np.bincount(cond_s, minlength=n_conditions)
    hits = np.bincount(cond_s, weights=correct_s, minlength=n_conditions)
    present = count > 0
    return float(np.mean(hits[present] / count[present]))


def _ccgp_kernel(
    design: Design, cond_s: np.ndarray, x_sxtxn: np.ndarray, splits, classifier, c
) -> np.ndarray:
    """CCGP (dichotomy x time) for the given sample data and condition codes."""
    n_conditions = design.labels.size
    x_sxtxn = _zscore(x_sxtxn)
    out_dxt = np.zeros((len(splits), x_sxtxn.shape[1]))
    for d, dichotomy_splits in enumerate(splits):
        y_s = design.sides_dxk[d][cond_s]
        for held_out_k in dichotomy_splits:
            test_s = held_out_k[cond_s]
            for t in range(x_sxtxn.shape[1]):
                pred = _fit_predict(x_sxtxn[~test_s, t], y_s[~test_s], x_sxtxn[test_s, t], classifier, c)
                out_dxt[d, t] += _condition_accuracy(pred == y_s[test_s], cond_s[test_s], n_conditions)
        out_dxt[d] /= len(dichotomy_splits)
    return out_dxt


def _patterns(other_kxd: np.ndarray, held: tuple[int, ...]) -> list[tuple[bool, ...]]:
    """Sorted values of the other dichotomies over the held-out conditions of one side."""
    return sorted(tuple(other_kxd[k]) for k in held)


def _ccgp_splits(design: Design, n_held_out: int, splits: str, max_splits: int, rng: np.random.Generator):
    """Held-out condition masks of every dichotomy: ``n_held_out`` conditions per side.

    ``"matched"`` keeps only the choices whose held-out conditions of the two sides can
    be paired so that each pair agrees on every other dichotomy.
    """
    out = []
    for d, (name, side_k) in enumerate(zip(design.names, design.sides_dxk, strict=True)):
        a, b = np.flatnonzero(side_k), np.flatnonzero(~side_k)
        if min(a.size, b.size) <= n_held_out:
            raise ValueError(
                f"dichotomies[{name!r}] must have more than n_held_out={n_held_out} conditions on each side "
                f"for CCGP; got {a.size} and {b.size}"
            )
        combos = list(
            itertools.product(itertools.combinations(a, n_held_out), itertools.combinations(b, n_held_out))
        )
        if splits == "matched":
            other_kxd = np.delete(design.sides_dxk, d, axis=0).T
            combos = [(ha, hb) for ha, hb in combos if _patterns(other_kxd, ha) == _patterns(other_kxd, hb)]
            if not combos:
                raise ValueError(
                    f"dichotomies[{name!r}] must have held-out conditions matched on the other dichotomies "
                    "for splits='matched'; got none (use splits='all')"
                )
        if len(combos) > max_splits:
            combos = [combos[i] for i in np.sort(rng.choice(len(combos), max_splits, replace=False))]
        masks = np.zeros((len(combos), side_k.size), dtype=bool)
        for row, (held_a, held_b) in enumerate(combos):
            masks[row, list(held_a + held_b)] = True
        out.append(list(masks))
    return out


def _centroids(x_sxtxn: np.ndarray, cond_s: np.ndarray, n_conditions: int) -> np.ndarray:
    """Condition means (condition, time, unit)."""
    onehot_sxk = np.zeros((cond_s.size, n_conditions))
    onehot_sxk[np.arange(cond_s.size), cond_s] = 1.0
    return np.einsum("sk,stn->ktn", onehot_sxk / onehot_sxk.sum(axis=0), x_sxtxn)


def _rotate_conditions(x_sxtxn: np.ndarray, cond_s: np.ndarray, n_conditions: int, rng) -> np.ndarray:
    """Geometric null: an independent random permutation of the units for every condition.

    The rotation is about the mean of the condition centroids, so cluster shapes and
    their distances from the centre are kept while their arrangement is randomised.
    """
    centre_txn = _centroids(x_sxtxn, cond_s, n_conditions).mean(axis=0)
    centred = x_sxtxn - centre_txn
    perm_kxn = np.stack([rng.permutation(x_sxtxn.shape[2]) for _ in range(n_conditions)])
    return np.take_along_axis(centred, perm_kxn[cond_s][:, None, :], axis=2) + centre_txn


def _pairings(k: int, max_pairings: int, rng: np.random.Generator) -> np.ndarray:
    """All permutations of ``range(k)`` (or a seeded random subset), shape (pairing, k)."""
    if math.factorial(k) <= max_pairings:
        return np.array(list(itertools.permutations(range(k))))
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < max_pairings:
        chosen.add(tuple(int(i) for i in rng.permutation(k)))
    return np.array(sorted(chosen))


def _parallelism_kernel(
    centroids_kxtxn: np.ndarray, sides_dxk: np.ndarray, pairings: list[np.ndarray]
) -> np.ndarray:
    """Parallelism score (dichotomy x time) from condition centroids."""
    out = np.zeros((sides_dxk.shape[0], centroids_kxtxn.shape[1]))
    for d, side_k in enumerate(sides_dxk):
        a, b = np.flatnonzero(side_k), np.flatnonzero(~side_k)
        k = a.size
        # every coding vector b_j - a_i once; a pairing then only indexes their cosines
        diff = centroids_kxtxn[b][None, :] - centroids_kxtxn[a][:, None]  # (a, b, time, unit)
        norm = np.linalg.norm(diff, axis=-1, keepdims=True)
        unit_vectors = np.divide(diff, norm, out=np.zeros_like(diff), where=norm > 0).reshape(
            k * k, *diff.shape[2:]
        )
        cos_vxvxt = np.einsum("vtn,wtn->vwt", unit_vectors, unit_vectors)
        i, j = np.triu_indices(k, 1)
        perms = pairings[d]
        pair_cos = cos_vxvxt[i * k + perms[:, i], j * k + perms[:, j]]  # (pairing, pair, time)
        out[d] = pair_cos.mean(axis=1).max(axis=0)
    return out


def _sd_kernel(x_sxtxn, cond_s, sides_dxk, n_conditions, n_folds, fold_seed, classifier, c) -> np.ndarray:
    """Cross-validated balanced accuracy (dichotomy x time); folds stratified by condition."""
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=fold_seed).split(cond_s, cond_s))
    x_sxtxn = _zscore(x_sxtxn)
    out = np.zeros((sides_dxk.shape[0], x_sxtxn.shape[1]))
    for d, side_k in enumerate(sides_dxk):
        y_s = side_k[cond_s]
        for t in range(x_sxtxn.shape[1]):
            pred_s = np.zeros(cond_s.size, dtype=bool)
            for train, test in folds:
                pred_s[test] = _fit_predict(x_sxtxn[train, t], y_s[train], x_sxtxn[test, t], classifier, c)
            out[d, t] = _condition_accuracy(pred_s == y_s, cond_s, n_conditions)
    return out


# --------------------------------------------------------------------------- outputs
def _p_value(observed: np.ndarray, null: np.ndarray, axis: int) -> np.ndarray:
    """One-sided permutation p-value, never 0: (1 + #{null >= observed}) / (1 + n_null)."""
    exceed = np.sum(null >= np.expand_dims(observed, axis) - 1e-12, axis=axis)
    return (1.0 + exceed) / (1.0 + null.shape[axis])


def _result(
    design: Design, variables: dict[str, tuple[tuple[str, ...], np.ndarray]], attrs: dict
) -> xr.Dataset:
    """Labelled result: a trailing time axis is kept only when the rates had one."""
    data = {}
    for name, (dims, values) in variables.items():
        if dims and dims[-1] == TIME and design.time is None:
            dims, values = dims[:-1], values[..., 0]
        data[name] = (dims, values)
    coords: dict[str, Any] = {DICHOTOMY: design.names, CONDITION: design.labels}
    if design.time is not None:
        coords[TIME] = design.time
    data["side"] = ((DICHOTOMY, CONDITION), design.sides_dxk)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _provenance(analysis: str, config: dict, rng: Any, generator: np.random.Generator, null: str) -> dict:
    return {
        "analysis": analysis,
        "config": json.dumps(config, sort_keys=True),
        **rng_provenance(rng, generator),
        "null": null,
        "reference": _REFERENCE,
        "neurodis_version": __version__,
    }


def _check_counts(n_null: int, max_dichotomies: int) -> None:
    check_int("n_null", n_null, minimum=0)
    check_int("max_dichotomies", max_dichotomies, minimum=1)


def _check_classifier(classifier: str, c: float) -> None:
    check_in("classifier", classifier, _CLASSIFIERS)
    check_real("C", c, minimum=0.0, strict_minimum=True)


def _streams(generator: np.random.Generator, n: int) -> list[np.random.Generator]:
    """Independent child generators; drawing the root seed keeps ``rng_state`` replayable."""
    root = np.random.SeedSequence(int(generator.integers(2**63)))
    return [np.random.default_rng(s) for s in root.spawn(n)]


# --------------------------------------------------------------------------- public API
def sign_dichotomies(latents: xr.DataArray, *, threshold: float = 0.0) -> dict[str, xr.DataArray]:
    """The dichotomies ``x_i > threshold`` of every latent factor.

    Parameters
    ----------
    latents : xarray.DataArray, dims (trial, latent)
        Ground-truth latents, e.g. ``trials["latents"]``.
    threshold : float
        Boundary of every dichotomy.

    Returns
    -------
    dict of str to xarray.DataArray
        ``{"x0>0": bool DataArray (trial,), ...}``, ready for :func:`ccgp`.

    Raises
    ------
    TypeError
        If ``latents`` is not a DataArray.
    ValueError
        If ``latents`` does not have dims (trial, latent).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> lat = xr.DataArray([[0.2, -0.1], [-0.3, 0.4]], dims=("trial", "latent"),
    ...                    coords={"latent": ["x0", "x1"]})
    >>> {k: v.values.tolist() for k, v in sign_dichotomies(lat).items()}
    {'x0>0': [True, False], 'x1>0': [False, True]}
    """
    check_type("latents", latents, xr.DataArray, "an xarray.DataArray with dims ('trial', 'latent')")
    check_dims("latents", latents, ("trial", "latent"))
    threshold = check_real("threshold", threshold)
    names = latents["latent"].values if "latent" in latents.coords else range(latents.sizes["latent"])
    suffix = f">{threshold:g}"
    return {
        f"{name}{suffix}": xr.DataArray(latents.values[:, i] > threshold, dims=(TRIAL,))
        for i, name in enumerate(names)
    }


def ccgp(
    rates: xr.DataArray,
    dichotomies: Any = None,
    *,
    conditions: Labels | Mapping[str, Labels] | None = None,
    n_held_out: int = 1,
    splits: str = "matched",
    max_splits: int = 100,
    max_dichotomies: int = 100,
    classifier: str = "svm",
    C: float = 1.0,
    n_null: int = 100,
    null: str = "geometric",
    rng: Any = None,
) -> xr.Dataset:
    """Cross-condition generalization performance (CCGP) of every dichotomy.

    For each dichotomy, ``n_held_out`` conditions of each side are held out, a linear
    classifier (units z-scored on the training samples) is trained on the samples of
    the remaining conditions and tested on the held-out ones; the accuracy (averaged
    over held-out conditions, each weighted equally) is averaged over all ways of
    choosing the held-out conditions (a seeded subset of ``max_splits`` when more).

    Parameters
    ----------
    rates : xarray.DataArray, dims (trial and/or condition, [time], unit)
        Population rates; with a ``time`` dim the CCGP is computed at every step.
    dichotomies : str, sequence of str or mapping, optional
        Binary labels: coord names of ``rates``, or a mapping of name to labels (a coord
        name, a DataArray over the sample dims, or an array with one value per sample),
        e.g. :func:`sign_dichotomies` of the latents. Default: all balanced dichotomies
        of the conditions (a seeded subset of ``max_dichotomies`` when more).
    conditions : str, array, DataArray or mapping, optional
        Condition of every sample (labels, or a mapping of binary variables whose
        combinations are the conditions). Default: the ``condition`` dim when present,
        else the combinations of the dichotomies (e.g. the four quadrants).
    n_held_out : int
        Conditions held out per side (1 in the paper).
    splits : {"matched", "all"}
        ``"matched"`` (default): only choices whose held-out conditions pair up across
        the sides with equal values of every other given dichotomy, i.e. train on some
        levels of the other variables and test on the rest. ``"all"`` (the paper's
        procedure): every choice of held-out conditions. They differ on a 2 x 2 design
        such as the quadrant dichotomies ``x0>0``, ``x1>0`` of :func:`sign_dichotomies`:
        ``"all"`` also trains on diagonal pairs of quadrants, which differ in both
        variables, so even a perfectly factorised square scores 1 on the dichotomy with
        the larger coding vector and 0.5 on the other, while ``"matched"`` gives 1 for
        both. With three or more binary variables both reach 1 on a factorised
        geometry. Matching needs named variables: with the default ``dichotomies``
        (every balanced dichotomy) nothing is matched on and every choice is used
        (the ``config`` attr then records ``"splits": "all"``); a dichotomy with no matched choice
        (e.g. the XOR of two given dichotomies) raises ``ValueError``.
    max_splits, max_dichotomies : int
        Caps on the splits per dichotomy and on the default dichotomies.
    classifier : {"svm", "logistic"}
        scikit-learn ``LinearSVC`` or ``LogisticRegression`` (balanced class weights).
    C : float
        Inverse regularisation strength of the classifier.
    n_null : int
        Null draws (0: no null and no p-value).
    null : {"geometric", "shuffle"}
        Random discrete rotation of every condition's cloud (the paper's null for CCGP),
        or a permutation of the condition labels across samples.
    rng : int, Generator, SeedSequence or None
        Randomness for the subsets and the null.

    Returns
    -------
    xarray.Dataset
        ``ccgp`` (dichotomy, [time]); ``null`` (dichotomy, null, [time]) and ``p_value``
        (dichotomy, [time]) when ``n_null > 0``; ``side`` (dichotomy, condition);
        ``n_splits`` (dichotomy); provenance attrs.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray or ``dichotomies`` has the wrong type.
    ValueError
        If dims are missing, labels have the wrong length or are not binary, there are
        fewer than 2 conditions, or a side has too few conditions.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> x = rng.choice([-1.0, 1.0], size=(80, 2))
    >>> rates = xr.DataArray(x @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(80, 5)),
    ...                       dims=("trial", "unit"))
    >>> labels = {"a": x[:, 0] > 0, "b": x[:, 1] > 0}
    >>> ccgp(rates, labels, n_null=0, rng=0)["ccgp"].values
    array([1., 1.])
    """
    _check_classifier(classifier, C)
    _check_counts(n_null, max_dichotomies)
    n_held_out = check_int("n_held_out", n_held_out, minimum=1)
    check_in("splits", splits, ("matched", "all"))
    if dichotomies is None:  # no variables named to match the held-out conditions on
        splits = "all"
    max_splits = check_int("max_splits", max_splits, minimum=1)
    check_in("null", null, ("geometric", "shuffle"))
    generator = check_rng(rng)
    attrs = _provenance(
        "ccgp",
        {
            "n_held_out": n_held_out,
            "splits": splits,
            "max_splits": max_splits,
            "max_dichotomies": max_dichotomies,
            "classifier": classifier,
            "C": C,
            "n_null": n_null,
            "null": null,
        },
        rng,
        generator,
        null,
    )
    design_rng, split_rng, null_rng = _streams(generator, 3)
    design = make_design(rates, dichotomies, conditions, max_dichotomies, design_rng)
    held_out = _ccgp_splits(design, n_held_out, splits, max_splits, split_rng)
    score = _ccgp_kernel(design, design.cond_s, design.x_sxtxn, held_out, classifier, C)
    variables = {
        "ccgp": ((DICHOTOMY, TIME), score),
        "n_splits": ((DICHOTOMY,), np.array([len(s) for s in held_out])),
    }
    if n_null:
        n_conditions = design.labels.size
        null_dxixt = np.empty((score.shape[0], n_null, score.shape[1]))
        for i in range(n_null):
            if null == "geometric":
                x, cond = (
                    _rotate_conditions(design.x_sxtxn, design.cond_s, n_conditions, null_rng),
                    design.cond_s,
                )
            else:
                x, cond = design.x_sxtxn, null_rng.permutation(design.cond_s)
            null_dxixt[:, i] = _ccgp_kernel(design, cond, x, held_out, classifier, C)
        variables["null"] = ((DICHOTOMY, NULL, TIME), null_dxixt)
        variables["p_value"] = ((DICHOTOMY, TIME), _p_value(score, null_dxixt, axis=1))
    return _result(design, variables, attrs)


def parallelism_score(
    rates: xr.DataArray,
    dichotomies: Any = None,
    *,
    conditions: Labels | Mapping[str, Labels] | None = None,
    max_pairings: int = 1000,
    max_dichotomies: int = 100,
    n_null: int = 100,
    null: str = "geometric",
    rng: Any = None,
) -> xr.Dataset:
    """Parallelism score of the coding vectors of every dichotomy.

    Conditions of the two sides are paired one to one; each pair gives a coding vector
    (centroid of the second side minus centroid of the first); the mean cosine between
    the coding vectors of all pairs of pairs is maximised over the pairings (all of
    them, or a seeded subset of ``max_pairings``). A zero coding vector counts as
    orthogonal to every other.

    Parameters
    ----------
    rates : xarray.DataArray, dims (trial and/or condition, [time], unit)
        Population rates (vectorised over ``time`` when present).
    dichotomies, conditions
        As in :func:`ccgp`; both sides of every dichotomy must hold the same number
        (>= 2) of conditions.
    max_pairings, max_dichotomies : int
        Caps on the pairings per dichotomy and on the default dichotomies.
    n_null : int
        Null draws (0: no null and no p-value).
    null : {"geometric", "shuffle"}
        Random discrete rotation of each condition centroid about their mean (the
        paper's null), or a permutation of the condition labels across samples.
    rng : int, Generator, SeedSequence or None
        Randomness for the subsets and the null.

    Returns
    -------
    xarray.Dataset
        ``parallelism`` (dichotomy, [time]); ``null`` (dichotomy, null, [time]) and
        ``p_value`` when ``n_null > 0``; ``side`` (dichotomy, condition);
        ``n_pairings`` (dichotomy); provenance attrs.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray or ``dichotomies`` has the wrong type.
    ValueError
        If dims are missing, labels are malformed, or the sides are unequal or hold
        fewer than 2 conditions.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> corners = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    >>> rates = xr.DataArray(corners, dims=("condition", "unit"), coords={"condition": [0, 1, 2, 3]})
    >>> parallelism_score(rates, {"x0>0": corners[:, 0] > 0}, n_null=0)["parallelism"].values
    array([1.])
    """
    check_int("max_pairings", max_pairings, minimum=1)
    _check_counts(n_null, max_dichotomies)
    check_in("null", null, ("geometric", "shuffle"))
    generator = check_rng(rng)
    attrs = _provenance(
        "parallelism_score",
        {"max_pairings": max_pairings, "max_dichotomies": max_dichotomies, "n_null": n_null, "null": null},
        rng,
        generator,
        null,
    )
    design_rng, pairing_rng, null_rng = _streams(generator, 3)
    design = make_design(rates, dichotomies, conditions, max_dichotomies, design_rng)
    pairings = []
    for name, side_k in zip(design.names, design.sides_dxk, strict=True):
        k = int(side_k.sum())
        if k != side_k.size - k or k < 2:
            raise ValueError(
                f"dichotomies[{name!r}] must have equal sides of at least 2 conditions for the parallelism "
                f"score; got {k} and {side_k.size - k}"
            )
        pairings.append(_pairings(k, max_pairings, pairing_rng))
    n_conditions = design.labels.size
    centroids = _centroids(design.x_sxtxn, design.cond_s, n_conditions)
    score = _parallelism_kernel(centroids, design.sides_dxk, pairings)
    variables = {
        "parallelism": ((DICHOTOMY, TIME), score),
        "n_pairings": ((DICHOTOMY,), np.array([len(p) for p in pairings])),
    }
    if n_null:
        null_dxixt = np.empty((score.shape[0], n_null, score.shape[1]))
        conditions_k = np.arange(n_conditions)
        for i in range(n_null):
            if null == "geometric":  # permuting a cloud's units moves its centroid the same way
                moved = _rotate_conditions(centroids, conditions_k, n_conditions, null_rng)
            else:
                moved = _centroids(design.x_sxtxn, null_rng.permutation(design.cond_s), n_conditions)
            null_dxixt[:, i] = _parallelism_kernel(moved, design.sides_dxk, pairings)
        variables["null"] = ((DICHOTOMY, NULL, TIME), null_dxixt)
        variables["p_value"] = ((DICHOTOMY, TIME), _p_value(score, null_dxixt, axis=1))
    return _result(design, variables, attrs)


def shattering_dimensionality(
    rates: xr.DataArray,
    conditions: Labels | Mapping[str, Labels] | None = None,
    *,
    n_folds: int = 5,
    max_dichotomies: int = 100,
    classifier: str = "svm",
    C: float = 1.0,
    n_null: int = 100,
    rng: Any = None,
) -> xr.Dataset:
    """Shattering dimensionality: mean decoding accuracy over balanced dichotomies.

    Every balanced dichotomy of the conditions (a seeded subset of ``max_dichotomies``
    when more) is decoded by a linear classifier with ``n_folds``-fold cross-validation
    stratified by condition; accuracy is averaged over conditions, each weighted equally.
    The null permutes the condition labels across samples (the paper's null for
    decoding); folds are redrawn the same way for every null draw.

    Parameters
    ----------
    rates : xarray.DataArray, dims (trial and/or condition, [time], unit)
        Population rates; every condition needs at least ``n_folds`` samples.
    conditions : str, array, DataArray or mapping, optional
        As in :func:`ccgp`; default the ``condition`` dim.
    n_folds : int
        Cross-validation folds (>= 2).
    max_dichotomies : int
        Cap on the number of dichotomies.
    classifier : {"svm", "logistic"}
        scikit-learn ``LinearSVC`` or ``LogisticRegression``.
    C : float
        Inverse regularisation strength.
    n_null : int
        Label-shuffle null draws (0: no null and no p-value).
    rng : int, Generator, SeedSequence or None
        Randomness for the dichotomy subset, the folds and the null.

    Returns
    -------
    xarray.Dataset
        ``accuracy`` (dichotomy, [time]), ``shattering_dimensionality`` ([time]),
        ``side`` (dichotomy, condition); with ``n_null > 0`` also ``null`` (null, [time]),
        ``p_value`` ([time]), ``accuracy_null`` (dichotomy, null, [time]) and
        ``accuracy_p_value`` (dichotomy, [time]); provenance attrs.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray.
    ValueError
        If dims are missing, labels are malformed, there are fewer than 2 conditions, or
        a condition has fewer than ``n_folds`` samples.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> cond = np.repeat([0, 1, 2, 3], 10)
    >>> rates = xr.DataArray(3 * rng.normal(size=(4, 8))[cond] + rng.normal(size=(40, 8)),
    ...                       dims=("trial", "unit"), coords={"quadrant": ("trial", cond)})
    >>> sd = shattering_dimensionality(rates, "quadrant", n_folds=2, n_null=0, rng=0)
    >>> sd.sizes["dichotomy"], float(sd["shattering_dimensionality"])
    (3, 1.0)
    """
    _check_classifier(classifier, C)
    _check_counts(n_null, max_dichotomies)
    n_folds = check_int("n_folds", n_folds, minimum=2)
    generator = check_rng(rng)
    attrs = _provenance(
        "shattering_dimensionality",
        {
            "n_folds": n_folds,
            "max_dichotomies": max_dichotomies,
            "classifier": classifier,
            "C": C,
            "n_null": n_null,
        },
        rng,
        generator,
        "shuffle",
    )
    design_rng, fold_rng, null_rng = _streams(generator, 3)
    design = make_design(rates, None, conditions, max_dichotomies, design_rng)
    n_conditions = design.labels.size
    fewest = int(np.bincount(design.cond_s, minlength=n_conditions).min())
    if fewest < n_folds:
        raise ValueError(
            f"rates must have at least n_folds={n_folds} samples in every condition for cross-validation; "
            f"got {fewest}"
        )
    fold_seed = int(fold_rng.integers(2**31))
    args = (design.sides_dxk, n_conditions, n_folds, fold_seed, classifier, C)
    accuracy = _sd_kernel(design.x_sxtxn, design.cond_s, *args)
    variables = {
        "accuracy": ((DICHOTOMY, TIME), accuracy),
        "shattering_dimensionality": ((TIME,), accuracy.mean(axis=0)),
    }
    if n_null:
        null_dxixt = np.stack(
            [_sd_kernel(design.x_sxtxn, null_rng.permutation(design.cond_s), *args) for _ in range(n_null)],
            axis=1,
        )
        null_ixt = null_dxixt.mean(axis=0)
        variables.update(
            {
                "null": ((NULL, TIME), null_ixt),
                "p_value": ((TIME,), _p_value(accuracy.mean(axis=0), null_ixt, axis=0)),
                "accuracy_null": ((DICHOTOMY, NULL, TIME), null_dxixt),
                "accuracy_p_value": ((DICHOTOMY, TIME), _p_value(accuracy, null_dxixt, axis=1)),
            }
        )
    return _result(design, variables, attrs)
