"""Inference for the similarity metrics: bootstrap CIs, noise ceilings, paired and cluster tests.

Every claim is checked against an independent computation: the coverage of a
bootstrap interval of a normal mean against its closed form, BCa against scipy, noise
ceilings against a planted signal-to-noise ratio and against the score of the
noise-free signal, the paired tests' size (KS) and power (the t test's, from the
noncentral t), and the cluster test against a loop reference, a planted cluster and
its family-wise error under the null. Everything is seeded, so each test is
deterministic.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from neurodis._validation import NeurodisWarning
from neurodis.analysis import similarity as S
from neurodis.analysis.similarity.bootstrap import _rdm_item_draws, _resample

# ---------------------------------------------------------------- bootstrap


def _percentile_coverage(n: int, confidence: float = 0.95) -> float:
    """Closed-form coverage of the percentile (or BCa) interval of a normal mean, B → ∞.

    The bootstrap distribution of the mean is ≈ N(x̄, s²(n-1)/n²) (plug-in variance), so
    the interval is x̄ ± z s sqrt((n-1)/n) / sqrt(n) and covers μ when
    |T_{n-1}| <= z sqrt((n-1)/n).
    """
    z = stats.norm.ppf((1 + confidence) / 2)
    return float(1 - 2 * stats.t.sf(z * np.sqrt((n - 1) / n), n - 1))


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_interval_covers_a_normal_mean_at_its_closed_form_rate(method):
    gen = np.random.default_rng(1)
    n_datasets, n = 1000, 30
    scores = xr.DataArray(1.0 + 2.0 * gen.normal(size=(n_datasets, n)), dims=("dataset", "session"))
    res = S.bootstrap_scores(scores, "session", n_resamples=1000, method=method, rng=2)
    coverage = float(np.mean((res.ci_low <= 1.0) & (1.0 <= res.ci_high)))
    # binomial sd over 1000 datasets ≈ 0.008
    assert coverage == pytest.approx(_percentile_coverage(n), abs=0.025)
    assert res.score.dims == ("dataset",) and res.bootstrap.dims == ("bootstrap_draw", "dataset")


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_intervals_agree_with_scipy_on_a_skewed_sample(method):
    sample = np.random.default_rng(3).exponential(size=25)
    ours = S.bootstrap_scores(xr.DataArray(sample, dims=("session",)), "session", n_resamples=50_000,
                              method=method, rng=0)
    ref = stats.bootstrap((sample,), np.mean, n_resamples=50_000, method="BCa" if method == "bca" else method,
                          rng=np.random.default_rng(1))
    # Monte Carlo error of a tail quantile over 50,000 draws ≈ 0.002 (the se is 0.11)
    assert float(ours.ci_low) == pytest.approx(ref.confidence_interval.low, abs=0.006)
    assert float(ours.ci_high) == pytest.approx(ref.confidence_interval.high, abs=0.006)
    assert float(ours.se) == pytest.approx(ref.standard_error, rel=0.02)


def test_basic_interval_reflects_the_percentile_interval_about_the_score():
    draws = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    lo, hi = S.confidence_interval(draws, confidence=0.5)
    blo, bhi = S.confidence_interval(draws, 2.0, confidence=0.5, method="basic")
    assert (float(blo), float(bhi)) == (4.0 - float(hi), 4.0 - float(lo))


def test_crossed_bootstrap_of_seeds_and_sessions_matches_a_loop():
    gen = np.random.default_rng(4)
    scores = xr.DataArray(gen.normal(size=(2, 4, 9)), dims=("family", "seed", "session"),
                          coords={"family": ["n24", "n2"]})
    res = S.bootstrap_scores(scores, ("seed", "session"), statistic=np.median, n_resamples=50, rng=7)
    ref_gen = np.random.default_rng(7)
    seeds, sessions = ref_gen.integers(4, size=(50, 4)), ref_gen.integers(9, size=(50, 9))
    for b in range(50):
        for f in range(2):
            expected = np.median(scores.values[f][np.ix_(seeds[b], sessions[b])])
            assert res.bootstrap.values[b, f] == pytest.approx(expected)
    assert res.family.values.tolist() == ["n24", "n2"]
    assert res.attrs["resampled_dims"] == '["seed", "session"]' and res.attrs["statistic"] == "median"


def test_metric_bootstrap_has_the_closed_form_variance_of_a_mean():
    # a "metric" that is the mean over conditions of x·y: its bootstrap variance is the
    # plug-in variance of a mean, var(p) (ddof 0) / n
    def mean_product(x, y, *, null, rng):
        return xr.Dataset({"score": float((x * y).sum("unit").mean())}, attrs={"metric": "mean_product"})

    gen = np.random.default_rng(5)
    x = xr.DataArray(gen.normal(size=(40, 3)), dims=("condition", "unit"))
    y = x + gen.normal(size=(40, 3))
    res = S.bootstrap_metric(mean_product, x, y, dim="condition", n_resamples=1000, method="percentile", rng=0)
    per_condition = (x * y).sum("unit").values
    # relative Monte Carlo error of an sd over 1000 draws ≈ 2.2 %
    assert float(res.se) == pytest.approx(per_condition.std() / np.sqrt(40), rel=0.08)
    assert float(res.bootstrap.mean()) == pytest.approx(per_condition.mean(), abs=0.1 * float(res.se))
    assert res.attrs["metric"] == "mean_product" and res.attrs["seed"] == 0


def test_metric_bootstrap_is_seeded_and_takes_any_metric():
    gen = np.random.default_rng(6)
    x = xr.DataArray(gen.normal(size=(15, 4)), dims=("condition", "unit"))
    y = xr.DataArray(x.values @ gen.normal(size=(4, 5)) + gen.normal(size=(15, 5)), dims=("condition", "unit"))
    debiased = functools.partial(S.linear_cka, debiased=True)
    first = S.bootstrap_metric(debiased, x, y, dim="condition", n_resamples=30, rng=3)
    again = S.bootstrap_metric(debiased, x, y, dim="condition", n_resamples=30, rng=3)
    np.testing.assert_array_equal(first.bootstrap, again.bootstrap)
    assert first.attrs["metric"] == "debiased_cka" and float(first.score) == float(S.linear_cka(x, y, debiased=True,
                                                                                             null=None).score)
    shape = S.bootstrap_metric(S.shape_distance, x, y, dim="condition", n_resamples=30, method="basic", rng=3)
    assert float(shape.ci_low) < float(shape.score) < float(shape.ci_high)


def test_rsa_items_are_resampled_on_the_rdms_without_copies():
    gen = np.random.default_rng(8)
    x = xr.DataArray(gen.normal(size=(10, 6)), dims=("condition", "unit"), coords={"condition": np.arange(10) * 3})
    y = xr.DataArray(gen.normal(size=(10, 6)), dims=("condition", "unit"), coords={"condition": np.arange(10) * 3})
    observed = S.rsa(x, y, null=None)
    items = [np.array([k]) for k in range(10)]
    draws, _ = _rdm_item_draws(observed, items, 10, 20, "percentile", np.random.default_rng(9), {})
    ref_gen = np.random.default_rng(9)
    for b in range(20):  # recompute the RDMs of the resampled data and drop the pairs of copies
        idx = ref_gen.integers(10, size=10)
        rx, ry = S.rdm(x.isel(condition=idx)).values, S.rdm(y.isel(condition=idx)).values
        i, j = np.triu_indices(10, k=1)
        keep = idx[i] != idx[j]
        expected = stats.spearmanr(rx[i[keep], j[keep]], ry[i[keep], j[keep]]).statistic
        assert draws[b] == pytest.approx(expected)


def test_rsa_item_bootstrap_is_centred_where_naive_copies_inflate_it():
    gen = np.random.default_rng(1)
    x = xr.DataArray(gen.normal(size=(12, 6)), dims=("condition", "unit"))
    y = xr.DataArray(gen.normal(size=(12, 6)), dims=("condition", "unit"))
    res = S.bootstrap_metric(S.rsa, x, y, dim="condition", n_resamples=300, method="percentile", rng=0)
    naive = []
    for _ in range(100):
        idx = gen.integers(12, size=12)
        if np.unique(idx).size > 2:
            naive.append(float(S.rsa(x.isel(condition=idx), y.isel(condition=idx), null=None).score))
    assert res.attrs["resampling"] == "rdm_items"
    # copies give zero distances at the same pairs of both RDMs: a spurious +0.2
    assert abs(float(res.bootstrap.mean() - res.score)) < 0.03 < 0.15 < np.mean(naive) - float(res.score)


def test_trials_are_resampled_within_each_condition():
    values = np.arange(3)[:, None, None] * 100.0 + np.arange(5)[None, :, None] + np.zeros((3, 5, 2))
    da = xr.DataArray(values, dims=("condition", "trial", "unit"))
    index = np.random.default_rng(0).integers(5, size=(3, 5))
    out = _resample(da, "trial", index, "condition")
    assert out.dims == da.dims
    np.testing.assert_array_equal(out.values[:, :, 0], np.arange(3)[:, None] * 100.0 + index)
    assert _resample(da.isel(trial=0, drop=True), "trial", index, "condition").identical(da.isel(trial=0, drop=True))


def test_trial_bootstrap_of_a_trial_average_score_warns_of_its_bias():
    gen = np.random.default_rng(2)
    signal = gen.normal(size=(20, 1, 6))
    x = xr.DataArray(signal + gen.normal(size=(20, 8, 6)), dims=("condition", "trial", "unit"))
    y = xr.DataArray(signal + gen.normal(size=(20, 8, 6)), dims=("condition", "trial", "unit"))
    with pytest.warns(NeurodisWarning, match="of the bootstrap draws lie below the observed score"):
        res = S.bootstrap_metric(S.rsa, x, y, dim="trial", within="condition", n_resamples=40, method="basic", rng=0)
    # the resamples' averages carry the trial noise twice: every draw is attenuated
    assert res.attrs["share_below"] > 0.975 and res.attrs["resampling"] == "recompute"
    assert float(res.ci_low) > float(res.score)  # the basic interval corrects towards the noise-free score


def test_degenerate_draws_are_counted_and_warned():
    x = xr.DataArray(np.random.default_rng(0).normal(size=(3, 2)), dims=("condition", "unit"))
    with pytest.warns(NeurodisWarning, match="bootstrap draws were degenerate"):
        res = S.bootstrap_metric(S.linear_cka, x, 2 * x, dim="condition", n_resamples=40, method="percentile", rng=0)
    assert 0 < res.attrs["n_degenerate"] < 40 and np.isnan(res.bootstrap).sum() == res.attrs["n_degenerate"]


# ---------------------------------------------------------------- noise ceilings


def _planted(gen, n_cond=300, n_trials=8, n_units=1, sigma=1.0, rank=None):
    """Noise-free signal (condition, unit) and trials; signal variance 1 per unit."""
    signal = gen.normal(size=(n_cond, n_units))
    if rank is not None:  # a low-dimensional signal, of variance 1 per unit on average
        signal = gen.normal(size=(n_cond, rank)) @ gen.normal(size=(rank, n_units)) / np.sqrt(rank)
    trials = signal[:, None, :] + sigma * gen.normal(size=(n_cond, n_trials, n_units))
    return (xr.DataArray(signal, dims=("condition", "unit")),
            xr.DataArray(trials, dims=("condition", "trial", "unit")))


@pytest.mark.parametrize("metric", [S.ridge_predictivity, S.linear_cka], ids=["ridge_predictivity", "linear_cka"])
def test_ceiling_recovers_a_planted_signal_to_noise_ratio(metric):
    # one unit: CKA is the squared correlation, R² of a perfect model the same, v / (v + σ²/T)
    signal, y = _planted(np.random.default_rng(10), n_cond=2000, sigma=1.5)
    v = float(signal.var())
    expected = v / (v + 1.5**2 / 8)  # ≈ 0.78
    res = S.noise_ceiling(metric, y, rng=0)
    assert float(res.ceiling) == pytest.approx(expected, abs=0.025)  # sd over 2000 conditions ≈ 0.008
    assert res.attrs["scale"] == "squared" and float(res.reliability) == pytest.approx(float(res.ceiling))


def test_predictivity_ceiling_is_the_denominator_of_its_normalized_score():
    gen = np.random.default_rng(11)
    signal, y = _planted(gen, n_cond=60, n_units=3)
    res = S.noise_ceiling(S.ridge_predictivity, y, rng=gen)
    reference = S.split_half_reliability(y, rng=np.random.default_rng(0))
    assert res.ceiling_unit.dims == ("unit",)
    np.testing.assert_allclose(res.ceiling_unit, reference, atol=0.05)
    assert float(res.ceiling) == pytest.approx(float(res.ceiling_unit.mean()))


@pytest.mark.parametrize(
    "metric, sigma",
    [(S.rsa, 1.5), (S.linear_cka, 2.0), (functools.partial(S.linear_cka, debiased=True), 2.0)],
    ids=["rsa", "linear_cka", "debiased_cka"],
)
def test_ceiling_is_the_score_of_the_noise_free_signal(metric, sigma):
    gen = np.random.default_rng(12)
    ceilings, reliabilities, perfect = [], [], []
    for k in range(12):
        signal, y = _planted(gen, n_cond=40, n_trials=8, n_units=10, sigma=sigma, rank=3)
        res = S.noise_ceiling(metric, y, n_splits=8, rng=k)
        ceilings.append(float(res.ceiling))
        reliabilities.append(float(res.reliability))
        perfect.append(float(metric(signal, y.mean("trial"), null=None).score))  # ≈ 0.86-0.89
    # each ceiling has sd ≈ 0.03-0.04 here: the means over 12 datasets agree to ≈ 0.01
    assert np.mean(ceilings) == pytest.approx(np.mean(perfect), abs=0.03)
    if res.attrs["scale"] == "correlation":  # the reliability itself (0.75) would be no ceiling of RSA
        assert np.mean(perfect) - np.mean(reliabilities) > 0.08


def test_rsa_ceiling_is_the_square_root_of_the_spearman_brown_reliability():
    _, y = _planted(np.random.default_rng(13), n_cond=12, n_units=6, sigma=1.0)
    res = S.noise_ceiling(S.rsa, y, n_splits=4, rng=0)
    r = float(res.split_half_draws.mean())
    assert float(res.reliability) == pytest.approx(2 * r / (1 + r))
    assert float(res.ceiling) == pytest.approx(np.sqrt(float(res.reliability)))
    assert res.attrs["scale"] == "correlation" and res.split_half_draws.dims == ("split",)


def test_spearman_brown_steps_a_reliability_up_and_clips_negative_correlations():
    # a test twice as long: 2r / (1 + r); k = 4: 4r / (1 + 3r); no signal below 0
    np.testing.assert_allclose(S.spearman_brown([0.5, 0.25, -0.3]), [2 / 3, 0.4, 0.0])
    assert float(S.spearman_brown(0.25, factor=4)) == pytest.approx(4 * 0.25 / (1 + 3 * 0.25))


def test_ceiling_of_a_metric_without_a_known_scale_needs_one():
    _, y = _planted(np.random.default_rng(14), n_cond=10, n_units=3)
    with pytest.raises(ValueError, match="scale must be given for metric 'shape_distance'"):
        S.noise_ceiling(S.shape_distance, y, n_splits=2, rng=0)
    res = S.noise_ceiling(S.shape_distance, y, n_splits=2, scale="none", rng=0)
    assert float(res.ceiling) == float(res.split_half) == float(res.split_half_draws.mean())


# ---------------------------------------------------------------- paired comparisons


def _uniformised(p: np.ndarray, n_draws: int, seed: int = 0) -> float:
    """KS p-value of permutation p-values spread within their atom (see test_similarity_null_size)."""
    return float(stats.kstest(p - np.random.default_rng(seed).random(p.size) / (n_draws + 1), "uniform").pvalue)


def _families(gen, n_sessions=20, seeds=(3, 4), shift=0.0, seed_sd=0.0):
    """Scores (seed, session): a session effect shared by both families, noise, seed offsets."""
    session = gen.normal(size=n_sessions)

    def family(n_seeds, offset):
        values = session + offset + seed_sd * gen.normal(size=(n_seeds, 1)) + gen.normal(size=(n_seeds, n_sessions))
        return xr.DataArray(values, dims=("seed", "session"), coords={"session": np.arange(n_sessions)})

    return family(seeds[0], shift), family(seeds[1], 0.0)


@pytest.mark.parametrize("test", ["sign_flip", "seed_permutation"])
def test_paired_test_has_uniform_p_values_under_the_null(test):
    gen = np.random.default_rng(20)
    seeds = (3, 4) if test == "sign_flip" else (5, 5)
    p = np.array([
        float(S.compare_families(*_families(gen, seeds=seeds), seed_dim="seed", test=test, n_permutations=99,
                                 n_resamples=2, rng=k).p_value)
        for k in range(200)
    ])
    assert _uniformised(p, 99) > 0.001


def test_sign_flip_power_matches_the_paired_t_test():
    gen = np.random.default_rng(21)
    n, effect = 20, 0.6  # in units of the sd of a session's paired difference
    rejections = [
        float(S.compare_families(
            xr.DataArray(gen.normal(loc=effect, size=n), dims=("session",)), xr.DataArray(np.zeros(n), dims=("session",)),
            n_permutations=199, n_resamples=2, rng=k).p_value) <= 0.05
        for k in range(200)
    ]
    crit = stats.t.ppf(0.975, n - 1)
    nct = stats.nct(n - 1, effect * np.sqrt(n))
    power = float(nct.sf(crit) + nct.cdf(-crit))  # ≈ 0.72
    # the randomisation test's power tends to the t test's; binomial sd over 200 ≈ 0.025
    assert np.mean(rejections) == pytest.approx(power, abs=0.08)


def test_seed_offsets_make_the_session_test_reject_and_the_seed_test_hold():
    # equal families whose networks differ by seed: generalising over seeds, only the
    # seed permutation has the right size; the sign flip over sessions treats the
    # drawn networks as the families
    gen = np.random.default_rng(22)
    flips, perms = [], []
    for k in range(100):
        a, b = _families(gen, seeds=(4, 4), seed_sd=1.0)
        flips.append(float(S.compare_families(a, b, seed_dim="seed", n_permutations=99, n_resamples=2, rng=k).p_value))
        perms.append(float(S.compare_families(a, b, seed_dim="seed", test="seed_permutation", n_permutations=99,
                                              n_resamples=2, rng=k).p_value))
    assert np.mean(np.array(flips) <= 0.05) > 0.4
    assert np.mean(np.array(perms) <= 0.05) < 0.12


def test_sign_flip_p_value_matches_exhaustive_enumeration():
    diff = np.array([0.9, 0.4, -0.2, 1.1, 0.3, -0.5, 0.8, 0.6])
    signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * 8)).reshape(8, -1).T  # all 256 sign vectors
    exact = np.mean(np.abs(signs @ diff) >= abs(diff.sum()) - 1e-12)
    res = S.compare_families(xr.DataArray(diff, dims=("session",)), xr.DataArray(np.zeros(8), dims=("session",)),
                             n_permutations=20_000, n_resamples=2, rng=0)
    assert float(res.p_value) == pytest.approx(exact, abs=0.006)  # binomial sd of the estimate ≈ 0.002
    greater = S.compare_families(xr.DataArray(diff, dims=("session",)), xr.DataArray(np.zeros(8), dims=("session",)),
                                 alternative="greater", n_permutations=20_000, n_resamples=2, rng=0)
    assert float(greater.p_value) == pytest.approx(np.mean(signs @ diff >= diff.sum() - 1e-12), abs=0.006)


def test_paired_interval_covers_the_planted_difference():
    gen = np.random.default_rng(23)
    n, hits = 30, []
    for k in range(300):
        a = xr.DataArray(gen.normal(size=n) + 0.4, dims=("session",))
        res = S.compare_families(a, xr.DataArray(np.zeros(n), dims=("session",)), n_permutations=1,
                                 n_resamples=1000, rng=k)
        hits.append(float(res.ci_low) <= 0.4 <= float(res.ci_high))
    assert np.mean(hits) == pytest.approx(_percentile_coverage(n), abs=0.045)  # binomial sd ≈ 0.014


def test_paired_result_is_labelled():
    a, b = _families(np.random.default_rng(24), n_sessions=6, seeds=(2, 3))
    res = S.compare_families(a, b, seed_dim="seed", n_permutations=10, n_resamples=10, rng=5)
    np.testing.assert_allclose(res.paired_difference, a.mean("seed") - b.mean("seed"))
    assert float(res.difference) == pytest.approx(float(res.mean_a - res.mean_b))
    assert res.paired_difference.session.values.tolist() == list(range(6))
    assert (res.attrs["n_seeds_a"], res.attrs["n_seeds_b"], res.attrs["seed"]) == (2, 3, 5)


# ---------------------------------------------------------------- cluster-mass correction


def _slow_max_mass(t, threshold, tail):
    best = 0.0
    for sign in ([1, -1] if tail == "two-sided" else [1] if tail == "greater" else [-1]):
        run = 0.0
        for value in sign * t:
            run = run + value if value > threshold else 0.0
            best = max(best, run)
    return best


@pytest.mark.parametrize("tail", ["two-sided", "greater", "less"])
def test_max_cluster_mass_matches_a_loop(tail):
    t = np.random.default_rng(30).normal(scale=2.0, size=(50, 25))
    expected = [_slow_max_mass(row, 1.5, tail) for row in t]
    np.testing.assert_allclose(S.max_cluster_mass(t, 1.5, tail), expected)


def _time_courses(gen, n=15, n_time=40, effect=0.0, where=slice(0, 0)):
    # smoothed noise: neighbouring time points are correlated, as in real time-resolved scores
    noise = np.apply_along_axis(lambda v: np.convolve(v, np.ones(4) / 2, mode="same"), 1,
                                gen.normal(size=(n, n_time)))
    noise[:, where] += effect
    return xr.DataArray(noise, dims=("session", "time"), coords={"time": np.arange(n_time) * 25.0})


def test_cluster_test_finds_a_planted_cluster():
    scores = _time_courses(np.random.default_rng(31), n=20, n_time=60, effect=1.0, where=slice(20, 35))
    res = S.cluster_test(scores, n_permutations=500, rng=0)
    found = res.time.values[res.significant.values]
    assert found.min() >= 18 * 25.0 and found.max() <= 36 * 25.0 and found.size >= 12
    best = int(res.cluster_id.sel(time=27 * 25.0))
    assert res.cluster_p.values[best] < 0.01 and res.cluster_mass.values[best] > 0
    assert res.statistic.dims == ("time",) and res.null_max_mass.sizes["null_draw"] == 500


def test_cluster_test_controls_the_family_wise_error():
    gen = np.random.default_rng(32)
    any_cluster, any_point = [], []
    for k in range(300):
        res = S.cluster_test(_time_courses(gen), n_permutations=99, rng=k)
        any_cluster.append(bool(res.significant.any()))
        any_point.append(bool((np.abs(res.statistic) > res.attrs["threshold"]).any()))
    # FWER <= 0.05 by construction (binomial sd over 300 ≈ 0.013); uncorrected, most datasets show an effect
    assert np.mean(any_cluster) < 0.085
    assert np.mean(any_point) > 0.5


def test_paired_cluster_test_is_the_test_of_differences():
    gen = np.random.default_rng(33)
    a, b = _time_courses(gen, effect=0.8, where=slice(5, 15)), _time_courses(gen)
    paired = S.cluster_test(a, b, n_permutations=50, rng=1)
    diff = S.cluster_test(a - b, n_permutations=50, rng=1)
    xr.testing.assert_identical(paired.drop_attrs(), diff.drop_attrs())
    assert paired.attrs["test"] == "sign_flip_t_paired"


def test_one_sided_clusters_keep_their_sign():
    scores = _time_courses(np.random.default_rng(34), n=20, effect=-1.2, where=slice(10, 20))
    less = S.cluster_test(scores, tail="less", n_permutations=200, rng=0)
    greater = S.cluster_test(scores, tail="greater", n_permutations=200, rng=0)
    assert less.significant.sum() >= 8 and np.all(less.cluster_mass < 0)
    assert not greater.significant.any() and np.all(greater.cluster_mass >= 0)


# ---------------------------------------------------------------- malformed calls

_X = xr.DataArray(np.random.default_rng(0).normal(size=(6, 3)), dims=("condition", "unit"))
_Y = xr.DataArray(np.random.default_rng(1).normal(size=(6, 8, 3)), dims=("condition", "trial", "unit"))
_SCORES = xr.DataArray(np.random.default_rng(2).normal(size=(4, 5)), dims=("seed", "session"))
_XT = xr.DataArray(np.random.default_rng(4).normal(size=(6, 5, 3)), dims=("condition", "time", "unit"))
_TIME = xr.DataArray(np.random.default_rng(3).normal(size=(5, 7)), dims=("session", "time"))
_A = xr.DataArray(np.ones(4), dims=("session",))


def _not_a_dataset(x, y, *, null, rng):
    return float(x.sum())


BAD = [
    ("ci-method", lambda: S.confidence_interval([1.0, 2.0], method="student"), ValueError, "method must be one of"),
    ("ci-confidence", lambda: S.confidence_interval([1.0, 2.0], confidence=1.0), ValueError, "confidence must be <"),
    ("ci-basic-observed", lambda: S.confidence_interval([1.0, 2.0], method="basic"), ValueError,
     "method='basic' needs observed values"),
    ("ci-bca-jackknife", lambda: S.confidence_interval([1.0, 2.0], 1.5, method="bca"), ValueError,
     "method='bca' needs observed and jackknife"),
    ("scores-type", lambda: S.bootstrap_scores(_SCORES.values, "seed"), TypeError, "scores must be an xarray"),
    ("scores-dim", lambda: S.bootstrap_scores(_SCORES, "trial"), ValueError, "dim must name one or more distinct"),
    ("scores-dim-twice", lambda: S.bootstrap_scores(_SCORES, ("seed", "seed")), ValueError, "distinct dims"),
    ("scores-dim-short", lambda: S.bootstrap_scores(_SCORES[:1], "seed"), ValueError,
     "dim 'seed' must have at least 2 entries"),
    ("scores-statistic", lambda: S.bootstrap_scores(_SCORES, "seed", statistic="mean"), TypeError,
     "statistic must be callable"),
    ("scores-statistic-shape", lambda: S.bootstrap_scores(_SCORES, "seed", statistic=np.sort), ValueError,
     "statistic must reduce the last axis"),
    ("scores-bca-two-dims", lambda: S.bootstrap_scores(_SCORES, ("seed", "session"), method="bca"), ValueError,
     "method='bca' needs a single resampled dim"),
    ("scores-nan", lambda: S.bootstrap_scores(_SCORES.where(_SCORES > 0), "seed"), ValueError,
     "scores must be finite"),
    ("scores-n_resamples", lambda: S.bootstrap_scores(_SCORES, "seed", n_resamples=1), ValueError,
     "n_resamples must be an integer >= 2"),
    ("metric-callable", lambda: S.bootstrap_metric("cka", _X, _X, dim="condition"), TypeError,
     "metric must be a callable"),
    ("metric-returns", lambda: S.bootstrap_metric(_not_a_dataset, _X, _X, dim="condition"), TypeError,
     "metric must return a Dataset with a scalar 'score'"),
    ("metric-dim", lambda: S.bootstrap_metric(S.linear_cka, _X, _X, dim="trial"), ValueError,
     "dim must be a dim of x or y"),
    ("metric-dim-short", lambda: S.bootstrap_metric(S.linear_cka, _XT[:1], _XT[:1], dim="condition"), ValueError,
     "dim 'condition' must have at least 2 entries"),
    ("metric-within", lambda: S.bootstrap_metric(S.linear_cka, _X, _X, dim="condition", within="trial"), ValueError,
     "within must be another dim"),
    ("metric-cv-dim", lambda: S.bootstrap_metric(S.ridge_predictivity, _X, _X, dim="condition", n_folds=2),
     ValueError, "dim must not be the metric's cross-validation dim 'condition'"),
    ("metric-rsa-within", lambda: S.bootstrap_metric(S.rsa, _XT, 2 * _XT, dim="condition", within="time"), ValueError,
     "within must be None when RSA items are resampled"),
    ("metric-rsa-labels", lambda: S.bootstrap_metric(S.rsa, _X.assign_coords(condition=[0, 0, 1, 2, 3, 4]),
                                                     _X.assign_coords(condition=[0, 0, 1, 2, 3, 4]) * 2,
                                                     dim="condition"), ValueError,
     "must label its 6 entries uniquely"),
    ("ceiling-callable", lambda: S.noise_ceiling("rsa", _Y), TypeError, "metric must be a callable"),
    ("ceiling-y-type", lambda: S.noise_ceiling(S.rsa, _Y.values), TypeError, "y must be an xarray.DataArray"),
    ("ceiling-y-dims", lambda: S.noise_ceiling(S.rsa, _X), ValueError, "y must have dims 'trial', 'unit'"),
    ("ceiling-one-trial", lambda: S.noise_ceiling(S.rsa, _Y[:, :1]), ValueError, "y must have at least 2 trials"),
    ("ceiling-scale", lambda: S.noise_ceiling(S.rsa, _Y, scale="log"), ValueError, "scale must be one of"),
    ("ceiling-n_splits", lambda: S.noise_ceiling(S.rsa, _Y, n_splits=0), ValueError, "n_splits must be an integer"),
    ("ceiling-returns", lambda: S.noise_ceiling(_not_a_dataset, _Y), TypeError,
     "metric must return a Dataset with a scalar 'score'"),
    ("paired-test", lambda: S.compare_families(_A, _A, test="t"), ValueError, "test must be one of"),
    ("paired-alternative", lambda: S.compare_families(_A, _A, alternative="bigger"), ValueError,
     "alternative must be one of"),
    ("paired-type", lambda: S.compare_families(_A.values, _A), TypeError, "a must be an xarray.DataArray"),
    ("paired-dims", lambda: S.compare_families(_SCORES, _SCORES), ValueError,
     "a must have dim 'session' and no other; got dims"),
    ("paired-nan", lambda: S.compare_families(_A * np.nan, _A), ValueError, "a must be finite"),
    ("paired-sizes", lambda: S.compare_families(_A, _A[:3]), ValueError, "a and b must have the same size"),
    ("paired-one", lambda: S.compare_families(_A[:1], _A[:1]), ValueError, "at least 2 entries along 'session'"),
    ("paired-coords", lambda: S.compare_families(_A.assign_coords(session=[0, 1, 2, 3]),
                                                 _A.assign_coords(session=[0, 1, 3, 2])), ValueError,
     "a and b must have the same 'session' coords"),
    ("paired-seed-test", lambda: S.compare_families(_A, _A, test="seed_permutation"), ValueError,
     "test='seed_permutation' needs seed_dim"),
    ("paired-n_permutations", lambda: S.compare_families(_A, _A, n_permutations=0), ValueError,
     "n_permutations must be an integer"),
    ("paired-confidence", lambda: S.compare_families(_A, _A, confidence=0.0), ValueError, "confidence must be >"),
    ("cluster-tail", lambda: S.cluster_test(_TIME, tail="both"), ValueError, "tail must be one of"),
    ("cluster-alpha", lambda: S.cluster_test(_TIME, alpha=1.5), ValueError, "alpha must be <"),
    ("cluster-type", lambda: S.cluster_test(_TIME.values), TypeError, "a must be an xarray.DataArray"),
    ("cluster-dims", lambda: S.cluster_test(_TIME.rename(session="seed")), ValueError,
     r"a must have dims \('session', 'time'\)"),
    ("cluster-nan", lambda: S.cluster_test(_TIME.where(_TIME > 0)), ValueError, "a must be finite"),
    ("cluster-b-shape", lambda: S.cluster_test(_TIME, _TIME[:, :3]), ValueError, "a and b must have the same shape"),
    ("cluster-b-coords", lambda: S.cluster_test(_TIME.assign_coords(time=np.arange(7.0)),
                                                _TIME.assign_coords(time=np.arange(7.0) + 1)), ValueError,
     "a and b must have the same 'time' coords"),
    ("cluster-one", lambda: S.cluster_test(_TIME[:1]), ValueError, "at least 2 entries along 'session'"),
    ("cluster-threshold", lambda: S.cluster_test(_TIME, threshold=0.0), ValueError, "threshold must be > 0"),
    ("cluster-n_permutations", lambda: S.cluster_test(_TIME, n_permutations=0), ValueError,
     "n_permutations must be an integer"),
]


@pytest.mark.parametrize("call, error, match", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_malformed_calls_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()
