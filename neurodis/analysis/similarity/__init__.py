"""Similarity between a model's representation and a recording (or any two).

Every metric takes two labelled arrays with a ``unit`` dim, aligned on their other
(sample) dims — ``trial``, ``condition``, ``time`` — and free to differ in ``unit``, and
returns a Dataset with the ``score``, a ``null`` distribution (a condition/trial shuffle,
or a user-supplied sample such as untrained networks' rates), the ``p_value`` and
provenance attrs. The inference modules take these metrics (or scores per session or
seed) and add bootstrap confidence intervals, split-half noise ceilings, paired
comparisons of model families and cluster-mass correction over time. One module per
metric family:

========================  ====================================================
``cka``                   linear and debiased CKA
``shape``                 angular Procrustes, generalized shape metrics (α)
``cca``                   CCA and SVCCA
``rsa``                   RDMs (correlation, Euclidean, cross-validated) and RSA
``predictivity``          cross-validated ridge model → brain, noise ceiling
``dsa``                   DSA (Ostrow et al. 2023): DMD + Procrustes over vector fields
``spectral_dsa``          distance between DMD eigenvalue spectra
``nulls``                 shuffles, p-values, the shared driver
``bootstrap``             bootstrap CIs over conditions, trials, sessions, seeds
``ceilings``              split-half noise ceilings (Spearman–Brown)
``paired``                paired comparison of two model families
``clusters``              cluster-mass correction for time-resolved scores
========================  ====================================================
"""

from neurodis.analysis.similarity._align import align_pair
from neurodis.analysis.similarity.bootstrap import bootstrap_metric, bootstrap_scores, confidence_interval
from neurodis.analysis.similarity.cca import canonical_correlations, cca, svcca
from neurodis.analysis.similarity.ceilings import noise_ceiling, spearman_brown
from neurodis.analysis.similarity.cka import linear_cka, linear_cka_arrays
from neurodis.analysis.similarity.clusters import cluster_test, max_cluster_mass
from neurodis.analysis.similarity.dsa import dsa, select_dmd, spectrum_surrogates
from neurodis.analysis.similarity.nulls import permutation_p_value, score_with_null, shuffle_along
from neurodis.analysis.similarity.paired import compare_families
from neurodis.analysis.similarity.predictivity import ridge_predictivity, split_half_reliability
from neurodis.analysis.similarity.rsa import kendall_tau_a, rdm, rsa
from neurodis.analysis.similarity.shape import procrustes_distance, shape_distance, shape_distance_arrays
from neurodis.analysis.similarity.spectral_dsa import dmd_eigenvalues, spectral_distance, spectral_dsa

__all__ = [
    "align_pair",
    "bootstrap_metric",
    "bootstrap_scores",
    "canonical_correlations",
    "cca",
    "cluster_test",
    "compare_families",
    "confidence_interval",
    "dmd_eigenvalues",
    "dsa",
    "kendall_tau_a",
    "linear_cka",
    "linear_cka_arrays",
    "max_cluster_mass",
    "noise_ceiling",
    "permutation_p_value",
    "procrustes_distance",
    "rdm",
    "ridge_predictivity",
    "rsa",
    "score_with_null",
    "select_dmd",
    "shape_distance",
    "shape_distance_arrays",
    "shuffle_along",
    "spectral_distance",
    "spearman_brown",
    "spectral_dsa",
    "spectrum_surrogates",
    "split_half_reliability",
    "svcca",
]
