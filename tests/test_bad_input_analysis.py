"""Malformed calls to the analyses and plots: each must raise ValueError or TypeError naming the argument.

The table format and the check are those of ``test_bad_input.py``. Degenerate input to
the similarity metrics (a constant representation, one sample, one condition) gets
one wording from :func:`neurodis._validation.check_samples` in every metric.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import xarray as xr

import neurodis
from neurodis import analysis as A
from neurodis import experiments as EXP
from neurodis import plotting as P
from neurodis.analysis import similarity as S
from neurodis.models import make_model
from tests.test_bad_input import Case, bad_int_cases, check_case

matplotlib.use("Agg")

V, E = ValueError, TypeError
_rng = np.random.default_rng(0)

TASK = neurodis.make_task("classification", n_tasks=3)
FLIP = neurodis.make_task("flipflop", n_bits=2)
MODEL = make_model("ctrnn", n_inputs=3, n_outputs=3, n_units=4)
NET = EXP.TrainedNetwork(MODEL, TASK, None)
PULSE_NET = EXP.TrainedNetwork(make_model("ctrnn", n_inputs=2, n_outputs=1, n_units=4),
                               neurodis.make_task("pulses", n_pulses=3), None)
X = xr.DataArray(_rng.normal(size=(6, 3)), dims=("condition", "unit"))
Y = xr.DataArray(_rng.normal(size=(6, 4)), dims=("condition", "unit"))
CONST = xr.DataArray(np.ones((6, 3)), dims=("condition", "unit"))
ZEROS = xr.DataArray(np.zeros((6, 4)), dims=("condition", "unit"))
ONE = X[:1]
TWO = X[:2]
TRAJ = xr.DataArray(np.cumsum(_rng.normal(size=(3, 12, 2)), axis=1), dims=("condition", "time", "unit"))
TRAJ_CONST = xr.DataArray(np.full((3, 12, 2), 0.3), dims=("condition", "time", "unit"))
STATES = xr.DataArray(_rng.normal(size=(40, 4)), dims=("trial", "unit"))
STATES_T = xr.DataArray(_rng.normal(size=(40, 3, 4)), dims=("trial", "time", "unit"))
LAT = xr.DataArray(_rng.uniform(-0.5, 0.5, (40, 2)), dims=("trial", "latent"), coords={"latent": ["x0", "x1"]})
CONST_STATES = xr.DataArray(np.ones((40, 4)), dims=("trial", "unit"))
RATES = xr.DataArray(np.abs(_rng.normal(size=(5, 3, 4))), dims=("trial", "time", "unit"))
PULSES = xr.DataArray(_rng.choice([-1.0, 1.0], size=(30, 3)), dims=("trial", "pulse"))
CHOICES = xr.DataArray((_rng.random(30) > 0.5).astype(float), dims=("trial",))
DECODER = A.fit_decoder(STATES, LAT)
NULL = S.linear_cka(X, X, n_shuffles=3, rng=0)


def _metric_cases(name: str, metric, x=X, y=X, const=CONST, **extra) -> list[Case]:
    """The malformed calls every similarity metric must refuse in the same words."""
    return [
        (f"{name}-x-ndarray", lambda: metric(x.values, y, **extra), E, "x must be an xarray.DataArray"),
        (f"{name}-y-list", lambda: metric(x, [1, 2], **extra), E, "y must be an xarray.DataArray"),
        (f"{name}-x-no-unit", lambda: metric(x.rename(unit="neuron"), y, **extra), V, "x must have a 'unit' dim"),
        (f"{name}-y-only-unit", lambda: metric(x, y.isel({d: 0 for d in y.dims if d != "unit"}), **extra), V,
         "y must have at least one sample dim"),
        (f"{name}-x-nan", lambda: metric(x.where(x > 10), y, **extra), V, "x must be finite"),
        (f"{name}-x-constant", lambda: metric(const, y, null=None, **extra), V,
         "x must vary across samples; got .* all equal"),
        (f"{name}-y-constant", lambda: metric(x, const, null=None, **extra), V,
         "y must vary across samples; got .* all equal"),
        (f"{name}-x-zeros", lambda: metric(const * 0.0, y, null=None, **extra), V, "x must vary across samples"),
        (f"{name}-sizes-differ", lambda: metric(x, y.isel({y.dims[0]: slice(0, 2)}), **extra), V,
         "x and y must have the same size along"),
        (f"{name}-dims-differ", lambda: metric(x, y.rename({y.dims[0]: "stimulus"}), **extra), V,
         "x and y must have the same sample dims"),
        (f"{name}-n_shuffles-zero", lambda: metric(x, y, n_shuffles=0, **extra), V, "n_shuffles must be an integer"),
        (f"{name}-n_shuffles-float", lambda: metric(x, y, n_shuffles=2.5, **extra), E, "n_shuffles must be an integer"),
        (f"{name}-null-unknown", lambda: metric(x, y, null="permute", **extra), V, "null must be 'shuffle'"),
        (f"{name}-null-dataarray", lambda: metric(x, y, null=x, **extra), E, "null must be 'shuffle'"),
        (f"{name}-null-empty", lambda: metric(x, y, null=[], **extra), E, "null must be 'shuffle'"),
        (f"{name}-null-constant-member", lambda: metric(x, y, null=[const], **extra), V,
         r"null\[0\] must vary across samples"),
        (f"{name}-shuffle_dim-unknown", lambda: metric(x, y, shuffle_dim="trial", n_shuffles=2, **extra), V,
         "shuffle_dim must be one of the sample dims"),
        (f"{name}-rng-str", lambda: metric(x, y, rng="seed", **extra), E, "rng must be"),
    ]


CASES: list[Case] = [
    # ---------------------------------------------------------------- similarity: shared contract
    *_metric_cases("linear_cka", S.linear_cka),
    *_metric_cases("shape_distance", S.shape_distance),
    *_metric_cases("procrustes_distance", S.procrustes_distance),
    *_metric_cases("cca", S.cca),
    *_metric_cases("svcca", S.svcca),
    *_metric_cases("rsa", S.rsa, distance="euclidean"),
    *_metric_cases("ridge_predictivity", S.ridge_predictivity, n_folds=2),
    *_metric_cases("spectral_dsa", S.spectral_dsa, x=TRAJ, y=TRAJ, const=TRAJ_CONST),
    *_metric_cases("dsa", S.dsa, x=TRAJ, y=TRAJ, const=TRAJ_CONST),
    # one sample, one condition, too few samples
    ("linear_cka-one-sample", lambda: S.linear_cka(ONE, ONE, null=None), V, "x must have at least 2 samples; got 1"),
    ("linear_cka-debiased-three", lambda: S.linear_cka(X[:3], X[:3], debiased=True, null=None), V,
     "x must have at least 4 samples; got 3"),
    ("shape_distance-one-sample", lambda: S.shape_distance(ONE, ONE, null=None), V, "x must have at least 2 samples"),
    ("procrustes-one-sample", lambda: S.procrustes_distance(ONE, ONE, null=None), V, "x must have at least 2 samples"),
    ("cca-one-sample", lambda: S.cca(ONE, ONE, null=None), V, "x must have at least 2 samples"),
    ("rsa-one-condition", lambda: S.rsa(ONE, ONE, null=None), V, "x must have at least 2 samples; got 1"),
    ("rsa-two-conditions", lambda: S.rsa(TWO, TWO, null=None), V, r"x must have at least 3 RDM entries \(item pairs\)"),
    ("rsa-one-condition-shuffle", lambda: S.rsa(ONE, ONE), V, "x must have at least 2 samples"),
    ("spectral_dsa-one-condition-constant", lambda: S.spectral_dsa(TRAJ_CONST[:1], TRAJ[:1], null=None), V,
     "x must vary across samples"),
    ("dsa-one-condition-constant", lambda: S.dsa(TRAJ_CONST[:1], TRAJ[:1], null=None), V,
     "x must vary across samples"),
    ("ridge_predictivity-one-sample", lambda: S.ridge_predictivity(ONE, ONE, null=None), V, "n_folds must be <="),
    ("shuffle-dim-single-entry", lambda: S.linear_cka(TRAJ[:1], TRAJ[:1], shuffle_dim="condition"), V,
     "shuffle_dim 'condition' must have at least 2 entries"),
    # metric parameters
    ("shape_distance-alpha-above-1", lambda: S.shape_distance(X, X, alpha=1.5), V, "alpha must be <= 1.0"),
    ("shape_distance-alpha-str", lambda: S.shape_distance(X, X, alpha="1"), E, "alpha must be a real number"),
    ("shape_distance-alpha-nan", lambda: S.shape_distance(X, X, alpha=float("nan")), V, "alpha must be a finite"),
    ("cca-n_components-zero", lambda: S.cca(X, X, n_components=0), V, "n_components must be an integer >= 1"),
    ("cca-n_components-float", lambda: S.cca(X, X, n_components=1.0), E, "n_components must be an integer"),
    ("svcca-keep-zero", lambda: S.svcca(X, X, keep=0.0), V, "keep must be > 0.0"),
    ("svcca-keep-above-1", lambda: S.svcca(X, X, keep=1.5), V, "keep must be <= 1.0"),
    ("svcca-keep-int-zero", lambda: S.svcca(X, X, keep=0), V, "keep must be an integer >= 1"),
    ("svcca-keep-str", lambda: S.svcca(X, X, keep="all"), E, "keep must be a real number"),
    ("rsa-distance-unknown", lambda: S.rsa(X, X, distance="cosine"), V, "distance must be one of"),
    ("rsa-compare-unknown", lambda: S.rsa(X, X, compare="pearson"), V, "compare must be one of"),
    ("rsa-n_folds-one", lambda: S.rsa(X, X, n_folds=1), V, "n_folds must be an integer >= 2"),
    ("rsa-by-unknown", lambda: S.rsa(X, X, by="stimulus"), V, "by must name a coord along 'trial'"),
    ("rsa-cv-without-trials", lambda: S.rsa(X, X, distance="cv_euclidean"), V, "x needs at least n_folds=2 trials"),
    ("rsa-correlation-flat-item", lambda: S.rsa(X.copy(data=np.c_[np.ones(6), np.ones(6), np.arange(6.0)]).T
                                                .rename(condition="unit", unit="condition"), X[:, :3].T
                                                .rename(condition="unit", unit="condition"), null=None), V,
     "has the same value in every unit"),
    ("rdm-one-item", lambda: S.rdm(ONE), V, "x must have at least 2 items; got 1"),
    ("rdm-ndarray", lambda: S.rdm(X.values), E, "x must be a DataArray with a 'unit' dim"),
    ("rdm-distance-unknown", lambda: S.rdm(X, distance="cosine"), V, "distance must be one of"),
    ("spectral_dsa-no-time", lambda: S.spectral_dsa(X, X, null=None), V, "x and y must have a 'time' dim"),
    ("spectral_dsa-n_delays-zero", lambda: S.spectral_dsa(TRAJ, TRAJ, n_delays=0), V,
     "n_delays must be an integer >= 1"),
    ("spectral_dsa-rank-zero", lambda: S.spectral_dsa(TRAJ, TRAJ, rank=0), V, "rank must be an integer >= 1"),
    ("spectral_dsa-n_delays-too-many", lambda: S.spectral_dsa(TRAJ, TRAJ, n_delays=12, null=None), V,
     "time must have at least"),
    ("spectral_dsa-rank-too-large", lambda: S.spectral_dsa(TRAJ, TRAJ, rank=5, null=None), V,
     "rank must be an integer in"),
    ("dsa-no-time", lambda: S.dsa(X, X, null=None), V, "x and y must have a 'time' dim"),
    ("dsa-n_delays-zero", lambda: S.dsa(TRAJ, TRAJ, n_delays=0), V, "n_delays must be an integer >= 1"),
    ("dsa-rank-zero", lambda: S.dsa(TRAJ, TRAJ, rank=0), V, "rank must be an integer in"),
    ("dsa-rank-str", lambda: S.dsa(TRAJ, TRAJ, rank="all"), E, "rank must be an integer"),
    ("dsa-n_delays-too-many", lambda: S.dsa(TRAJ, TRAJ, n_delays=12, null=None), V, "time must have at least"),
    ("dsa-rank-too-large", lambda: S.dsa(TRAJ, TRAJ, rank=5, null=None), V, "rank must be an integer in"),
    ("dsa-rank-fraction-zero", lambda: S.dsa(TRAJ, TRAJ, rank=0.0, null=None), V, "rank must be > 0.0"),
    ("dsa-n_restarts-zero", lambda: S.dsa(TRAJ, TRAJ, n_restarts=0), V, "n_restarts must be an integer >= 1"),
    ("dsa-ridge-negative", lambda: S.dsa(TRAJ, TRAJ, ridge=-1.0), V, "ridge must be >= 0.0"),
    ("select_dmd-ndarray", lambda: S.select_dmd(TRAJ.values), E, "x must be an xarray.DataArray"),
    ("select_dmd-no-time", lambda: S.select_dmd(X), V, "x must have 'time' and 'unit' dims"),
    ("select_dmd-test_fraction-zero", lambda: S.select_dmd(TRAJ, test_fraction=0.0), V, "test_fraction must be > 0.0"),
    ("select_dmd-n_delays-zero", lambda: S.select_dmd(TRAJ, n_delays=[0]), V, "n_delays must be an integer >= 1"),
    ("select_dmd-ranks-empty", lambda: S.select_dmd(TRAJ, ranks=[]), V, "n_delays and ranks must be non-empty"),
    ("ridge_predictivity-alphas-negative", lambda: S.ridge_predictivity(X, X, alphas=[-1.0]), V,
     "alphas must be a non-empty sequence of positive"),
    ("ridge_predictivity-alphas-empty", lambda: S.ridge_predictivity(X, X, alphas=[]), V, "alphas must be"),
    ("ridge_predictivity-alphas-str", lambda: S.ridge_predictivity(X, X, alphas="auto"), E, "alphas must be"),
    ("ridge_predictivity-n_folds-one", lambda: S.ridge_predictivity(X, X, n_folds=1), V, "n_folds must be"),
    ("ridge_predictivity-n_folds-too-many", lambda: S.ridge_predictivity(X, X, n_folds=7), V, "n_folds must be <="),
    ("ridge_predictivity-cv_dim-unknown", lambda: S.ridge_predictivity(X, X, cv_dim="trial"), V,
     "cv_dim must be one of the sample dims"),
    # plain-array kernels
    ("linear_cka_arrays-constant", lambda: S.linear_cka_arrays(np.ones((5, 2)), X.values[:5]), V,
     "x must vary across samples"),
    ("linear_cka_arrays-one-sample", lambda: S.linear_cka_arrays(X.values[:1], X.values[:1]), V,
     "x must have at least 2 samples"),
    ("linear_cka_arrays-samples-differ", lambda: S.linear_cka_arrays(X.values, X.values[:5]), V,
     "x and y must have the same number of samples"),
    ("shape_distance_arrays-constant", lambda: S.shape_distance_arrays(X.values, np.zeros((6, 2))), V,
     "y must vary across samples"),
    ("shape_distance_arrays-alpha", lambda: S.shape_distance_arrays(X.values, X.values, alpha=-0.1), V, "alpha"),
    ("canonical_correlations-constant", lambda: S.canonical_correlations(np.ones((6, 2)), X.values), V,
     "x must vary across samples"),
    ("canonical_correlations-keep", lambda: S.canonical_correlations(X.values, X.values, keep=2.5), V, "keep"),
    ("dmd_eigenvalues-short", lambda: S.dmd_eigenvalues(np.zeros((2, 1, 3))), V, "time must have at least"),
    ("dmd_eigenvalues-few-pairs", lambda: S.dmd_eigenvalues(TRAJ.values[:1, :3]), V,
     "the DMD fit needs more snapshot pairs"),
    ("spectral_distance-sizes", lambda: S.spectral_distance(np.ones(2), np.ones(3)), V,
     "eigenvalue sets must have the same size"),
    ("kendall_tau_a-lengths", lambda: S.kendall_tau_a([1, 2, 3], [1, 2]), V, "a and b must be 1-D"),
    ("kendall_tau_a-short", lambda: S.kendall_tau_a([1], [1]), V, "a and b must be 1-D of the same length >= 2"),
    ("shuffle_along-dim-unknown", lambda: S.shuffle_along(X, "trial"), V, "dim must be one of the dims"),
    ("split_half-no-trial", lambda: S.split_half_reliability(X), V, "y must be a DataArray with dims 'trial'"),
    ("split_half-one-trial", lambda: S.split_half_reliability(
        xr.DataArray(np.zeros((3, 1, 2)), dims=("condition", "trial", "unit"))), V, "y must have at least 2 trials"),
    ("split_half-n_splits-zero", lambda: S.split_half_reliability(X, n_splits=0), V, "n_splits must be"),
    ("align_pair-coords-disagree", lambda: S.align_pair(X.assign_coords(condition=np.arange(6)),
                                                        X.assign_coords(condition=np.arange(6)[::-1])), V,
     "x and y must agree on coord 'condition'"),
    ("align_pair-complex", lambda: S.align_pair(X * 1j, X), E, "x must hold real numbers"),
    # ---------------------------------------------------------------- decoding
    ("fit_decoder-states-ndarray", lambda: A.fit_decoder(STATES.values, LAT), E, "rates must be an xarray"),
    ("fit_decoder-states-dims", lambda: A.fit_decoder(STATES.rename(unit="neuron"), LAT), V, "rates must have dims"),
    ("fit_decoder-states-nan", lambda: A.fit_decoder(STATES.where(STATES > 10), LAT), V, "rates must be finite"),
    ("fit_decoder-states-constant", lambda: A.fit_decoder(CONST_STATES, LAT), V,
     "rates must vary across trials; got 40 trials that are all equal"),
    ("fit_decoder-states-constant-every-step", lambda: A.fit_decoder(
        xr.DataArray(np.ones((40, 3, 4)), dims=("trial", "time", "unit")), LAT), V, "rates must vary across trials"),
    ("fit_decoder-latents-constant", lambda: A.fit_decoder(STATES, LAT * 0.0 + 0.2), V,
     "latents must vary across trials"),
    ("fit_decoder-one-trial", lambda: A.fit_decoder(STATES[:1], LAT[:1]), V, "rates must have at least 2 trials"),
    ("fit_decoder-latents-trials", lambda: A.fit_decoder(STATES, LAT[:10]), V, "latents"),
    ("fit_decoder-latents-ndarray", lambda: A.fit_decoder(STATES, LAT.values), E, "latents"),
    ("fit_decoder-method-unknown", lambda: A.fit_decoder(STATES, LAT, method="svd"), V, "method must be one of"),
    ("fit_decoder-ridge-alpha-zero", lambda: A.fit_decoder(STATES, LAT, method="ridge", alpha=0.0), V,
     "alpha must be > 0"),
    ("fit_decoder-alpha-negative", lambda: A.fit_decoder(STATES, LAT, alpha=-1.0), V, "alpha must be >= 0"),
    ("fit_decoder-lr-zero", lambda: A.fit_decoder(STATES, LAT, lr=0.0), V, "lr must be > 0"),
    *bad_int_cases("fit_decoder", lambda v: A.fit_decoder(STATES, LAT, n_batches=v), "n_batches"),
    *bad_int_cases("fit_decoder", lambda v: A.fit_decoder(STATES, LAT, batch_size=v), "batch_size"),
    ("fit_decoder_adam-rng-str", lambda: A.fit_decoder_adam(STATES, LAT, n_batches=1, rng="x"), E, "rng must be"),
    ("decode-decoder-ndarray", lambda: A.decode(np.zeros(3), STATES), E, "decoder must be a Dataset"),
    ("decode-decoder-incomplete", lambda: A.decode(DECODER.drop_vars("bias"), STATES), V,
     "decoder must contain 'weights' and 'bias'"),
    ("decode-units-mismatch", lambda: A.decode(DECODER, STATES[:, :3]), V, "rates must have 4 units"),
    ("fit_ood_decoders-folds-unknown", lambda: A.fit_ood_decoders(STATES, LAT, folds="octant"), V, "folds"),
    ("fit_ood_decoders-evaluation-unknown", lambda: A.fit_ood_decoders(STATES, LAT, evaluation="all"), V,
     "evaluation"),
    ("fit_ood_decoders-quadrant-1d", lambda: A.fit_ood_decoders(STATES, LAT.isel(latent=[0])), V, "quadrant"),
    ("fit_ood_decoders-id_splits-one", lambda: A.fit_ood_decoders(STATES, LAT, id_splits=1), V, "id_splits"),
    ("fit_ood_decoders-min_trials-one", lambda: A.fit_ood_decoders(STATES, LAT, min_trials_per_fold=1), V,
     "min_trials_per_fold"),
    ("fit_ood_decoders-too-few-trials", lambda: A.fit_ood_decoders(STATES, LAT, min_trials_per_fold=30), V,
     "min_trials_per_fold|fewer than"),
    ("fit_ood_decoders-splits-list", lambda: A.fit_ood_decoders(STATES, LAT, splits=[1]), E, "splits"),
    ("fit_ood_decoders-constant-states", lambda: A.fit_ood_decoders(CONST_STATES, LAT), V,
     "rates must vary across trials"),
    ("make_folds-unknown", lambda: A.make_folds("octant"), V, "folds must be one of"),
    ("make_folds-n_dims-zero", lambda: A.make_folds("orthant", 0), V, "n_dims"),
    ("make_folds-quadrant-1d", lambda: A.make_folds("quadrant", 1), V, "quadrant"),
    ("make_folds-evaluation-unknown", lambda: A.make_folds(evaluation="all"), V, "evaluation must be one of"),
    ("heldout_mask-fold-str", lambda: A.heldout_mask(LAT, "q1"), E, "fold"),
    ("region_mask-orthant-out-of-range", lambda: A.region_mask(LAT, [4]), V, "orthants"),
    ("region_mask-latents-ndarray", lambda: A.region_mask(LAT.values, [0]), E, "latents"),
    ("ood_generalization-flipflop",
     lambda: EXP.ood_generalization(EXP.TrainedNetwork(MODEL, FLIP, None), n_trials=10, n_test=10), V,
     "task must have continuous latents .* got task 'flipflop'"),
    ("ood_generalization-pulses",
     lambda: EXP.ood_generalization(EXP.TrainedNetwork(MODEL, neurodis.make_task("pulses"), None)), V,
     "task must have continuous latents"),
    ("ood_generalization-network-model", lambda: EXP.ood_generalization(MODEL), E, "network must be a TrainedNetwork"),
    ("ood_generalization-model-str", lambda: EXP.ood_generalization(EXP.TrainedNetwork("net", TASK, None)), E,
     "network.model must be a torch"),
    ("ood_generalization-task-str",
     lambda: EXP.ood_generalization(EXP.TrainedNetwork(MODEL, "classification", None)), E,
     "network.task must be"),
    *bad_int_cases("ood_generalization", lambda v: EXP.ood_generalization(NET, n_trials=v), "n_trials"),
    ("ood_generalization-n_test-zero", lambda: EXP.ood_generalization(NET, n_test=0), V, "n_test"),
    ("ood_generalization-n_trials-huge", lambda: EXP.ood_generalization(NET, n_trials=10**14), V,
     "n_trials=.* would need"),
    ("ood_generalization-time-unknown", lambda: EXP.ood_generalization(NET, n_trials=8, n_test=8, time="end"), V,
     "time must be one of"),
    ("ood_generalization-time-out-of-range", lambda: EXP.ood_generalization(NET, n_trials=8, n_test=8, time=99), V,
     "time must be an integer in"),
    ("ood_generalization-encoder-str",
     lambda: EXP.ood_generalization(EXP.TrainedNetwork(MODEL, TASK, "relu"), n_trials=8, n_test=8), E, "encoder"),
    ("regression_rates-flipflop",
     lambda: EXP.regression_rates(EXP.TrainedNetwork(MODEL, FLIP, None), n_trials=8), V,
     "task must have continuous latents"),
    ("regression_rates-n_trials-zero", lambda: EXP.regression_rates(NET, n_trials=0), V, "n_trials"),
    ("regression_rates-n_trials-huge", lambda: EXP.regression_rates(NET, n_trials=10**14), V,
     "n_trials=.* would need"),
    ("regression_rates-batch_size-zero", lambda: EXP.regression_rates(NET, n_trials=8, batch_size=0), V,
     "batch_size"),
    ("generalization-decoders-unknown", lambda: EXP.generalization(NET, decoders=("lstsq", "svm")), V,
     "decoders must be one of"),
    ("generalization-n_trials-zero", lambda: EXP.generalization(NET, n_trials=0), V, "n_trials"),
    ("run-trials-ndarray", lambda: EXP.run(NET, np.zeros((2, 3, 3))), E, "trials must be an xarray.Dataset"),
    ("run-time-out-of-range", lambda: EXP.run(NET, TASK.sample(2, rng=0), time=99), V, "time must be an integer in"),
    # ---------------------------------------------------------------- fixed points
    ("find_fixed_points-model-str", lambda: EXP.find_fixed_points("net", np.zeros(3)), E, "model"),
    ("find_fixed_points-inputs-width", lambda: EXP.find_fixed_points(MODEL, np.zeros(5), n_inits=2), V, "inputs"),
    ("find_fixed_points-inputs-nan", lambda: EXP.find_fixed_points(MODEL, np.full(3, np.nan), n_inits=2), V,
     "inputs must be finite"),
    *bad_int_cases("find_fixed_points", lambda v: EXP.find_fixed_points(MODEL, np.zeros(3), states=STATES, n_inits=v),
                   "n_inits"),
    ("find_fixed_points-n_inits-huge",
     lambda: EXP.find_fixed_points(MODEL, np.zeros(3), states=STATES, n_inits=10**14), V,
     "n_inits=.* would need"),
    ("find_fixed_points-method-unknown", lambda: EXP.find_fixed_points(MODEL, np.zeros(3), method="newton"), V,
     "method must be one of"),
    ("find_fixed_points-jitter-negative", lambda: EXP.find_fixed_points(MODEL, np.zeros(3), jitter=-1.0), V, "jitter"),
    ("find_fixed_points-max_iter-negative", lambda: EXP.find_fixed_points(MODEL, np.zeros(3), max_iter=-1), V,
     "max_iter must be an integer >= 0"),
    ("find_fixed_points-no-states", lambda: EXP.find_fixed_points(MODEL, np.zeros(3)), V,
     "exactly one of initial_states .* and states .* must be given"),
    ("find_fixed_points-lr-zero", lambda: EXP.find_fixed_points(MODEL, np.zeros(3), lr=0.0), V, "lr"),
    ("find_fixed_points-dedup-negative", lambda: EXP.find_fixed_points(MODEL, np.zeros(3), dedup_tol=-1.0), V,
     "dedup_tol"),
    ("find_fixed_points-hops-negative", lambda: EXP.find_fixed_points(MODEL, np.zeros(3), hops=-1), V, "hops"),
    ("find_fixed_points-initial_states-width", lambda: EXP.find_fixed_points(
        MODEL, np.zeros(3), initial_states=np.zeros((2, 5))), V, "initial_states"),
    ("slow_mode_counts-type", lambda: A.slow_mode_counts(np.zeros(3)), E, "found"),
    ("slow_mode_counts-tol-negative", lambda: A.slow_mode_counts(xr.Dataset(), tol=-1.0), V, "tol"),
    ("zero_evidence_input-task-str", lambda: EXP.zero_evidence_input("classification"), E, "task"),
    # ---------------------------------------------------------------- geometry
    ("pca-rates-ndarray", lambda: A.pca(RATES.values), E, "rates"),
    ("pca-n_components-zero", lambda: A.pca(RATES, n_components=0), V, "n_components"),
    ("pca-n_components-float", lambda: A.pca(RATES, n_components=1.5), E, "n_components"),
    ("pca-sample_dims-unknown", lambda: A.pca(RATES, sample_dims=("condition",)), V,
     r"rates must have dims \('condition', 'unit'\)"),
    ("pca-constant", lambda: A.pca(RATES * 0.0), V, "rates must vary across samples"),
    ("pca-one-sample", lambda: A.pca(RATES[:1, :1]), V, "rates must have at least 2 samples; got 1"),
    ("participation_ratio-constant", lambda: A.participation_ratio(RATES * 0.0 + 1.0), V,
     "rates must vary across samples"),
    ("participation_ratio-no-unit", lambda: A.participation_ratio(RATES.rename(unit="neuron")), V, "unit"),
    ("lifetime_sparseness-silent-unknown", lambda: A.lifetime_sparseness(RATES, silent="zero"), V, "silent"),
    ("lifetime_sparseness-ndarray", lambda: A.lifetime_sparseness(RATES.values), E, "rates"),
    ("fraction_active-threshold-negative", lambda: A.fraction_active(RATES, threshold=-1.0), V,
     "threshold must be >= 0.0; got -1.0"),
    ("fraction_active-threshold-str", lambda: A.fraction_active(RATES, threshold="low"), E, "threshold"),
    ("fraction_active-threshold-nan", lambda: A.fraction_active(RATES, threshold=float("nan")), V, "threshold"),
    ("fraction_active-nan-rates", lambda: A.fraction_active(RATES.where(RATES > 10)), V, "rates must be finite"),
    ("tuning_maps-latents-ndarray", lambda: A.tuning_maps(STATES, LAT.values), E, "latents"),
    ("tuning_maps-n_bins-zero", lambda: A.tuning_maps(STATES, LAT, n_bins=0), V, "n_bins"),
    ("tuning_maps-trials-differ", lambda: A.tuning_maps(STATES, LAT[:10]), V, "trial"),
    ("tuning_maps-factors-unknown", lambda: A.tuning_maps(STATES, LAT, factors=["speed"]), V, "factors"),
    # ---------------------------------------------------------------- abstraction
    ("sign_dichotomies-ndarray", lambda: A.sign_dichotomies(LAT.values), E, "latents"),
    ("sign_dichotomies-threshold-str", lambda: A.sign_dichotomies(LAT, threshold="0"), E, "threshold"),
    ("ccgp-rates-ndarray", lambda: A.ccgp(STATES.values, conditions=LAT), E, "rates"),
    ("ccgp-classifier-unknown", lambda: A.ccgp(STATES, conditions=LAT, classifier="tree"), V, "classifier"),
    ("ccgp-C-zero", lambda: A.ccgp(STATES, conditions=LAT, C=0.0), V, "C must be > 0"),
    ("ccgp-n_null-negative", lambda: A.ccgp(STATES, conditions=LAT, n_null=-1), V, "n_null"),
    ("ccgp-null-unknown", lambda: A.ccgp(STATES, conditions=LAT, null="shuffle-all"), V, "null"),
    ("ccgp-splits-unknown", lambda: A.ccgp(STATES, conditions=LAT, splits="random"), V, "splits"),
    ("ccgp-n_held_out-zero", lambda: A.ccgp(STATES, conditions=LAT, n_held_out=0), V, "n_held_out"),
    ("ccgp-max_splits-zero", lambda: A.ccgp(STATES, conditions=LAT, max_splits=0), V, "max_splits"),
    ("parallelism-rates-ndarray", lambda: A.parallelism_score(STATES.values, conditions=LAT), E, "rates"),
    ("parallelism-max_pairings-zero", lambda: A.parallelism_score(STATES, conditions=LAT, max_pairings=0), V,
     "max_pairings"),
    ("parallelism-null-unknown", lambda: A.parallelism_score(STATES, conditions=LAT, null="x"), V, "null"),
    ("shattering-n_folds-one", lambda: A.shattering_dimensionality(STATES, LAT, n_folds=1), V, "n_folds"),
    ("shattering-max_dichotomies-zero", lambda: A.shattering_dimensionality(STATES, LAT, max_dichotomies=0), V,
     "max_dichotomies"),
    ("shattering-classifier-unknown", lambda: A.shattering_dimensionality(STATES, LAT, classifier="knn"), V,
     "classifier"),
    # ---------------------------------------------------------------- psychophysics
    ("psychophysical_kernel-pulses-ndarray", lambda: A.psychophysical_kernel(PULSES.values, CHOICES), E, "pulses"),
    ("psychophysical_kernel-choices-length", lambda: A.psychophysical_kernel(PULSES, CHOICES[:10]), V, "choices"),
    ("psychophysical_kernel-choices-not-binary", lambda: A.psychophysical_kernel(PULSES, CHOICES * 3), V, "choices"),
    ("psychophysical_kernel-choices-constant", lambda: A.psychophysical_kernel(PULSES, CHOICES * 0.0), V,
     "choices"),
    ("psychophysical_kernel-se-unknown", lambda: A.psychophysical_kernel(PULSES, CHOICES, se="jackknife"), V, "se"),
    ("psychophysical_kernel-n_bootstrap-zero", lambda: A.psychophysical_kernel(
        PULSES, CHOICES, se="bootstrap", n_bootstrap=0), V, "n_bootstrap"),
    ("psychophysical_kernel-max_iter-zero", lambda: A.psychophysical_kernel(PULSES, CHOICES, max_iter=0), V,
     "max_iter"),
    ("psychophysical_kernel-tol-zero", lambda: A.psychophysical_kernel(PULSES, CHOICES, tol=0.0), V, "tol"),
    ("compare_kernels-empty", lambda: A.compare_kernels({}), E, "kernels must be a non-empty mapping"),
    ("compare_kernels-list", lambda: A.compare_kernels([1]), E, "kernels"),
    ("network_choices-choice-unknown", lambda: EXP.network_choices(PULSE_NET, PULSES, choice="argmax"), V,
     "choice"),
    ("network_choices-network-int", lambda: EXP.network_choices(3, PULSES), E, "network must be a run folder path"),
    ("network_choices-bare-model", lambda: EXP.network_choices(MODEL, PULSES), E,
     r"wrap a bare model .*TrainedNetwork\(model, task, encoder\)"),
    ("network_choices-task-not-pulses", lambda: EXP.network_choices(NET, PULSES), E,
     "network.task must be a PulsesTask"),
    ("network_kernel-bare-model", lambda: EXP.network_kernel(MODEL, PULSES), E, "network must be a run folder path"),
    ("lip_kernels-bare-model", lambda: EXP.lip_kernels(MODEL), E, "network must be a run folder path"),
    ("monkey_kernel-subject-unknown", lambda: A.monkey_kernel(xr.Dataset(), subject="z"), V, "subject|behavior"),
    # ---------------------------------------------------------------- theory
    ("r2_ceiling-sigma-negative", lambda: A.r2_ceiling(-0.1, 20), V, "sigma"),
    ("r2_ceiling-n_steps-zero", lambda: A.r2_ceiling(0.2, 0), V, "n_steps"),
    ("r2_ceiling-var_x-zero", lambda: A.r2_ceiling(0.2, 20, var_x=0.0), V, "var_x"),
    ("r2_ceiling-free_rt-str", lambda: A.r2_ceiling(0.2, 20, free_rt="no"), E, "free_rt"),
    ("bayes_r2_ceiling-sigma-str", lambda: A.bayes_r2_ceiling("0.2", 20), E, "sigma"),
    ("bayes_r2_ceiling-n_steps-zero", lambda: A.bayes_r2_ceiling(0.2, 0), V, "n_steps"),
    ("logit_to_probit-str", lambda: A.logit_to_probit("x"), E, "logits"),
    ("probit_to_logit-str", lambda: A.probit_to_logit("x"), E, "z"),
    ("gaussian_observer-normals-shape", lambda: A.gaussian_observer(TASK.sample(2, rng=0), np.zeros(3), 0.2), V, "normals"),
    ("gaussian_observer-sigma-zero", lambda: A.gaussian_observer(TASK.sample(2, rng=0), TASK.normals, 0.0), V, "sigma"),
    ("gaussian_observer-trials-ndarray", lambda: A.gaussian_observer(np.zeros(3), TASK.normals, 0.2), E, "trials"),
    ("recover_latent-scale-unknown", lambda: A.recover_latent(
        xr.DataArray(np.zeros((2, 3)), dims=("trial", "output")), TASK.normals, 0.2, 20, scale="prob"), V, "scale"),
    ("recover_latent-n_samples-zero", lambda: A.recover_latent(
        xr.DataArray(np.zeros((2, 3)), dims=("trial", "output")), TASK.normals, 0.2, 0), V, "n_samples"),
    # ---------------------------------------------------------------- comparison
    ("untrained_copy-model-str", lambda: EXP.untrained_copy("net", 0), E, "model"),
    ("untrained_copy-seed-negative", lambda: EXP.untrained_copy(MODEL, -1), V, "seed"),
    ("network_rates-summary-unknown", lambda: EXP.network_rates(PULSE_NET, PULSES, summary="last"), V,
     "summary must be one of"),
    ("network_rates-window-negative", lambda: EXP.network_rates(PULSE_NET, PULSES, window_ms=-1.0), V, "window_ms"),
    ("network_rates-bare-model", lambda: EXP.network_rates(MODEL, PULSES), E, "network must be a run folder path"),
    ("network_rates-task-not-pulses", lambda: EXP.network_rates(NET, PULSES), E, "network.task must be a PulsesTask"),
    ("compare_session-recording-ndarray", lambda: EXP.compare_session(PULSE_NET, np.zeros(3)), E, "recording"),
    ("compare_session-n_folds-one", lambda: EXP.compare_session(PULSE_NET, xr.Dataset(), n_folds=1), V, "n_folds"),
    ("compare_with_recording-sessions-str", lambda: EXP.compare_with_recording(PULSE_NET, sessions="all"), E,
     "sessions"),
    ("compare_with_recording-kernels-int", lambda: EXP.compare_with_recording(PULSE_NET, kernels=1), E, "kernels"),
    ("compare_with_recording-bare-model", lambda: EXP.compare_with_recording(MODEL, 0), E,
     "network must be a run folder path"),
    ("check_recording-ndarray", lambda: A.check_recording(np.zeros(3)), E, "recording"),
    ("check_recording-no-pulses", lambda: A.check_recording(xr.Dataset({"counts": (("trial", "unit"), [[1.0]])})), V,
     "recording must hold 'pulses'"),
    ("recording_predictivity-recording-ndarray", lambda: A.recording_predictivity(X, np.zeros(3)), E, "recording"),
    ("comparison_summary-empty", lambda: A.comparison_summary({}), E, "sessions must be a non-empty mapping"),
    ("comparison_summary-list", lambda: A.comparison_summary([1]), E, "sessions"),
    # ---------------------------------------------------------------- plotting
    ("plot_null-ndarray", lambda: P.plot_null(np.zeros(3)), E, "result"),
    ("plot_null-missing-null", lambda: P.plot_null(NULL.drop_vars("null")), V, "result"),
    ("plot_null-bins-zero", lambda: P.plot_null(NULL, bins=0), V, "bins"),
    ("plot_rdms-empty", lambda: P.plot_rdms([]), E, "rdms must be an rsa result Dataset or a non-empty sequence"),
    ("plot_rdms-ndarray", lambda: P.plot_rdms(np.zeros((3, 3))), E, "rdms"),
    ("plot_rdms-titles-length", lambda: P.plot_rdms([S.rdm(X)], titles=["a", "b"]), V, "titles"),
    ("plot_kernels-ndarray", lambda: P.plot_kernels(np.zeros(3)), E, "kernels"),
    ("plot_kernels-dims", lambda: P.plot_kernels(X), V, "kernels"),
    ("plot_explained_variance-ndarray", lambda: P.plot_explained_variance(np.zeros(3)), E, "result"),
    ("plot_explained_variance-missing", lambda: P.plot_explained_variance(xr.Dataset()), V, "result"),
    ("plot_pc_trajectories-ndarray", lambda: P.plot_pc_trajectories(np.zeros(3)), E, "result"),
    ("plot_pc_trajectories-components", lambda: P.plot_pc_trajectories(A.pca(RATES), components=(0, 9)), V,
     "components"),
    ("plot_pc_trajectories-color_by", lambda: P.plot_pc_trajectories(A.pca(RATES), color_by="speed"), V,
     "color_by"),
    ("plot_tuning_maps-ndarray", lambda: P.plot_tuning_maps(np.zeros(3)), E, "tuning"),
    ("plot_tuning_maps-ncols-zero", lambda: P.plot_tuning_maps(A.tuning_maps(STATES, LAT, n_bins=2), ncols=0), V,
     "ncols"),
    ("plot_eigenvalues-ndarray", lambda: P.plot_eigenvalues(np.zeros(3)), E, "fixed_points"),
    ("plot_eigenvalues-kind-unknown", lambda: P.plot_eigenvalues(xr.Dataset(), kind="polar"), V, "kind"),
    ("plot_amplification-ndarray", lambda: P.plot_amplification(np.zeros(3)), E, "fixed_points"),
    ("plot_amplification-bins-zero", lambda: P.plot_amplification(
        xr.Dataset({"amplification": (("fixed_point", "mode"), [[1.0]])}), bins=0), V, "bins must be an integer"),
    ("plot_amplification-missing", lambda: P.plot_amplification(xr.Dataset()), V,
     "fixed_points must contain the variable 'amplification'"),
    ("plot_r2_vs_tasks-ndarray", lambda: P.plot_r2_vs_tasks(np.zeros(3)), E, "results"),
    ("plot_r2_vs_tasks-variable-unknown", lambda: P.plot_r2_vs_tasks(xr.Dataset(), variable="r3"), V, "variable"),
    ("plot_decoder_angle-ndarray", lambda: P.plot_decoder_angle_vs_tasks(np.zeros(3)), E, "results"),
    ("plot_decoder_angle-variable", lambda: P.plot_decoder_angle_vs_tasks(xr.Dataset(), variable="x"), V,
     "variable"),
    ("plot-ax-str", lambda: P.plot_null(NULL, ax="left"), E, "ax"),
]


def test_the_table_is_large_and_its_ids_are_unique():
    assert len(CASES) >= 100 and len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("call", "error", "match"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_malformed_call_raises_a_named_value_or_type_error(call, error, match):
    check_case(call, error, match)
