"""RDMs and RSA: hand-computed RDMs, the cross-validated distance, Kendall's τ_a."""

import itertools

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from threadpoolctl import threadpool_limits

from neurodis.analysis.similarity import kendall_tau_a, rdm, rsa


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _slow_tau_a(a, b):
    pairs = list(itertools.combinations(range(len(a)), 2))
    return sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs) / len(pairs)


def test_correlation_rdm_of_a_known_configuration():
    # b is a reversed, c a doubled; r(a, b) = -1, r(a, c) = 1, r(b, c) = -1
    x = xr.DataArray([[1.0, 2, 3], [3, 2, 1], [2, 4, 6]], dims=("condition", "unit"),
                     coords={"condition": ["a", "b", "c"]})
    out = rdm(x)
    np.testing.assert_allclose(out.values, [[0, 2, 0], [2, 0, 2], [0, 2, 0]], atol=1e-12)
    assert out.dims == ("item_i", "item_j") and out.condition_i.values.tolist() == ["a", "b", "c"]


def test_euclidean_rdm_of_a_known_configuration():
    # points on a line at 0, 5 and 10 (3-4-5 triangles)
    x = xr.DataArray([[0.0, 0], [3, 4], [6, 8]], dims=("condition", "unit"))
    np.testing.assert_allclose(rdm(x, distance="euclidean").values, [[0, 5, 10], [5, 0, 5], [10, 5, 0]])


def test_cross_validated_distance_by_hand():
    # item 0 trials [1], [3]; item 1 trials [0], [4]; folds by parity: fold 0 = first trial
    x = xr.DataArray([[[1.0], [3.0]], [[0.0], [4.0]]], dims=("condition", "trial", "unit"))
    # (1 - 0)(3 - 4) averaged over the two ordered fold pairs
    assert rdm(x, distance="cv_euclidean").values[0, 1] == pytest.approx(-1.0)


def test_cross_validated_distance_is_unbiased_where_the_plain_one_is_not(rng):
    n_cond, n_trials, n_units, sigma = 8, 10, 800, 1.0
    means = rng.normal(size=(n_cond, 1, n_units))
    x = xr.DataArray(means + sigma * rng.normal(size=(n_cond, n_trials, n_units)),
                     dims=("condition", "trial", "unit"))
    true = np.sum((means[:, None, 0] - means[None, :, 0]) ** 2, axis=-1) / n_units
    off = ~np.eye(n_cond, dtype=bool)
    # the mean error over the 28 pairs has sd ≈ 0.035 at 200 units (measured over 40
    # draws), so ≈ 0.018 at 800 units: 0.07 is a 4-sd bound
    cv = rdm(x, distance="cv_euclidean").values
    assert np.mean(cv[off] - true[off]) == pytest.approx(0.0, abs=0.07)
    # the plain squared distance of trial means is biased upward by 2σ²/T = 0.2
    plain = rdm(x, distance="euclidean").values ** 2 / n_units
    assert np.mean(plain[off] - true[off]) == pytest.approx(2 * sigma**2 / n_trials, abs=0.07)


def test_trials_grouped_by_a_coord_give_the_rdm_of_the_group_means(rng):
    labels = np.array([2, 0, 1, 2, 0, 1, 1, 0, 2, 2])
    x = xr.DataArray(rng.normal(size=(10, 4)), dims=("trial", "unit"), coords={"stim": ("trial", labels)})
    means = xr.DataArray(np.stack([x.values[labels == g].mean(axis=0) for g in range(3)]), dims=("condition", "unit"))
    out = rdm(x, by="stim")
    np.testing.assert_allclose(out.values, rdm(means).values, atol=1e-12)
    assert out.stim_i.values.tolist() == [0, 1, 2]


def test_items_are_stacked_condition_time_points(rng):
    x = xr.DataArray(rng.normal(size=(2, 3, 4)), dims=("condition", "time", "unit"),
                     coords={"condition": [0, 90], "time": [0.0, 10.0, 20.0]})
    out = rdm(x, distance="euclidean")
    assert out.shape == (6, 6)
    assert out.condition_i.values.tolist() == [0, 0, 0, 90, 90, 90]
    assert out.values[1, 5] == pytest.approx(np.linalg.norm(x.values[0, 1] - x.values[1, 2]))


def test_kendall_tau_a_matches_a_slow_reference_with_ties(rng):
    for _ in range(20):
        a, b = rng.integers(0, 4, size=25), rng.integers(0, 6, size=25)
        assert kendall_tau_a(a, b) == pytest.approx(_slow_tau_a(a, b), abs=1e-12)
    assert kendall_tau_a(np.ones(5), np.arange(5)) == 0.0


def test_rsa_scores_by_spearman_or_kendall(rng):
    x = xr.DataArray(rng.normal(size=(8, 5)), dims=("condition", "unit"))
    y = xr.DataArray(rng.normal(size=(8, 3)), dims=("condition", "unit"))
    rx, ry = rdm(x).values, rdm(y).values
    upper = np.triu_indices(8, k=1)
    spearman = rsa(x, y, null=None)
    assert float(spearman.score) == pytest.approx(stats.spearmanr(rx[upper], ry[upper]).statistic, rel=1e-12)
    kendall = rsa(x, y, compare="kendall_tau_a", null=None)
    assert float(kendall.score) == pytest.approx(_slow_tau_a(rx[upper], ry[upper]), abs=1e-12)
    np.testing.assert_allclose(spearman.rdm_x, rx)


def test_rsa_is_one_for_affine_copies_and_symmetric(rng):
    x = xr.DataArray(rng.normal(size=(7, 4)), dims=("condition", "unit"))
    y = xr.DataArray(rng.normal(size=(7, 6)), dims=("condition", "unit"))
    assert float(rsa(x, 2 * x + 3, null=None).score) == pytest.approx(1.0)
    assert float(rsa(x, y, null=None).score) == pytest.approx(float(rsa(y, x, null=None).score))


def test_rsa_with_trial_labels_on_the_recording_only(rng):
    labels = np.repeat(np.arange(4), 6)
    brain = xr.DataArray(rng.normal(size=(4, 1, 5)).repeat(6, axis=1).reshape(24, 5) + 0.1 * rng.normal(size=(24, 5)),
                         dims=("trial", "unit"), coords={"stim": ("trial", labels)})
    model = xr.DataArray(brain.values @ rng.normal(size=(5, 5)), dims=("trial", "unit"))
    res = rsa(model, brain, by="stim", distance="cv_euclidean", n_shuffles=20, rng=0)
    assert res.rdm_y.shape == (4, 4) and float(res.score) > 0.5
    assert res.attrs["null"] == "shuffle:trial"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"distance": "cosine"}, r"distance must be one of \['correlation', 'euclidean', 'cv_euclidean'\]"),
        ({"compare": "pearson"}, r"compare must be one of \['spearman', 'kendall_tau_a'\]"),
        ({"n_folds": 1}, "n_folds must be an integer >= 2; got 1"),
        ({"by": "stim"}, "by must name a coord along 'trial'; got 'stim'"),
        ({"distance": "cv_euclidean"}, "x needs at least n_folds=2 trials per item"),
    ],
)
def test_rsa_errors(rng, kwargs, match):
    x = xr.DataArray(rng.normal(size=(5, 3)), dims=("condition", "unit"))
    with pytest.raises(ValueError, match=match):
        rsa(x, x, null=None, **kwargs)


def test_rdm_errors(rng):
    with pytest.raises(TypeError, match="x must be a DataArray with a 'unit' dim"):
        rdm(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x must be a DataArray with a 'unit' dim and a sample dim"):
        rdm(xr.DataArray(np.zeros((3, 2)), dims=("condition", "neuron")))
    flat = xr.DataArray([[1.0, 2.0], [3.0, 3.0], [0.0, 1.0]], dims=("condition", "unit"))
    with pytest.raises(ValueError, match="x item 1 has the same value in every unit"):
        rdm(flat)
    two = xr.DataArray(rng.normal(size=(2, 3)), dims=("condition", "unit"))
    with pytest.raises(ValueError, match=r"x must have at least 3 RDM entries \(item pairs\); got 1"):
        rsa(two, two, null=None)
    with pytest.raises(ValueError, match="a and b must be 1-D of the same length >= 2"):
        kendall_tau_a([1, 2, 3], [1, 2])
