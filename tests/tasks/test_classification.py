"""Multi-task classification: geometry, timing, loss masks, sequences, ideal observer."""

import math

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats
from scipy.special import expit, ndtr

from neurodis.tasks import Timing, make_task
from neurodis.tasks.base import TrialBatch
from neurodis.tasks.classification import (
    LOGIT_LIMIT,
    ClassificationTask,
    boundary_normals,
    circular_radii,
    multiplicative_thresholds,
)
from neurodis.tasks.latents import quadrant_of


def _batch_from_stimulus(task, stimulus_bxtxd):
    """A TrialBatch whose stimulus steps carry ``stimulus_bxtxd`` (for observer tests)."""
    n = len(stimulus_bxtxd)
    inputs = np.zeros((n, task.timing.n_steps, 1 + task.n_dims))
    inputs[:, task.timing.period_slice("stimulus"), 1:] = stimulus_bxtxd
    empty = np.zeros((n, task.timing.n_steps, task.n_tasks))
    return TrialBatch(inputs, empty, empty, np.zeros((n, task.n_dims)))


# ---------------------------------------------------------------- geometry
@pytest.mark.parametrize("n_tasks", range(2, 31))
def test_evenly_spaced_normals_are_a_tight_frame(n_tasks):
    c = boundary_normals(n_tasks, 2)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(c.T @ c, n_tasks / 2 * np.eye(2), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_tasks", [3, 6, 24])
def test_labels_are_the_side_of_each_line(rng, n_tasks):
    task = ClassificationTask(n_tasks=n_tasks)
    x = rng.uniform(-0.5, 0.5, size=(5000, 2))
    labels = task.labels(x)
    phi = (np.arange(n_tasks) + 0.5) * np.pi / n_tasks
    finite = np.abs(np.cos(phi)) > 1e-9  # the vertical line of odd N is x1 < 0
    expected = x[:, 1:2] > np.tan(phi[finite]) * x[:, 0:1]
    np.testing.assert_array_equal(labels[:, finite], expected)
    if n_tasks % 2:
        np.testing.assert_array_equal(labels[:, ~finite][:, 0], x[:, 0] < 0)
    assert np.all(np.abs(labels.mean(0) - 0.5) < 5 * 0.5 / math.sqrt(len(x)))  # lines through 0


def test_random_normals_are_seeded_unit_vectors_and_define_labels(rng):
    task = ClassificationTask(n_tasks=9, n_dims=5, boundary_seed=3)
    c = task.normals
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0)
    np.testing.assert_array_equal(c, ClassificationTask(n_tasks=9, n_dims=5, boundary_seed=3).normals)
    assert not np.allclose(c, ClassificationTask(n_tasks=9, n_dims=5, boundary_seed=4).normals)
    x = rng.uniform(-0.5, 0.5, size=(100, 5))
    np.testing.assert_array_equal(task.labels(x), (x @ c.T > 0).astype(float))


def test_multiplicative_thresholds_split_each_quadrant_at_even_quantiles(rng):
    theta = multiplicative_thresholds(4)
    s = 4 * theta  # |x1 x2| = s/4 with CDF s - s ln s inside a quadrant
    np.testing.assert_allclose(s - s * np.log(s), (np.arange(4) + 0.5) / 4, rtol=1e-12)
    task = ClassificationTask(n_tasks=16, boundary="multiplicative")
    x = rng.uniform(-0.5, 0.5, size=(40_000, 2))
    labels = task.labels(x).reshape(-1, 4, 4)  # (trial, quadrant, threshold)
    quadrant = quadrant_of(x)
    for q in range(4):  # outside its quadrant a boundary's label is 0
        assert not labels[quadrant != q + 1, q].any()
        inside = labels[quadrant == q + 1, q]
        np.testing.assert_array_equal(inside, np.abs(x[quadrant == q + 1, :1] * x[quadrant == q + 1, 1:]) > theta)
    p = 1 - (np.arange(4) + 0.5) / 4
    freq = labels.mean(axis=(0, 1)) * 4  # P(label | own quadrant), pooled over quadrants
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / len(x)))


def test_circular_radii_split_the_box_at_even_quantiles(rng):
    radii = circular_radii(5)
    task = ClassificationTask(n_tasks=5, boundary="circular")
    np.testing.assert_array_equal(task.thresholds, radii)
    x = rng.uniform(-0.5, 0.5, size=(40_000, 2))
    labels = task.labels(x)
    np.testing.assert_array_equal(labels, np.hypot(x[:, :1], x[:, 1:]) > radii)
    p = 1 - (np.arange(5) + 0.5) / 5
    assert np.all(np.abs(labels.mean(0) - p) < 5 * np.sqrt(p * (1 - p) / len(x)))
    # radii below 0.5 are where the disk is inside the box: π r² = quantile
    small = radii < 0.5
    np.testing.assert_allclose(np.pi * radii[small] ** 2, ((np.arange(5) + 0.5) / 5)[small], rtol=1e-12)


# ---------------------------------------------------------------- trial structure
def test_paper_trial_structure(rng):
    task = make_task("classification", n_tasks=6)
    batch = task.sample_arrays(500, rng)
    fixation, stimulus = batch.inputs[..., 0], batch.inputs[..., 1:]
    assert np.all(fixation[:, :21] == 1) and np.all(fixation[:, 21] == 0)
    assert np.all(stimulus[:, 0] == 0) and np.all(stimulus[:, 21] == 0)
    noise = stimulus[:, 1:21] - batch.latents[:, None, :]
    assert abs(noise.std() - 0.2) < 5 * 0.2 / math.sqrt(2 * noise.size)
    assert np.all(batch.targets[:, :21] == 0.5)
    np.testing.assert_array_equal(batch.targets[:, 21], task.labels(batch.latents))
    assert np.all(batch.loss_mask == 1.0)
    np.testing.assert_array_equal(batch.trial_coords["quadrant"], quadrant_of(batch.latents))
    assert batch.inputs.dtype == batch.targets.dtype == np.float64


def test_timing_with_delay_and_long_decision(rng):
    timing = Timing(fixation=200, stimulus=500, delay=300, decision=200, dt=100)
    batch = ClassificationTask(n_tasks=2, timing=timing).sample_arrays(4, rng)
    assert batch.inputs.shape == (4, 12, 3)
    np.testing.assert_array_equal(batch.inputs[0, :, 0], [1] * 10 + [0] * 2)
    assert np.all(batch.inputs[:, 2:7, 1:] != 0) and np.all(batch.inputs[:, 7:, 1:] == 0)
    assert np.all(batch.targets[:, 10] == batch.targets[:, 11]) and np.all(batch.targets[:, :10] == 0.5)


def test_loss_masks(rng):
    timing = Timing(fixation=100, stimulus=400, delay=100, decision=200)
    masks = {name: ClassificationTask(n_tasks=3, loss_mask=name, timing=timing).sample_arrays(2, rng).loss_mask
             for name in ("paper", "decision", "balanced")}
    assert np.all(masks["paper"] == 1)
    np.testing.assert_array_equal(masks["decision"][0, :, 0], [0] * 6 + [1] * 2)
    np.testing.assert_allclose(masks["balanced"][0, :, 0], [2 / 6] * 6 + [1] * 2)
    balanced = masks["balanced"][0, :, 0]
    assert math.isclose(balanced[6:].sum(), balanced.sum() / 2)


def test_several_trials_per_sequence(rng):
    task = ClassificationTask(n_tasks=4, trials_per_sequence=3)
    batch = task.sample_arrays(50, rng)
    assert batch.inputs.shape == (50, 66, 3) and batch.latents.shape == (50, 6)
    assert task.latent_names == ["x0", "x1", "x0_1", "x1_1", "x0_2", "x1_2"]
    for j in range(3):
        x = batch.latents[:, 2 * j: 2 * j + 2]
        np.testing.assert_array_equal(batch.targets[:, 22 * j + 21], task.labels(x))
        assert np.all(batch.inputs[:, 22 * j + 21, 0] == 0) and np.all(batch.inputs[:, 22 * j, 0] == 1)
        suffix = "" if j == 0 else f"_{j}"
        np.testing.assert_array_equal(batch.trial_coords["quadrant" + suffix], quadrant_of(x))
    logits = task.ideal_logits(batch)
    assert np.all(logits[:, [0, 22, 44]] == 0)  # the observer restarts with every trial
    trials = task.sample(3, rng=1)
    assert dict(trials.sizes)["latent"] == 6 and "orthant_2" in trials.coords


def test_correlated_latents_reach_the_task(rng):
    x = ClassificationTask(latent_correlation=0.8).sample_arrays(4000, rng).latents
    expected = 6 / np.pi * np.arcsin(0.4)
    ranks = stats.rankdata(x, axis=0)
    assert abs(np.corrcoef(ranks.T)[0, 1] - expected) < 5 / math.sqrt(len(x))


# ---------------------------------------------------------------- ideal observer
def _uniform_grid(n: int = 400) -> np.ndarray:
    g = (np.arange(n) + 0.5) / n - 0.5
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


@pytest.mark.parametrize("n_tasks, sigma", [(6, 0.2), (3, 0.4)])
def test_ideal_accuracy_matches_the_closed_form(rng, n_tasks, sigma):
    task = ClassificationTask(n_tasks=n_tasks, sigma=sigma)
    batch = task.sample_arrays(20_000, rng)
    correct = (task.ideal_logits(batch)[:, 21] > 0) == (batch.targets[:, 21] > 0.5)
    # the optimal decision sign(c·μ) is right with probability Φ(√t |c·x| / σ)
    grid = _uniform_grid()
    expected = stats.norm.cdf(math.sqrt(20) * np.abs(grid @ task.normals.T) / sigma).mean()
    per_trial = correct.mean(axis=1)
    assert abs(per_trial.mean() - expected) < 5 * per_trial.std() / math.sqrt(len(per_trial))


def test_linear_logits_match_the_gaussian_posterior(rng):
    task = ClassificationTask(n_tasks=5)
    batch = task.sample_arrays(30, rng)
    logits = task.ideal_logits(batch)
    stimulus = batch.inputs[:, 1:21, 1:]
    for t in (1, 7, 20):
        mu = stimulus[:, :t].mean(axis=1)
        p = stats.norm.cdf(math.sqrt(t) * mu @ task.normals.T / 0.2)
        np.testing.assert_allclose(expit(logits[:, t]), p, rtol=1e-9, atol=1e-12)
    assert np.all(logits[:, 0] == 0)
    np.testing.assert_array_equal(logits[:, 21], logits[:, 20])  # held after the stimulus


def test_linear_logits_do_not_saturate():
    task = ClassificationTask(n_tasks=2, sigma=0.02)
    x = np.array([0.5, -0.1])
    logits = task.ideal_logits(_batch_from_stimulus(task, np.tile(x, (1, 20, 1))))[0, 21]
    z = math.sqrt(20) * (task.normals @ x) / 0.02  # |z| > 60: Φ(z) rounds to 1 in float64
    # log Φ(z) - log Φ(-z) = z²/2 + log(|z| √(2π)) + O(1/z²) for large |z|
    asymptote = np.sign(z) * (z**2 / 2 + np.log(np.abs(z) * math.sqrt(2 * math.pi)))
    assert np.all(np.abs(z) > 60)
    np.testing.assert_allclose(logits, asymptote, rtol=1e-3)


def test_anisotropic_and_ar1_observers_use_their_posteriors(rng):
    aniso = ClassificationTask(n_tasks=4, sigma=0.1, noise="anisotropic", noise_params={"ratio": 3.0})
    batch = aniso.sample_arrays(20, rng)
    c = aniso.normals
    mu = batch.inputs[:, 1:21, 1:].mean(axis=1)
    sd = np.sqrt((c**2) @ np.array([0.1, 0.3]) ** 2 / 20)
    np.testing.assert_allclose(expit(aniso.ideal_logits(batch)[:, 21]), stats.norm.cdf(mu @ c.T / sd), rtol=1e-9)
    ar1 = ClassificationTask(n_tasks=4, noise="ar1", noise_params={"ar": 0.5})
    batch = ar1.sample_arrays(20, rng)
    mean, var = ar1.noise_model.posterior(batch.inputs[:, 1:21, 1:])
    z = mean[:, -1] @ c.T / np.sqrt(var[-1, 0])
    np.testing.assert_allclose(expit(ar1.ideal_logits(batch)[:, 21]), stats.norm.cdf(z), rtol=1e-9)


def test_circular_logits_match_monte_carlo_over_the_posterior(rng):
    task = ClassificationTask(n_tasks=4, boundary="circular")
    stimulus = rng.uniform(-0.5, 0.5, size=(6, 1, 2)) + rng.normal(0, 0.2, size=(6, 20, 2))
    prob = expit(task.ideal_logits(_batch_from_stimulus(task, stimulus))[:, 21])
    mu, sd = stimulus.mean(axis=1), 0.2 / math.sqrt(20)
    draws = mu[:, None, :] + sd * rng.standard_normal((6, 100_000, 2))
    mc = (np.hypot(draws[..., 0], draws[..., 1])[..., None] > task.thresholds).mean(axis=1)
    assert np.all(np.abs(prob - mc) < 5 * np.sqrt(prob * (1 - prob) / 100_000) + 1e-12)


def test_multiplicative_logits_match_numerical_integration():
    task = ClassificationTask(n_tasks=8, boundary="multiplicative", sigma=0.3)
    means = np.array([[0.2, 0.15], [-0.1, 0.3], [0.02, -0.05], [-0.25, -0.2]])
    stimulus = np.repeat(means[:, None, :], 20, axis=1)  # running mean = means at step 20
    logits = task.ideal_logits(_batch_from_stimulus(task, stimulus))[:, 21]
    sd = 0.3 / math.sqrt(20)
    signs = [(1, 1), (-1, 1), (-1, -1), (1, -1)]

    def reference(mu, k):
        (a1, a2), theta = signs[k // 2], task.thresholds[k % 2]

        def inner(u):  # density of u = a1·x1 times P(a2·x2 > θ/u)
            return math.exp(-0.5 * ((u - a1 * mu[0]) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) * ndtr(
                (a2 * mu[1] - theta / u) / sd)

        return integrate.quad(inner, 1e-12, abs(mu[0]) + 20 * sd, epsabs=0, epsrel=1e-12, limit=400)[0]

    for mu, row in zip(means, logits):
        p = np.array([reference(mu, k) for k in range(8)])
        decisive = np.abs(np.log(p / (1 - p))) < 20
        np.testing.assert_allclose(expit(row), p, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(row[decisive], np.log(p / (1 - p))[decisive], atol=1e-5)


@pytest.mark.parametrize("boundary", ["multiplicative", "circular"])
def test_nonlinear_ideal_decisions_beat_chance_and_stay_finite(rng, boundary):
    task = ClassificationTask(n_tasks=8, boundary=boundary)
    batch = task.sample_arrays(200, rng)
    logits = task.ideal_logits(batch)
    assert np.all(np.abs(logits) <= LOGIT_LIMIT) and np.all(logits[:, 0] == 0)
    correct = (logits[:, 21] > 0) == (batch.targets[:, 21] > 0.5)
    base_rate = np.maximum(batch.targets[:, 21].mean(0), 1 - batch.targets[:, 21].mean(0))
    assert np.all(correct.mean(0) >= base_rate - 5 * 0.5 / math.sqrt(200))


def test_ideal_observer_dataset(rng):
    task = ClassificationTask(n_tasks=3, noise="gumbel")
    trials = task.sample(8, rng=2)
    observer = task.ideal_observer(trials)
    assert observer["logit"].dims == ("trial", "time", "output")
    np.testing.assert_array_equal(observer["probability"], expit(observer["logit"]))
    np.testing.assert_array_equal(observer["quadrant"], trials["quadrant"])
    assert observer.attrs["exact"] == 0 and observer.attrs["task"] == "classification"
    xr.testing.assert_equal(observer["time"], trials["time"])


# ---------------------------------------------------------------- errors
def _encoded(task):
    trials = task.sample(2, rng=0)
    return trials.assign_coords(input=["fixation", "encoded_0", "encoded_1"])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_tasks": 0}, ValueError, "n_tasks must be an integer >= 1; got 0"),
        ({"n_tasks": -3}, ValueError, "n_tasks must be an integer >= 1; got -3"),
        ({"n_tasks": 2.5}, TypeError, "n_tasks must be an integer; got float 2.5"),
        ({"n_dims": 0}, ValueError, "n_dims must be an integer >= 1; got 0"),
        ({"sigma": -0.2}, ValueError, r"sigma must be >= 0.0; got -0.2"),
        ({"sigma": float("nan")}, ValueError, "sigma must be a finite real number; got nan"),
        ({"noise": "pink"}, ValueError, "noise must be one of"),
        ({"noise_params": {"ar": 0.5}}, TypeError, r"noise 'gaussian' accepts parameters \[\]; got unknown \['ar'\]"),
        ({"noise_params": [1]}, TypeError, "noise_params must be a mapping"),
        ({"boundary": "spiral"}, ValueError, r"boundary must be one of \['linear', 'multiplicative', 'circular'\]; got 'spiral'"),
        ({"loss_mask": "late"}, ValueError, r"loss_mask must be one of \['paper', 'decision', 'balanced'\]"),
        ({"boundary": "multiplicative", "n_tasks": 6}, ValueError, "n_tasks must be divisible by 4 .*; got 6"),
        ({"boundary": "circular", "n_dims": 3}, ValueError, "boundary='circular' needs n_dims=2; got n_dims=3"),
        ({"latent_correlation": 1.5}, ValueError, r"latent_correlation must lie in \(-1, 1\)"),
        ({"trials_per_sequence": 0}, ValueError, "trials_per_sequence must be an integer >= 1; got 0"),
        ({"boundary_seed": -1}, ValueError, "boundary_seed must be an integer >= 0; got -1"),
        ({"timing": {"stimulus": 250}}, ValueError, "stimulus must be a non-negative multiple of dt=100.0 ms; got 250.0"),
        ({"timing": {"decision": -100}}, ValueError, "decision must be a non-negative multiple of dt"),
        ({"timing": {"dt": float("nan")}}, ValueError, "dt must be a finite real number; got nan"),
        ({"timing": {"dt": 0}}, ValueError, r"dt must be > 0.0; got 0.0"),
        ({"timing": {"decision": 0}}, ValueError, r"timing.decision must last at least one step \(dt=100.0 ms\)"),
        ({"timing": {"stimulus": 0}}, ValueError, "timing.stimulus must last at least one step"),
        ({"timing": 22}, TypeError, "timing must be a Timing or a mapping of its fields; got int"),
        ({"n_taks": 3}, TypeError, r"task 'classification' accepts parameters .*; got unknown \['n_taks'\]"),
    ],
)
def test_bad_parameters_raise(params, error, match):
    with pytest.raises(error, match=match):
        make_task("classification", **params)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ClassificationTask(timing=[100]), TypeError, "timing must be a Timing or a mapping"),
        (lambda: ClassificationTask().labels(np.zeros((3, 3))), ValueError, r"latents must have shape \('any', 2\)"),
        (lambda: ClassificationTask().sample_arrays(0, np.random.default_rng(0)), ValueError, "n_trials must be an integer >= 1"),
        (lambda: ClassificationTask().sample_arrays(4, 0), TypeError, "rng must be a numpy.random.Generator; got int"),
        (lambda: ClassificationTask(boundary="circular").normals, ValueError, "normals exist for boundary='linear' only"),
        (lambda: ClassificationTask().ideal_logits(np.zeros((2, 22, 3))), TypeError, "batch must be a TrialBatch"),
        (lambda: ClassificationTask().ideal_logits(TrialBatch(np.zeros((2, 21, 3)), None, None, None)),
         ValueError, r"inputs must have shape \('any', 22, 3\); got array of shape \(2, 21, 3\)"),
        (lambda: ClassificationTask(sigma=0.0).ideal_logits(TrialBatch(np.zeros((1, 22, 3)), None, None, None)),
         ValueError, "sigma must be > 0 for the ideal observer"),
        (lambda: ClassificationTask(boundary="circular", noise="anisotropic").ideal_logits(
            ClassificationTask().sample_arrays(1, np.random.default_rng(0))),
         NotImplementedError, "the circular ideal observer needs an isotropic posterior"),
        (lambda: ClassificationTask().ideal_observer({"inputs": 1}), TypeError, "trials must be an xarray.Dataset; got dict"),
        (lambda: ClassificationTask().ideal_observer(xr.Dataset()), ValueError, "trials must contain 'inputs'"),
        (lambda: ClassificationTask(n_tasks=2).ideal_observer(_encoded(ClassificationTask(n_tasks=2))),
         ValueError, r"trials\['inputs'\] must hold the raw channels \['fixation', 'stimulus_0', 'stimulus_1'\]"),
        (lambda: ClassificationTask().ideal_observer(
            ClassificationTask().sample(2, rng=0).transpose("time", "trial", "input", "output", "latent")),
         ValueError, r"trials\['inputs'\] must have dims \('trial', 'time', 'input'\)"),
    ],
)
def test_bad_calls_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("options", [
    {}, {"boundary": "circular"}, {"boundary": "multiplicative"}, {"noise": "ar1", "noise_params": {"ar": 0.5}},
    {"trials_per_sequence": 3},
])
def test_ideal_logits_at_one_step_equal_that_step_of_all_steps(rng, options):
    task = ClassificationTask(n_tasks=4, **options)
    batch = task.sample_arrays(5, rng)
    every = task.ideal_logits(batch)
    n_time = every.shape[1]
    for step in [*range(n_time), -1, -n_time]:
        np.testing.assert_allclose(task.ideal_logits(batch, step=step), every[:, step], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("step, error, match", [
    (22, ValueError, r"step must be an integer in \[-22, 21\]; got 22"),
    (-23, ValueError, r"step must be an integer in \[-22, 21\]; got -23"),
    (1.5, TypeError, r"step must be an integer; got float 1.5"),
])
def test_ideal_logits_refuse_a_bad_step(rng, step, error, match):
    task = ClassificationTask(n_tasks=2)
    with pytest.raises(error, match=match):
        task.ideal_logits(task.sample_arrays(1, rng), step=step)
