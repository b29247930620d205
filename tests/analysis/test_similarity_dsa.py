"""DSA (Ostrow et al. 2023): DMD fit, Procrustes over vector fields, agreement with dsa-metric, its null."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from neurodis.analysis.similarity import dsa, permutation_p_value, select_dmd, spectral_dsa, spectrum_surrogates
from neurodis.analysis.similarity._dmd import delay_embed, havok_dmd, vector_field_angle

REFERENCE = json.loads((Path(__file__).parent / "dsa_metric_reference.json").read_text())
DIMS = ("condition", "time", "unit")


def tutorial_system(gen, n_time=100, n_features=5, n_trials=10, eigenvalue_range=(0.8, 0.95)):
    """dsa-metric's example system (examples/how_to_use_dsa_tutorial.ipynb), seeded by ``gen``."""
    a = gen.normal(size=(n_features, n_features))
    w, v = np.linalg.eig(a)
    w = w / np.abs(w) * gen.uniform(*eigenvalue_range, size=n_features)
    a = np.real(v @ np.diag(w) @ np.linalg.inv(v))
    data = np.zeros((n_trials, n_time, n_features))
    for trial in range(n_trials):
        x = gen.normal(size=n_features) * 0.1
        for t in range(n_time):
            data[trial, t] = x
            x = a @ x + gen.normal(size=n_features) * 0.01
    return data


def tutorial_pair():
    gen = np.random.default_rng(22)
    return tutorial_system(gen), tutorial_system(gen)


def operator_pairs():
    gen = np.random.default_rng(3)
    a10 = gen.random((10, 10))
    q, _ = np.linalg.qr(gen.normal(size=(10, 10)))
    if np.linalg.det(q) > 0:
        q[:, 0] *= -1  # a reflection: the component of O(n) the Cayley map does not reach from I
    return {
        "same_spectrum_non_normal": (np.diag([0.9, 0.5]), np.array([[0.9, 1.0], [0.0, 0.5]])),
        "random_3x3": (gen.normal(size=(3, 3)), gen.normal(size=(3, 3))),
        "reflected_copy_10x10": (a10, q @ a10 @ q.T),
    }


def _linear(gen, a, n_traj=10, n_time=40, noise=0.05):
    n = a.shape[0]
    x = np.empty((n_traj, n_time, n))
    x[:, 0] = gen.normal(size=(n_traj, n))
    for t in range(n_time - 1):
        x[:, t + 1] = x[:, t] @ a.T + noise * gen.normal(size=(n_traj, n))
    return xr.DataArray(x, dims=DIMS)


def _random_system(gen, n, low=0.6, high=0.95):
    w, v = np.linalg.eig(gen.normal(size=(n, n)))
    w = w / np.abs(w) * gen.uniform(low, high, size=n)
    return np.real(v @ np.diag(w) @ np.linalg.inv(v))


# ------------------------------------------------------------------ kernels


def test_delay_embedding_stacks_lagged_states():
    x = np.arange(10.0).reshape(1, 5, 2)
    out = delay_embed(x, 2, delay_interval=2)
    assert out.shape == (1, 3, 4)  # rows at t = 2, 3, 4
    np.testing.assert_array_equal(out[0, -1], [8.0, 9.0, 4.0, 5.0])  # the state at t=4, then at t=2
    with pytest.raises(ValueError, match=r"time must have at least .* = 4 steps; got 3"):
        delay_embed(x[:, :3], 2, delay_interval=2)


def test_havok_operator_has_the_eigenvalues_of_a_noise_free_system(rng):
    a = np.array([[0.9, -0.3, 0.0], [0.3, 0.9, 0.0], [0.0, 0.0, 0.5]])
    x = _linear(rng, a, noise=0.0).values
    op, s = havok_dmd(x)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(op)), np.sort_complex(np.linalg.eigvals(a)), atol=1e-8)
    # whitened coordinates: an invertible map of the states changes the operator only by a rotation
    op2, _ = havok_dmd(x @ rng.normal(size=(3, 3)))
    assert vector_field_angle(op, op2, rng=rng) == pytest.approx(0.0, abs=1e-4)
    assert havok_dmd(x, rank=0.999)[0].shape[0] <= 3 and s.shape == (3,)
    with pytest.raises(ValueError, match=r"rank must be an integer in \[1, 3\]"):
        havok_dmd(x, rank=4)
    with pytest.raises(ValueError, match="the DMD fit needs at least rank = 3 snapshot pairs; got 2"):
        havok_dmd(x[:1, :4], n_delays=2)


def _brute_force_angle(a, b):
    """O(2) is the rotations R(θ) and the reflections R(θ)·diag(1, -1): scan θ finely."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    best = -1.0
    for theta in np.linspace(0, 2 * np.pi, 20001):
        r = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        for c in (r, r @ np.diag([1.0, -1.0])):
            best = max(best, np.sum(a * (c @ b @ c.T)))
    return np.arccos(min(best, 1.0))


def test_procrustes_angle_matches_a_scan_of_o2(rng):
    for _ in range(3):
        a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
        assert vector_field_angle(a, b, rng=rng) == pytest.approx(_brute_force_angle(a, b), abs=1e-6)


def test_procrustes_angle_is_an_invariant_metric(rng):
    a, b, c = (rng.normal(size=(4, 4)) for _ in range(3))
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    d = lambda u, v: vector_field_angle(u, v, rng=np.random.default_rng(0), n_restarts=8)  # noqa: E731
    assert d(a, q @ a @ q.T) == pytest.approx(0.0, abs=1e-4)
    assert d(a, 3.0 * a) == pytest.approx(0.0, abs=1e-4)
    assert d(a, b) == pytest.approx(d(b, a), abs=1e-6)
    assert d(a, c) <= d(a, b) + d(b, c) + 1e-6
    assert 0.0 <= d(a, -a) <= np.pi


# ------------------------------------------------------------------ agreement with dsa-metric


@pytest.mark.parametrize("case", REFERENCE["data"], ids=lambda c: f"n_delays={c['n_delays']}-rank={c['rank']}")
def test_agrees_with_dsa_metric_on_its_example_systems(case):
    x, y = (xr.DataArray(v, dims=DIMS) for v in tutorial_pair())
    res = dsa(x, y, n_delays=case["n_delays"], rank=case["rank"], null=None, rng=0)
    assert float(res.score) == pytest.approx(case["score"], abs=1e-3)


@pytest.mark.parametrize("case", REFERENCE["operators"], ids=lambda c: c["name"])
def test_procrustes_agrees_with_dsa_metric_on_fixed_operators(case):
    a, b = operator_pairs()[case["name"]]
    ours = vector_field_angle(a, b, rng=np.random.default_rng(0))
    if case["expect"] == "at_most":  # dsa-metric's Adam stopped at a local optimum above ours
        assert ours < case["score"] - 1e-3
    else:
        assert ours == pytest.approx(case["score"], abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("case", REFERENCE["data"], ids=lambda c: f"n_delays={c['n_delays']}-rank={c['rank']}")
def test_agrees_with_an_installed_dsa_metric(case):
    pytest.importorskip("DSA", reason="dsa-metric is not installed (pip install dsa-metric; in the test extra)")
    torch = pytest.importorskip("torch")
    from DSA import DSA

    x, y = tutorial_pair()
    torch.manual_seed(0)
    theirs = DSA(x, y, n_delays=case["n_delays"], rank=case["rank"], score_method="angular", iters=3000,
                 lr=5e-3).fit_score()
    ours = dsa(xr.DataArray(x, dims=DIMS), xr.DataArray(y, dims=DIMS), n_delays=case["n_delays"],
               rank=case["rank"], null=None, rng=0)
    assert float(ours.score) == pytest.approx(theirs, abs=1e-3)


def test_a_reflected_copy_scores_zero():
    a, b = operator_pairs()["reflected_copy_10x10"]
    assert vector_field_angle(a, b, rng=np.random.default_rng(0)) == pytest.approx(0.0, abs=1e-5)


def test_sees_non_normal_structure_that_the_spectrum_misses(rng):
    # same eigenvalues (0.9, 0.5), different eigenvector geometry
    x = _linear(rng, np.diag([0.9, 0.5]), noise=0.0)
    y = _linear(rng, np.array([[0.9, 1.0], [0.0, 0.5]]), noise=0.0)
    assert float(spectral_dsa(x, y, null=None).score) == pytest.approx(0.0, abs=1e-8)
    assert float(dsa(x, y, null=None, rng=0).score) > 0.05


def test_linearly_mixed_copy_scores_zero_with_the_smallest_p(rng):
    x = _linear(rng, _random_system(rng, 3))
    y = xr.DataArray(x.values @ rng.normal(size=(3, 4)), dims=DIMS)  # 4 units spanning x's 3 dimensions
    res = dsa(x, y, rank=3, n_shuffles=19, rng=1)
    assert float(res.score) == pytest.approx(0.0, abs=1e-3)
    assert float(res.p_value) == 1 / 20 and res.attrs["null"] == "spectrum"
    assert res.operator_x.dims == ("mode_i", "mode_j") and json.loads(res.attrs["params"])["rank"] == 3


# ------------------------------------------------------------------ the null


def test_surrogates_keep_the_eigenvalues(rng):
    a = _random_system(rng, 4)
    for s in spectrum_surrogates(a, 5, horizon=30, rng=rng):
        np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(s)), np.sort_complex(np.linalg.eigvals(a)),
                                   atol=1e-8)


@pytest.mark.slow
def test_spectrum_null_has_the_right_size_when_y_is_a_random_system_with_its_spectrum():
    # H0 holds exactly: A_y is a draw from the surrogate ensemble of its own eigenvalues
    gen = np.random.default_rng(7)
    p = []
    for _ in range(200):
        a_x = _random_system(gen, 3)
        a_y = spectrum_surrogates(_random_system(gen, 3), 1, horizon=30, rng=gen)[0]
        d = lambda b: vector_field_angle(a_x, b, rng=np.random.default_rng(0), n_restarts=2)  # noqa: E731
        null = [d(s) for s in spectrum_surrogates(a_y, 9, horizon=30, rng=gen)]
        p.append(permutation_p_value(d(a_y), null, greater=False))
    uniform = np.array(p) - gen.random(len(p)) / 10
    assert stats.kstest(uniform, "uniform").pvalue > 1e-3


def test_systems_that_merely_differ_get_no_small_p_where_the_time_shuffle_gives_one(rng):
    # a rotation against a slow decay: different eigenvalues, no shared dynamics
    x = _linear(rng, np.array([[0.95, -0.3], [0.3, 0.95]]))
    y = _linear(rng, np.diag([0.97, 0.6]))
    assert float(dsa(x, y, null="shuffle", n_shuffles=19, rng=0).p_value) == 1 / 20
    assert float(dsa(x, y, n_shuffles=19, rng=0).p_value) > 0.2


def test_independent_random_systems_get_no_excess_of_small_p():
    gen = np.random.default_rng(5)
    p = [float(dsa(_linear(gen, _random_system(gen, 3)), _linear(gen, _random_system(gen, 3)),
                   n_shuffles=9, rng=k).p_value) for k in range(12)]
    assert np.mean(np.array(p) <= 0.1) <= 0.25


# ------------------------------------------------------------------ selection and errors


def test_select_dmd_scores_a_grid_and_picks_the_true_dimension(rng):
    a = np.array([[0.95, -0.25], [0.25, 0.95]])
    x = _linear(rng, a, n_traj=10, n_time=50, noise=0.02)
    x = xr.DataArray(np.concatenate([x.values, 1e-3 * rng.normal(size=x.shape)], axis=-1), dims=DIMS)  # 2 noise units
    sel = select_dmd(x, n_delays=[1, 2], ranks=[1, 2, 3, 4, 6])
    assert sel.aic.dims == ("n_delays", "rank") and np.isnan(sel.aic.sel(n_delays=1, rank=6))
    assert int(sel.best_rank) == 2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: dsa(x, x, null="permute"), "null must be 'shuffle', 'spectrum', None"),
        (lambda x: dsa(x, x, rank=1.5, null=None), "rank must be <= 1.0; got 1.5"),
        (lambda x: dsa(x, x.isel(unit=[0, 1, 0]), null=None), "x and y must give operators of one rank; got 2 and 3"),
        (lambda x: dsa(x, x, n_restarts=0), "n_restarts must be an integer >= 1"),
        (lambda x: dsa(x, x, ridge=-1.0), "ridge must be >= 0.0"),
        (lambda x: dsa(x.isel(time=0), x.isel(time=0)), "x and y must have a 'time' dim"),
        (lambda x: select_dmd(x, test_fraction=1.0), "test_fraction must be < 1.0"),
        (lambda x: select_dmd(x, n_delays=[]), "n_delays and ranks must be non-empty"),
        (lambda x: select_dmd(x.isel(time=0)), "x must have 'time' and 'unit' dims"),
    ],
)
def test_errors(rng, call, match):
    with pytest.raises(ValueError, match=match):
        call(_linear(rng, np.diag([0.9, 0.5]), n_traj=3, n_time=12))
