"""Analyses: labelled data in, labelled results (xarray) out."""

import importlib
from typing import Any

from neurodis.analysis.abstraction import (
    ccgp,
    parallelism_score,
    shattering_dimensionality,
    sign_dichotomies,
)
from neurodis.analysis.comparison import (
    check_recording,
    comparison_summary,
    recording_predictivity,
)
from neurodis.analysis.decoding import (
    Fold,
    decode,
    fit_decoder,
    fit_decoder_adam,
    fit_ood_decoders,
    heldout_mask,
    make_folds,
    region_mask,
)
from neurodis.analysis.geometry import (
    fraction_active,
    lifetime_sparseness,
    participation_ratio,
    pca,
    tuning_maps,
)
from neurodis.analysis.ood_diagnostics import (
    extrapolating_units,
    ridge_penalty_position,
)
from neurodis.analysis.ood_predictors import (
    count_silent_units,
    decoder_variance,
    inner_heldout_r2,
    manifold_linearity,
    ood_predictors,
    rank_association,
)
from neurodis.analysis.pooled import pooled_bootstrap
from neurodis.analysis.psychophysics import (
    compare_kernels,
    monkey_kernel,
    psychophysical_kernel,
)
from neurodis.analysis.similarity import (
    bootstrap_metric,
    bootstrap_scores,
    cca,
    cluster_test,
    compare_families,
    dsa,
    linear_cka,
    noise_ceiling,
    procrustes_distance,
    rdm,
    ridge_predictivity,
    rsa,
    select_dmd,
    shape_distance,
    spectral_dsa,
    svcca,
)
from neurodis.analysis.spectra import SLOW_MODE_TOL, slow_mode_counts
from neurodis.analysis.theory import (
    bayes_r2_ceiling,
    gaussian_observer,
    logit_to_probit,
    probit_to_logit,
    r2_ceiling,
    recover_latent,
)

__all__ = [
    "bayes_r2_ceiling",
    "bootstrap_metric",
    "bootstrap_scores",
    "cca",
    "ccgp",
    "check_recording",
    "cluster_test",
    "compare_families",
    "compare_kernels",
    "comparison_summary",
    "count_silent_units",
    "decode",
    "decoder_variance",
    "Decoder",
    "dsa",
    "extrapolating_units",
    "fit_decoder",
    "fit_decoder_adam",
    "fit_ood_decoders",
    "Fold",
    "fraction_active",
    "gaussian_observer",
    "heldout_mask",
    "inner_heldout_r2",
    "LeaveOneRegionOut",
    "lifetime_sparseness",
    "linear_cka",
    "logit_to_probit",
    "make_folds",
    "manifold_linearity",
    "monkey_kernel",
    "noise_ceiling",
    "ood_predictors",
    "parallelism_score",
    "participation_ratio",
    "pca",
    "pooled_bootstrap",
    "probit_to_logit",
    "procrustes_distance",
    "psychophysical_kernel",
    "r2_ceiling",
    "rank_association",
    "rdm",
    "recording_predictivity",
    "recover_latent",
    "region_mask",
    "ridge_penalty_position",
    "ridge_predictivity",
    "rsa",
    "select_dmd",
    "shape_distance",
    "shattering_dimensionality",
    "sign_dichotomies",
    "slow_mode_counts",
    "SLOW_MODE_TOL",
    "spectral_dsa",
    "svcca",
    "tuning_maps",
]

# scikit-learn (about 2 s to import) loads with the estimators, on first use
_LAZY = {"Decoder": "neurodis.analysis.estimators", "LeaveOneRegionOut": "neurodis.analysis.estimators"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurodis.analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
