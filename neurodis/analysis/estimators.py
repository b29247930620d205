"""The linear decoders as a scikit-learn estimator, and the out-of-distribution folds as
a scikit-learn splitter.

:class:`Decoder` fits the same decoders as :func:`~neurodis.analysis.decoding.fit_decoder`
(the same kernels, the same numbers) on plain arrays ``X`` (trials × units) and ``y``
(trials × latents), with ``fit``/``predict``/``score``; :class:`LeaveOneRegionOut` yields
the folds of :func:`~neurodis.analysis.decoding.fit_ood_decoders` (one held-out quadrant,
orthant or half-space each) as ``(train, test)`` index pairs. Together they run the
out-of-distribution test with scikit-learn's tools:

>>> from sklearn.model_selection import cross_val_score
>>> rng = np.random.default_rng(0)
>>> latents = rng.uniform(-0.5, 0.5, (400, 2))
>>> rates = latents @ rng.normal(size=(2, 8))
>>> cross_val_score(Decoder(), rates, latents, cv=LeaveOneRegionOut()).round(6)
array([1., 1., 1., 1.])

The splitter reads each trial's orthant from ``y``: a decoder's targets are the latents,
so ``y`` already says where every trial lies. To split by the latents while predicting
something else, build the splits once from the latents and pass the list as ``cv``.

scikit-learn is imported here at module level (the estimator subclasses its base
classes), so import this module only where it is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import check_is_fitted, validate_data

from neurodis._validation import check_array, check_in, check_rng, check_samples
from neurodis.analysis import _decoder_kernels as kernels
from neurodis.analysis._folds import FOLD_KINDS, fold_indices, make_folds
from neurodis.latents import orthant_of

__all__ = ["R2_CONVENTIONS", "Decoder", "LeaveOneRegionOut", "expected_failed_checks"]

#: What :meth:`Decoder.score` returns: ``"standard"`` is scikit-learn's r² (the
#: ``r2`` of :func:`~neurodis.analysis.decoding.fit_ood_decoders`), ``"paper"`` the
#: paper's ``1 - MSE / (1/12)`` (its ``r2_paper``).
R2_CONVENTIONS = ("standard", "paper")


class Decoder(RegressorMixin, BaseEstimator):
    """Linear decoder with bias from network rates to latents (a scikit-learn regressor).

    The estimator form of :func:`~neurodis.analysis.decoding.fit_decoder`: the same
    solvers give the same weights (``coef_`` is ``fit_decoder``'s ``weights``,
    ``intercept_`` its ``bias``) for the same data and seed.

    Parameters
    ----------
    method : {"lstsq", "ridge", "ridge_cv", "adam"}
        Closed-form least squares (minimum-norm), ridge with penalty ``alpha`` on the
        weights (not the bias), ridge with the penalty chosen by leaving one orthant of
        the training targets out at a time (the choice that suits extrapolation to an
        unseen region; needs targets in at least two orthants), or the authors' fit:
        Adam on minibatches (see :func:`~neurodis.analysis.decoding.fit_decoder_adam`).
    alpha : float, default 1.0
        Ridge penalty (> 0), used by ``"ridge"`` only.
    n_batches : int, default 2000
        Adam steps (``"adam"`` only).
    batch_size : int, default 16
        Trials per Adam step, drawn with replacement (``"adam"`` only).
    lr : float, default 3e-3
        Adam's learning rate (``"adam"`` only).
    r2_convention : {"standard", "paper"}, default "standard"
        What :meth:`score` returns: the standard r² (``1 - SSE/SST`` per latent,
        averaged; what scikit-learn's ``cross_val_score`` expects of a regressor), or
        the paper's ``1 - MSE / (1/12)`` (MSE over latents and trials; 1/12 is the
        variance of a latent uniform on [-0.5, 0.5]).
    random_state : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Randomness of the Adam fit (initial weights and minibatches). An int gives the
        same fit on every call; a Generator is advanced by each fit.

    Attributes
    ----------
    coef_ : ndarray, shape (n_latents, n_units), or (n_units,) for 1-D ``y``
        Decoder weights.
    intercept_ : ndarray, shape (n_latents,), or float for 1-D ``y``
        Decoder bias.
    alpha_ : float
        The ridge penalty used: 0 for ``"lstsq"``, ``alpha`` for ``"ridge"``, the chosen
        (absolute) penalty for ``"ridge_cv"``, NaN for ``"adam"``.
    n_features_in_ : int
        Number of units seen in ``fit``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> latents = rng.uniform(-0.5, 0.5, (50, 2))
    >>> rates = latents @ np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]) + 0.3
    >>> decoder = Decoder().fit(rates, latents)
    >>> decoder.coef_.shape, round(decoder.score(rates, latents), 6)
    ((2, 3), 1.0)
    >>> Decoder("ridge_cv").fit(rates, latents).alpha_ > 0
    True
    """

    def __init__(
        self,
        method: str = "lstsq",
        *,
        alpha: float = 1.0,
        n_batches: int = 2000,
        batch_size: int = 16,
        lr: float = 3e-3,
        r2_convention: str = "standard",
        random_state: Any = None,
    ) -> None:
        self.method = method
        self.alpha = alpha
        self.n_batches = n_batches
        self.batch_size = batch_size
        self.lr = lr
        self.r2_convention = r2_convention
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Decoder:
        """Fit the decoder on all given trials.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_units)
            Rates.
        y : array-like, shape (n_trials, n_latents) or (n_trials,)
            Latents.

        Returns
        -------
        Decoder
            ``self``, fitted.

        Raises
        ------
        TypeError, ValueError
            For a bad hyperparameter (named, with what arrived), non-numeric,
            non-finite, sparse or mis-shaped data, fewer than 2 trials, rates or
            latents that are the same in every trial, or (``"ridge_cv"``) latents from a
            single orthant.
        """
        solver, rng = self._check_params()
        x_nxu, y_nxd = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64,
                                     ensure_min_samples=2)
        one_d = y_nxd.ndim == 1
        y_nxd = np.asarray(y_nxd, dtype=np.float64).reshape(len(y_nxd), -1)
        # the same refusals as fit_decoder: constant data has nothing to decode
        check_samples("X", x_nxu, samples="trials")
        check_samples("y", y_nxd, samples="trials")
        w_1xuxd, b_1xd, alpha_1 = solver.fit(np.ascontiguousarray(x_nxu)[None], y_nxd, rng)
        self.coef_ = w_1xuxd[0, :, 0] if one_d else w_1xuxd[0].T.copy()
        self.intercept_ = float(b_1xd[0, 0]) if one_d else b_1xd[0]
        self.alpha_ = float(alpha_1[0])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Decoded latents ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_units)

        Returns
        -------
        ndarray, shape (n_trials, n_latents), or (n_trials,) after a 1-D ``y``

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If ``X`` has another number of units than in ``fit``, or non-finite values.
        """
        check_is_fitted(self)
        x_nxu = validate_data(self, X, dtype=np.float64, reset=False)
        w_uxd = self.coef_.reshape(-1, x_nxu.shape[1]).T
        pred_nxd = kernels.predict(x_nxu[None], w_uxd[None], np.reshape(self.intercept_, (1, -1)))[0]
        return pred_nxd[:, 0] if np.ndim(self.coef_) == 1 else pred_nxd

    def score(self, X: Any, y: Any) -> float:
        """r² of the decoded latents, in the convention ``r2_convention`` names.

        The numbers are those of :func:`~neurodis.analysis.decoding.fit_ood_decoders`
        (same formulas, same arithmetic): ``"standard"`` gives its ``r2`` (equal to
        ``sklearn.metrics.r2_score`` up to rounding), ``"paper"`` its ``r2_paper``.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_units)
        y : array-like, shape (n_trials, n_latents) or (n_trials,)

        Returns
        -------
        float
            NaN or -inf under ``"standard"`` when a latent is the same in every trial.

        Raises
        ------
        ValueError
            For a bad ``r2_convention``, or ``y`` whose shape does not match the
            predictions.
        """
        check_in("r2_convention", self.r2_convention, R2_CONVENTIONS)
        pred_nxd = self.predict(X)
        y_nxd = check_array("y", y, dtype=np.float64)
        if y_nxd.shape != pred_nxd.shape:
            raise ValueError(f"y must have shape {pred_nxd.shape} to match the predictions; got shape {y_nxd.shape}")
        _, r2_paper_1, r2_1 = kernels.scores(pred_nxd.reshape(len(y_nxd), -1)[None], y_nxd.reshape(len(y_nxd), -1))
        return float(r2_paper_1[0] if self.r2_convention == "paper" else r2_1[0])

    def _check_params(self) -> tuple[kernels.Solver, np.random.Generator]:
        """The hyperparameters, checked with the wording of every neurodis argument: the
        solver they describe and the generator of ``random_state``."""
        solver = kernels.Solver(self.method, self.alpha, self.n_batches, self.batch_size, self.lr)
        check_in("r2_convention", self.r2_convention, R2_CONVENTIONS)
        return solver, check_rng(self.random_state, "random_state")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output per latent
        tags.target_tags.single_output = True
        return tags


def expected_failed_checks(decoder: Decoder) -> dict[str, str]:
    """The checks of ``sklearn.utils.estimator_checks`` that ``decoder`` fails by design.

    Pass it as ``expected_failed_checks`` to ``check_estimator`` or
    ``parametrize_with_checks``. Every other check passes for every method.

    Examples
    --------
    >>> sorted(expected_failed_checks(Decoder("lstsq")))
    []
    """
    if decoder.method != "ridge_cv":
        return {}
    why = ("ridge_cv chooses its penalty by leaving one orthant of the targets out; this check's "
           "targets all lie in one orthant (e.g. non-negative labels), so it refuses them")
    return {name: why for name in _SINGLE_ORTHANT_CHECKS}


#: Checks (scikit-learn 1.9) that fit on non-negative targets (e.g. integer labels or
#: ``X[:, 0]`` of uniform data), found by running the suite on ``Decoder("ridge_cv")``;
#: every other check passes for it, and the generic contract these exercise is the same
#: code path that passes them for the other methods.
_SINGLE_ORTHANT_CHECKS = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_regressors_int",
    "check_supervised_y_2d",
)


class LeaveOneRegionOut(BaseCrossValidator):
    """Out-of-distribution folds: each holds out one region of the latent box.

    Yields the same folds, in the same order and with the same trials, as
    :func:`~neurodis.analysis.decoding.fit_ood_decoders` (true held-out evaluation):
    a fold trains on every trial outside its held-out region and tests on every trial
    inside it. Orthant codes follow :mod:`neurodis.tasks.latents` (a coordinate exactly
    0 counts as positive).

    Parameters
    ----------
    folds : {"quadrant", "orthant", "halfspace"}, default "quadrant"
        Four folds ``Q1 … Q4`` (two latents only), ``2**D`` folds of one orthant each,
        or ``2 D`` folds of one half-space each (training on the opposite one).

    Notes
    -----
    Each trial's region is read from ``y``, the latents (the decoder's targets); so
    ``split`` needs ``y`` and ignores ``groups``. The fold names are
    ``[f.name for f in make_folds(folds, n_latents)]``.

    Examples
    --------
    >>> latents = np.array([[0.1, 0.2], [-0.1, 0.2], [-0.3, -0.4], [0.3, -0.4]])
    >>> [test.tolist() for _, test in LeaveOneRegionOut().split(latents, latents)]
    [[0], [1], [2], [3]]
    >>> LeaveOneRegionOut("halfspace").get_n_splits(y=latents)
    4
    """

    def __init__(self, folds: str = "quadrant") -> None:
        self.folds = folds

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds (``y`` gives the number of latents, needed unless ``folds="quadrant"``).

        Raises
        ------
        ValueError
            For an unknown ``folds``, or ``y`` missing where it is needed.
        """
        check_in("folds", self.folds, FOLD_KINDS)
        if self.folds == "quadrant":
            return 4
        return len(make_folds(self.folds, self._latents(y).shape[1]))

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Training and test trial indices of every fold.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_units)
            Only its length is used (checked against ``y``).
        y : array-like, shape (n_trials, n_latents) or (n_trials,)
            The latents of the trials.
        groups : ignored
            Present for scikit-learn's splitter interface.

        Yields
        ------
        train, test : ndarray of int
            Sorted trial indices.

        Raises
        ------
        ValueError
            For an unknown ``folds``, ``y`` missing, non-finite or of another length
            than ``X``, quadrant folds with fewer than 2 latents, or a fold with no
            training or no test trials.
        """
        check_in("folds", self.folds, FOLD_KINDS)
        latents = self._latents(y)
        check_consistent_length(X, latents)
        codes = orthant_of(latents)
        fold_set = make_folds(self.folds, latents.shape[1])
        pairs = [fold_indices(codes, fold) for fold in fold_set]
        for fold, (train, test) in zip(fold_set, pairs, strict=True):
            if train.size == 0 or test.size == 0:
                raise ValueError(
                    f"y must have trials inside and outside the held-out region of every fold; fold "
                    f"{fold.name!r} has {train.size} training and {test.size} test trials"
                )
        yield from pairs

    @staticmethod
    def _latents(y: Any) -> np.ndarray:
        if y is None:
            raise ValueError("y must be the latents (n_trials, n_latents), which say where each trial lies; got None")
        latents = check_array("y", y, dtype=np.float64)
        if latents.ndim not in (1, 2):
            raise ValueError(f"y must have shape (n_trials, n_latents) or (n_trials,); got shape {latents.shape}")
        return latents.reshape(len(latents), -1)
