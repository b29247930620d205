"""Known-answer tests of CCGP, parallelism score and shattering dimensionality.

Factorised geometry: conditions on the corners of a square or cube, embedded by an
orthogonal map in many units, with isotropic noise. Entangled geometry: the same
labels on conditions at random positions, or the XOR dichotomy of a square.
"""

import itertools
import json

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis import ccgp, parallelism_score, shattering_dimensionality, sign_dichotomies
from neurodis.trials import load_dataset, save_dataset

N_UNITS = 20


def _embedding(rng, n_dims, n_units=N_UNITS):
    """Orthonormal rows: an isometric embedding of n_dims latent axes in n_units."""
    q, _ = np.linalg.qr(rng.normal(size=(n_units, n_dims)))
    return q.T


def _corners(n_dims):
    return np.array(list(itertools.product([1.0, -1.0], repeat=n_dims)))


def _trials(rng, centres_kxn, n_per_condition, noise):
    """Trials of every condition around its centre, with condition codes as a trial coord."""
    cond = np.repeat(np.arange(len(centres_kxn)), n_per_condition)
    x = centres_kxn[cond] + noise * rng.normal(size=(cond.size, centres_kxn.shape[1]))
    return xr.DataArray(x, dims=("trial", "unit"), coords={"condition_id": ("trial", cond)}), cond


def _labels(corners_kxd, cond):
    return {f"v{i}": corners_kxd[cond, i] > 0 for i in range(corners_kxd.shape[1])}


def _splits(result):
    return json.loads(result.attrs["config"])["splits"]


def _centroid_states(centres_kxn):
    """Condition-averaged states, one sample per condition (like a recording)."""
    k = len(centres_kxn)
    return xr.DataArray(centres_kxn, dims=("condition", "unit"), coords={"condition": np.arange(k)})


# --------------------------------------------------------------------------- factorised
def test_factorised_cube_generalizes_and_is_parallel(rng):
    corners = _corners(3)
    states, cond = _trials(rng, corners @ _embedding(rng, 3), 10, noise=0.2)
    labels = _labels(corners, cond)
    score = ccgp(states, labels, n_null=0, rng=rng)
    # default "matched": the held-out pair shares the other two variables (4 choices)
    assert set(score["n_splits"].values) == {4} and _splits(score) == "matched"
    assert np.all(score["ccgp"].values > 0.95)
    paper = ccgp(states, labels, splits="all", n_null=0, rng=rng)
    assert set(paper["n_splits"].values) == {16}  # 4 x 4 ways to hold out one condition per side
    assert np.all(paper["ccgp"].values > 0.95)  # with three variables "all" also reaches 1
    parallel = parallelism_score(states, labels, n_null=0, rng=rng)
    assert set(parallel["n_pairings"].values) == {24}  # 4! pairings
    # coding vectors v + e with |v| = 2 and centroid-difference noise e of variance
    # 2 * 0.2² / 10 per unit: cos ~ |v|² / (|v|² + 20 * 0.008) = 0.96 for many units
    np.testing.assert_allclose(parallel["parallelism"].values, 4 / (4 + 20 * 2 * 0.04 / 10), atol=0.03)


def test_parallelism_matches_a_slow_reference(rng):
    """Random centroids: the vectorised score equals explicit loops over pairings."""
    centres = rng.normal(size=(6, 5))
    sides = np.array([True, False, True, False, False, True])
    result = parallelism_score(_centroid_states(centres), {"d": sides}, n_null=0)
    a, b = np.flatnonzero(sides), np.flatnonzero(~sides)
    best = -np.inf
    for perm in itertools.permutations(b):
        vectors = [centres[j] - centres[i] for i, j in zip(a, perm, strict=True)]
        cosines = [
            u @ w / np.linalg.norm(u) / np.linalg.norm(w) for u, w in itertools.combinations(vectors, 2)
        ]
        best = max(best, np.mean(cosines))
    np.testing.assert_allclose(result["parallelism"].values, [best], rtol=1e-12)


def test_noise_free_factorised_parallelism_is_exactly_one(rng):
    corners = _corners(3)
    centres = corners @ (_embedding(rng, 3) * np.array([[3.0], [1.0], [0.5]]))  # unequal scales too
    result = parallelism_score(_centroid_states(centres), _labels(corners, np.arange(8)), n_null=0)
    np.testing.assert_allclose(result["parallelism"].values, 1.0, rtol=0, atol=1e-12)


def test_square_matched_default_and_all_splits_closed_form(rng):
    """A factorised square. The default ("matched") holds out one quadrant per side with
    the same value of the other variable (2 choices) and scores 1 on both dichotomies.
    The paper's "all" averaging also trains on diagonal pairs: training (+,+) vs (-,-)
    gives the axis w0 + w1, on which the held-out (+,-) lies at |w0|² - |w1|². With
    |w0| = 2|w1| the x0 dichotomy is right on every split (CCGP 1) and the x1 dichotomy
    wrong on both diagonal splits (CCGP 0.5)."""
    corners = _corners(2)
    w = _embedding(rng, 2) * np.array([[2.0], [1.0]])
    states, cond = _trials(rng, corners @ w, 20, noise=0.05)
    matched = ccgp(states, _labels(corners, cond), n_null=0, rng=rng)
    assert list(matched["n_splits"].values) == [2, 2] and _splits(matched) == "matched"
    np.testing.assert_allclose(matched["ccgp"].values, 1.0, atol=0.02)
    paper = ccgp(states, _labels(corners, cond), splits="all", n_null=0, rng=rng)
    assert list(paper["n_splits"].values) == [4, 4] and _splits(paper) == "all"
    np.testing.assert_allclose(paper["ccgp"].values, [1.0, 0.5], atol=0.02)


def test_default_dichotomies_have_nothing_to_match_on(rng):
    """Without named dichotomies (every balanced dichotomy of the square, XOR included)
    the default uses every choice of held-out conditions, as the paper does."""
    corners = _corners(2)
    states, _ = _trials(rng, corners @ _embedding(rng, 2), 6, noise=0.1)
    score = ccgp(states, conditions="condition_id", n_null=0, rng=0)
    assert score.sizes["dichotomy"] == 3 and _splits(score) == "all"
    assert list(score["n_splits"].values) == [4, 4, 4]
    xr.testing.assert_identical(score, ccgp(states, conditions="condition_id", splits="all", n_null=0, rng=0))


def test_quadrant_dichotomies_of_continuous_latents(rng):
    """The study's use: dichotomies x0>0 and x1>0 of uniform latents in the box."""
    latents = xr.DataArray(
        rng.uniform(-0.5, 0.5, size=(400, 2)), dims=("trial", "latent"), coords={"latent": ["x0", "x1"]}
    )
    states = xr.DataArray(
        latents.values @ _embedding(rng, 2) + 0.02 * rng.normal(size=(400, N_UNITS)), dims=("trial", "unit")
    )
    dichotomies = sign_dichotomies(latents)
    score = ccgp(states, dichotomies, splits="matched", n_null=0, rng=rng)
    assert list(score["dichotomy"].values) == ["x0>0", "x1>0"]
    assert score.sizes["condition"] == 4
    assert np.all(score["ccgp"].values > 0.9)
    assert np.all(parallelism_score(states, dichotomies, n_null=0)["parallelism"].values > 0.9)


# --------------------------------------------------------------------------- entangled
def test_xor_dichotomy_of_square_anti_generalizes():
    """XOR of a square: training on adjacent corners learns the wrong axis for the held-out
    pair (CCGP exactly 0), and both pairings give anti-parallel coding vectors (-1)."""
    corners = _corners(2)
    states = _centroid_states(corners)
    xor = {"xor": corners[:, 0] * corners[:, 1] > 0}
    np.testing.assert_allclose(ccgp(states, xor, n_null=0)["ccgp"].values, [0.0])
    np.testing.assert_allclose(
        parallelism_score(states, xor, n_null=0)["parallelism"].values, [-1.0], atol=1e-12
    )


def test_random_positions_generalize_at_chance():
    """Cube labels on 8 random positions in 50 units: over 6 independent geometries, CCGP
    averages 0.5 and the parallelism score stays near 0 (coding vectors of random
    positions have cosines of order 1/sqrt(50))."""
    scores, parallel = [], []
    corners = _corners(3)
    for seed in range(6):
        rng = np.random.default_rng([20250101, seed])
        centres = rng.normal(size=(8, 50)) * np.sqrt(4 / 50)  # same scale as the unit cube edges
        states, cond = _trials(rng, centres, 4, noise=0.05)
        scores.append(ccgp(states, _labels(corners, cond), splits="all", n_null=0, rng=rng)["ccgp"].values)
        parallel.append(parallelism_score(states, _labels(corners, cond), n_null=0)["parallelism"].values)
    # each dichotomy's CCGP averages 32 held-out condition predictions, so its sd is at
    # most 0.5 / sqrt(2) for fully dependent splits and the mean of 18 has sd <= 0.12
    assert abs(np.mean(scores) - 0.5) < 0.2
    assert np.max(parallel) < 0.35


def test_geometric_null_rotates_each_condition_rigidly(rng):
    """Every condition's cloud is permuted along units by one permutation about the mean
    of the centroids: within-cluster distances and distances from the centre are kept."""
    from neurodis.analysis.abstraction import _centroids, _rotate_conditions

    states, cond = _trials(rng, rng.normal(size=(4, 6)), 5, noise=0.3)
    x = states.values[:, None, :]
    moved = _rotate_conditions(x, cond, 4, rng)
    centre = _centroids(x, cond, 4).mean(axis=0)
    for k in range(4):
        before, after = (x - centre)[cond == k, 0], (moved - centre)[cond == k, 0]
        perm = [int(np.flatnonzero(np.isclose(before[0], value))[0]) for value in after[0]]
        np.testing.assert_allclose(after, before[:, perm], rtol=0, atol=1e-12)


def test_geometric_null_of_a_factorised_cube(rng):
    """Eight independently rotated clusters in 20 units have no shared coding axis: no
    null draw approaches the observed CCGP (~1) or parallelism (~0.96)."""
    corners = _corners(3)
    states, cond = _trials(rng, corners @ _embedding(rng, 3), 6, noise=0.2)
    v0 = {"v0": corners[cond, 0] > 0}
    score = ccgp(states, v0, conditions="condition_id", n_null=9, rng=rng)
    assert score["null"].sizes == {"dichotomy": 1, "null": 9}
    np.testing.assert_allclose(score["p_value"].values, 1 / 10)
    parallel = parallelism_score(states, v0, conditions="condition_id", n_null=99, rng=rng)
    np.testing.assert_allclose(parallel["p_value"].values, 1 / 100)


def test_shuffle_null_for_ccgp(rng):
    corners = _corners(2)
    states, cond = _trials(rng, corners @ _embedding(rng, 2), 8, noise=0.2)
    score = ccgp(states, _labels(corners, cond), splits="matched", n_null=19, null="shuffle", rng=rng)
    np.testing.assert_allclose(score["p_value"].values, 1 / 20)
    assert score.attrs["null"] == "shuffle"


# --------------------------------------------------------------------------- shattering
def test_shattering_dimensionality_random_versus_square(rng):
    """Four random positions in 20 units are shattered by every dichotomy (SD 1); a square
    in a plane is not: its XOR dichotomy has no linear readout, and the best line
    misclassifies at least one of the four clusters (accuracy <= 0.75)."""
    random_states, _ = _trials(rng, rng.normal(size=(4, N_UNITS)), 10, noise=0.1)
    random_sd = shattering_dimensionality(random_states, "condition_id", n_folds=3, n_null=0, rng=rng)
    assert random_sd.sizes["dichotomy"] == 3
    assert float(random_sd["shattering_dimensionality"]) > 0.95
    corners = _corners(2)
    square_states, cond = _trials(rng, corners @ _embedding(rng, 2), 10, noise=0.1)
    square_sd = shattering_dimensionality(square_states, _labels(corners, cond), n_folds=3, n_null=9, rng=rng)
    accuracy = square_sd["accuracy"].values
    is_xor = square_sd["side"].values.sum(axis=1) == 2
    is_xor &= ~np.all(square_sd["side"].values == (corners[:, 0] > 0), axis=1)
    is_xor &= ~np.all(square_sd["side"].values == (corners[:, 1] > 0), axis=1)
    is_xor &= ~np.all(square_sd["side"].values == (corners[:, 0] < 0), axis=1)
    is_xor &= ~np.all(square_sd["side"].values == (corners[:, 1] < 0), axis=1)
    assert is_xor.sum() == 1
    assert np.all(accuracy[~is_xor] > 0.95) and accuracy[is_xor][0] <= 0.8
    assert float(square_sd["shattering_dimensionality"]) < float(random_sd["shattering_dimensionality"])
    np.testing.assert_allclose(square_sd["p_value"], 0.1)
    assert square_sd["accuracy_null"].sizes == {"dichotomy": 3, "null": 9}


def test_many_conditions_use_a_seeded_subset_of_dichotomies(rng):
    states, _ = _trials(rng, rng.normal(size=(10, N_UNITS)), 2, noise=0.1)  # 126 balanced dichotomies
    first = shattering_dimensionality(states, "condition_id", n_folds=2, max_dichotomies=5, n_null=0, rng=3)
    again = shattering_dimensionality(states, "condition_id", n_folds=2, max_dichotomies=5, n_null=0, rng=3)
    assert first["side"].shape == (5, 10)
    assert np.all(first["side"].sum(axis=1) == 5) and np.all(first["side"][:, 0])
    xr.testing.assert_identical(first, again)


# --------------------------------------------------------------------------- layouts
def test_time_resolved_matches_each_time_step(rng):
    """Pure noise at t=0, a factorised square at t=1: CCGP is at chance then near 1, and
    the time-resolved call equals separate calls on each step (same seed)."""
    corners = _corners(2)
    square, cond = _trials(rng, corners @ _embedding(rng, 2), 10, noise=0.2)
    noise = rng.normal(size=square.shape)
    states = xr.concat([square.copy(data=noise), square], dim="time").assign_coords(time=[0.0, 100.0])
    states = states.transpose("trial", "time", "unit")
    labels = _labels(corners, cond)
    both = ccgp(states, labels, splits="matched", n_null=3, rng=7)
    assert both["ccgp"].dims == ("dichotomy", "time") and both["null"].dims == ("dichotomy", "null", "time")
    assert np.all(both["ccgp"].sel(time=100.0) > 0.95)
    for t in range(2):
        alone = ccgp(states.isel(time=t), labels, splits="matched", n_null=3, rng=7)
        np.testing.assert_allclose(both["ccgp"].isel(time=t), alone["ccgp"])
        np.testing.assert_allclose(both["null"].isel(time=t), alone["null"])
    parallel = parallelism_score(states, labels, n_null=0)
    np.testing.assert_allclose(
        parallel["parallelism"].isel(time=1), parallelism_score(square, labels, n_null=0)["parallelism"]
    )


def test_condition_dim_layout_equals_trial_layout(rng):
    """Recordings shaped (condition, trial, unit) give the same result as the same samples
    laid out as (trial, unit) with a condition coord."""
    corners = _corners(3)
    flat, cond = _trials(rng, corners @ _embedding(rng, 3), 5, noise=0.3)
    by_condition = xr.DataArray(
        flat.values.reshape(8, 5, N_UNITS),
        dims=("condition", "trial", "unit"),
        coords={"condition": np.arange(8)},
    )
    sides = xr.DataArray(corners[:, 0] > 0, dims=("condition",))
    from_dim = ccgp(by_condition, {"v0": sides}, n_null=0)
    from_coord = ccgp(flat, {"v0": corners[cond, 0] > 0}, conditions="condition_id", n_null=0)
    np.testing.assert_allclose(from_dim["ccgp"], from_coord["ccgp"])
    default = parallelism_score(by_condition, n_null=0, rng=0)  # all 35 balanced dichotomies
    assert default.sizes["dichotomy"] == 35


def test_results_round_trip_through_netcdf(rng, tmp_path):
    corners = _corners(2)
    states, cond = _trials(rng, corners @ _embedding(rng, 2), 6, noise=0.2)
    result = ccgp(states, _labels(corners, cond), splits="matched", n_null=2, rng=5)
    assert result.attrs["seed"] == 5 and "neurodis_version" in result.attrs
    loaded = load_dataset(save_dataset(result, tmp_path / "ccgp.nc"))
    np.testing.assert_array_equal(loaded["side"].values, result["side"].values)
    np.testing.assert_allclose(loaded["null"], result["null"])


# --------------------------------------------------------------------------- errors
@pytest.fixture
def small(rng):
    corners = _corners(2)
    states, cond = _trials(rng, corners @ _embedding(rng, 2), 4, noise=0.2)
    return states, _labels(corners, cond)


def test_states_errors(small):
    states, labels = small
    with pytest.raises(TypeError, match="rates must be an xarray.DataArray"):
        ccgp(states.values, labels)
    with pytest.raises(ValueError, match=r"rates must have dims \(trial and/or condition"):
        ccgp(states.rename(unit="neuron"), labels)
    with pytest.raises(ValueError, match=r"rates must have dims \(trial and/or condition"):
        ccgp(states.rename(trial="sample"), labels)
    with pytest.raises(ValueError, match="rates must be finite"):
        ccgp(states.where(states > 10), labels)


def test_label_errors(small):
    states, labels = small
    with pytest.raises(
        ValueError,
        match=r"dichotomies\['v0'\] must be a coord name.*shape \(16,\); got array of shape \(15,\)",
    ):
        ccgp(states, {"v0": labels["v0"][:15]})
    with pytest.raises(ValueError, match="names the coord 'missing', which rates lacks"):
        ccgp(states, "missing")
    with pytest.raises(ValueError, match=r"must have length 16 along 'trial' to match rates; got 3"):
        ccgp(states, {"v0": xr.DataArray([True, False, True], dims=("trial",))})
    with pytest.raises(ValueError, match="must have dims within the sample dims"):
        ccgp(states, {"v0": xr.DataArray(np.ones(N_UNITS), dims=("unit",))})
    with pytest.raises(ValueError, match=r"must take exactly 2 distinct values; got 1"):
        ccgp(states, {"v0": np.ones(16, dtype=bool)})
    with pytest.raises(TypeError, match="dichotomies must be a coord name, a sequence"):
        ccgp(states, 3)
    with pytest.raises(ValueError, match="dichotomies must name at least one dichotomy"):
        ccgp(states, {})
    with pytest.raises(ValueError, match=r"dichotomies\['v0'\] must be constant within each condition"):
        ccgp(states, {"v0": labels["v0"]}, conditions=np.arange(16) % 2)


def test_condition_errors(small):
    states, labels = small
    with pytest.raises(ValueError, match="conditions must be given"):
        shattering_dimensionality(states)
    with pytest.raises(ValueError, match="conditions must define at least 2 distinct conditions; got 1"):
        shattering_dimensionality(states, np.zeros(16))
    with pytest.raises(ValueError, match=r"at least n_folds=5 samples in every condition.*got 4"):
        shattering_dimensionality(states, "condition_id", n_null=0)
    with pytest.raises(
        ValueError, match=r"more than n_held_out=2 conditions on each side for CCGP; got 2 and 2"
    ):
        ccgp(states, labels, n_held_out=2)
    with pytest.raises(ValueError, match="must have held-out conditions matched on the other dichotomies"):
        ccgp(states, {"v0": labels["v0"], "copy": labels["v0"]}, conditions="condition_id", splits="matched")
    with pytest.raises(ValueError, match=r"must have equal sides of at least 2 conditions.*got 1 and 3"):
        parallelism_score(states, {"one": labels["v0"] & labels["v1"]}, conditions="condition_id")


def test_parameter_errors(small):
    states, labels = small
    with pytest.raises(ValueError, match="classifier must be one of"):
        ccgp(states, labels, classifier="tree")
    with pytest.raises(ValueError, match="C must be > 0.0"):
        ccgp(states, labels, C=0.0)
    with pytest.raises(ValueError, match="n_null must be an integer >= 0"):
        ccgp(states, labels, n_null=-1)
    with pytest.raises(ValueError, match="splits must be one of"):
        ccgp(states, labels, splits="some")
    with pytest.raises(ValueError, match="null must be one of"):
        parallelism_score(states, labels, null="gaussian")
    with pytest.raises(ValueError, match="max_pairings must be an integer >= 1"):
        parallelism_score(states, labels, max_pairings=0)
    with pytest.raises(ValueError, match="n_folds must be an integer >= 2"):
        shattering_dimensionality(states, "condition_id", n_folds=1)


def test_sign_dichotomies_errors():
    with pytest.raises(TypeError, match="latents must be an xarray.DataArray"):
        sign_dichotomies(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"latents must have dims \('trial', 'latent'\)"):
        sign_dichotomies(xr.DataArray(np.zeros((3, 2)), dims=("trial", "unit")))


@pytest.mark.parametrize("classifier", ["svm", "logistic"])
def test_classifiers_agree_on_clean_geometry(rng, classifier):
    corners = _corners(2)
    states, cond = _trials(rng, corners @ _embedding(rng, 2), 6, noise=0.1)
    score = ccgp(states, _labels(corners, cond), splits="matched", classifier=classifier, n_null=0)
    np.testing.assert_allclose(score["ccgp"].values, 1.0)
