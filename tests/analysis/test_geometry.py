"""Known-answer tests of PCA, participation ratio, sparseness, activity and tuning maps."""

import numpy as np
import pytest
import xarray as xr

from neurodis._validation import NeurodisWarning
from neurodis.analysis import fraction_active, lifetime_sparseness, participation_ratio, pca, tuning_maps


def _trajectories(rng, n_trials=12, n_steps=5, n_units=7):
    """Anisotropic random states (trial, time, unit) with a quadrant coord on trial."""
    x = rng.normal(size=(n_trials, n_steps, n_units)) * np.linspace(3.0, 0.2, n_units)
    return xr.DataArray(
        x,
        dims=("trial", "time", "unit"),
        coords={"time": np.arange(n_steps) * 100.0, "quadrant": ("trial", rng.integers(1, 5, n_trials))},
    )


# --------------------------------------------------------------------------- PCA
def test_pca_matches_sklearn_and_numpy_svd(rng):
    from sklearn.decomposition import PCA

    states = _trajectories(rng)
    result = pca(states, n_components=4)
    flat = states.values.reshape(-1, 7)
    reference = PCA(n_components=4).fit(flat)
    np.testing.assert_allclose(result["explained_variance"], reference.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(
        result["explained_variance_ratio"], reference.explained_variance_ratio_, rtol=1e-10
    )
    # components agree up to one sign per component
    signs = np.sign(np.sum(result["components"].values * reference.components_, axis=1))
    np.testing.assert_allclose(
        result["components"].values, signs[:, None] * reference.components_, atol=1e-10
    )
    projections = result["projections"].values.reshape(-1, 4)
    np.testing.assert_allclose(projections, signs * reference.transform(flat), atol=1e-10)
    # eigenvalues of the sample covariance, computed independently
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(flat, rowvar=False)))[::-1]
    np.testing.assert_allclose(result["explained_variance"], eigenvalues[:4], rtol=1e-10)


def test_pca_keeps_labels_and_reconstructs(rng):
    states = _trajectories(rng)
    result = pca(states)
    assert result["projections"].dims == ("trial", "time", "component")
    np.testing.assert_array_equal(result["projections"]["quadrant"], states["quadrant"])
    np.testing.assert_array_equal(result["projections"]["time"], states["time"])
    assert result.sizes["component"] == 7
    rebuilt = result["projections"].values @ result["components"].values + result["mean"].values
    np.testing.assert_allclose(rebuilt, states.values, atol=1e-10)
    loadings = result["components"].values
    assert np.all(loadings[np.arange(7), np.argmax(np.abs(loadings), axis=1)] > 0)
    np.testing.assert_allclose(result["explained_variance_ratio"].sum(), 1.0)


def test_pca_of_condition_averaged_recordings(rng):
    states = _trajectories(rng).rename(trial="condition").transpose("unit", "condition", "time")
    result = pca(states, n_components=2, sample_dims=("condition", "time"))
    assert result["projections"].dims == ("condition", "time", "component")
    assert result["components"].dims == ("component", "unit")


def test_pca_errors(rng):
    states = _trajectories(rng)
    with pytest.raises(TypeError, match="rates must be an xarray.DataArray"):
        pca(states.values)
    with pytest.raises(ValueError, match=r"rates must have dims \('trial', 'unit'\)"):
        pca(states, sample_dims=("trial",))
    with pytest.raises(ValueError, match="n_components must be an integer in"):
        pca(states, n_components=8)
    with pytest.raises(ValueError, match="rates must have at least 2 samples"):
        pca(states.isel(trial=[0], time=[0]))
    with pytest.raises(ValueError, match="rates must be finite"):
        pca(states.where(states > 0))


# --------------------------------------------------------------------------- participation ratio
def test_participation_ratio_known_answers(rng):
    """±e_i for i < d, rotated into 9 units, has covariance ∝ the identity on d dims
    (PR = d exactly); any rank-1 cloud has PR = 1."""
    rotation, _ = np.linalg.qr(rng.normal(size=(9, 9)))
    for d in (1, 2, 5):
        points = np.vstack([np.eye(9)[:d], -np.eye(9)[:d]]) @ rotation
        states = xr.DataArray(points, dims=("trial", "unit"))
        np.testing.assert_allclose(participation_ratio(states, sample_dims=("trial",)), d, rtol=1e-12)
    rank_one = np.outer(rng.normal(size=30), rng.normal(size=9))
    states = xr.DataArray(rank_one, dims=("trial", "unit"))
    np.testing.assert_allclose(participation_ratio(states, sample_dims=("trial",)), 1.0, rtol=1e-12)


def test_participation_ratio_against_covariance_and_pca(rng):
    states = _trajectories(rng)
    eigenvalues = np.linalg.eigvalsh(np.cov(states.values.reshape(-1, 7), rowvar=False))
    expected = eigenvalues.sum() ** 2 / np.sum(eigenvalues**2)
    np.testing.assert_allclose(participation_ratio(states), expected, rtol=1e-10)
    np.testing.assert_allclose(
        float(pca(states, n_components=1)["participation_ratio"]), expected, rtol=1e-10
    )


def test_participation_ratio_errors():
    flat = xr.DataArray(np.ones((4, 3)), dims=("trial", "unit"))
    with pytest.raises(ValueError, match="rates must vary across samples"):
        participation_ratio(flat, sample_dims=("trial",))


# --------------------------------------------------------------------------- sparseness
def test_lifetime_sparseness_known_answers(rng):
    m = 6
    one_hot = np.eye(m)[:, :1] * 3.0
    constant = np.full((m, 1), 2.5)
    positive = rng.exponential(size=(m, 3))
    rates = xr.DataArray(
        np.hstack([one_hot, constant, positive]),
        dims=("trial", "unit"),
        coords={"unit": ["hot", "flat", "a", "b", "c"]},
    )
    result = lifetime_sparseness(rates)
    np.testing.assert_allclose(result["sparseness"].sel(unit=["hot", "flat"]), [1.0, 0.0], atol=1e-12)
    # closed form, unit by unit with plain Python sums
    for j, unit in enumerate(["a", "b", "c"]):
        r = positive[:, j]
        mean, mean_sq = sum(r) / m, sum(v * v for v in r) / m
        expected = (1 - mean**2 / mean_sq) / (1 - 1 / m)
        np.testing.assert_allclose(float(result["sparseness"].sel(unit=unit)), expected, rtol=1e-12)
    np.testing.assert_allclose(float(result["mean_sparseness"]), result["sparseness"].mean(), rtol=1e-12)
    assert result.attrs["n_stimuli"] == m and result.attrs["n_silent"] == 0


def test_silent_units_are_nan_and_counted_or_excluded(rng):
    rates = xr.DataArray(np.hstack([rng.exponential(size=(5, 2)), np.zeros((5, 1))]), dims=("trial", "unit"))
    reported = lifetime_sparseness(rates)
    assert np.isnan(reported["sparseness"].values[2]) and reported.attrs["n_silent"] == 1
    np.testing.assert_array_equal(reported["silent"], [False, False, True])
    excluded = lifetime_sparseness(rates, silent="exclude")
    assert excluded.sizes["unit"] == 2 and excluded.attrs["n_silent"] == 1
    np.testing.assert_allclose(float(excluded["mean_sparseness"]), float(reported["mean_sparseness"]))


def test_lifetime_sparseness_pools_every_non_unit_dim(rng):
    states = _trajectories(rng).clip(min=0)
    pooled = lifetime_sparseness(states)
    flat = xr.DataArray(states.values.reshape(-1, 7), dims=("sample", "unit"))
    np.testing.assert_allclose(pooled["sparseness"], lifetime_sparseness(flat)["sparseness"])
    assert pooled.attrs["n_stimuli"] == 60


def test_lifetime_sparseness_errors():
    with pytest.raises(
        ValueError, match="rates must have at least 2 stimuli per unit for a sparseness; got 1"
    ):
        lifetime_sparseness(xr.DataArray(np.ones((1, 3)), dims=("trial", "unit")))
    with pytest.raises(ValueError, match="silent must be one of"):
        lifetime_sparseness(xr.DataArray(np.ones((2, 3)), dims=("trial", "unit")), silent="zero")
    with pytest.raises(ValueError, match="rates must have a 'unit' dim and at least one other dim"):
        lifetime_sparseness(xr.DataArray(np.ones((2, 3)), dims=("trial", "neuron")))
    with pytest.raises(TypeError, match="rates must be an xarray.DataArray"):
        fraction_active(np.ones((2, 3)))
    with pytest.warns(NeurodisWarning, match="rates has negative values"):
        lifetime_sparseness(xr.DataArray([[1.0], [-1.0]], dims=("trial", "unit")))


# --------------------------------------------------------------------------- activity
def test_fraction_active(rng):
    rates = xr.DataArray(np.hstack([np.zeros((4, 2)), rng.exponential(size=(4, 3))]), dims=("trial", "unit"))
    result = fraction_active(rates, threshold=1e-3)
    np.testing.assert_allclose(result["mean_rate"], rates.mean("trial"))
    np.testing.assert_array_equal(result["active"], [False, False, True, True, True])
    assert float(result["fraction_active"]) == 0.6
    with pytest.raises(TypeError, match="threshold must be a real number"):
        fraction_active(rates, threshold="low")


# --------------------------------------------------------------------------- tuning maps
def _latents(rng, n=2000):
    return xr.DataArray(
        rng.uniform(-0.5, 0.5, size=(n, 2)), dims=("trial", "latent"), coords={"latent": ["x0", "x1"]}
    )


def test_tuning_map_of_a_linear_unit(rng):
    """r = x0: each bin holds the mean x0 of its trials (reference: numpy histogram2d),
    which lies within the bin, so the map rises linearly along x0 and is flat along x1;
    the unit correlates 1 with x0 and ~0 with x1 (4 sd = 4/sqrt(n))."""
    latents = _latents(rng)
    x = latents.values
    rates = xr.DataArray(np.stack([x[:, 0], 2 * x[:, 1] + 1], axis=1), dims=("trial", "unit"))
    result = tuning_maps(rates, latents)
    assert result["tuning"].dims == ("unit", "x0_bin", "x1_bin") and result["tuning"].shape == (2, 8, 8)
    edges = [np.linspace(x[:, i].min(), x[:, i].max(), 9) for i in range(2)]
    count, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=edges)
    sums, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=edges, weights=x[:, 0])
    np.testing.assert_array_equal(result["count"], count)
    np.testing.assert_allclose(result["tuning"].isel(unit=0), sums / count, rtol=1e-12)
    width = edges[0][1] - edges[0][0]
    centres = result["x0_bin"].values
    assert np.all(np.abs(result["tuning"].isel(unit=0).values - centres[:, None]) <= width / 2)
    np.testing.assert_allclose(result["correlation"].values[:, 0], [1.0, 0.0], atol=4 / np.sqrt(len(x)))
    np.testing.assert_allclose(result["correlation"].values[:, 1], [0.0, 1.0], atol=4 / np.sqrt(len(x)))


def test_tuning_map_on_a_caller_grid(rng):
    """Trials run exactly at the grid's latents: every cell holds the unit's exact rate."""
    g0, g1 = np.linspace(-0.4, 0.4, 5), np.linspace(-0.3, 0.3, 4)
    grid_points = np.array([(a, b) for a in g0 for b in g1]).repeat(2, axis=0)
    latents = xr.DataArray(grid_points, dims=("trial", "latent"), coords={"latent": ["x0", "x1"]})
    rates = xr.DataArray((grid_points[:, 0] * grid_points[:, 1])[:, None], dims=("trial", "unit"))
    result = tuning_maps(rates, latents, grid=[g0, g1])
    np.testing.assert_allclose(result["tuning"].isel(unit=0), np.outer(g0, g1), atol=1e-15)
    np.testing.assert_array_equal(result["count"], 2)
    np.testing.assert_allclose(result["x1_bin"], g1)


def test_tuning_map_empty_bins_and_constant_units(rng):
    latents = _latents(rng, n=3)
    rates = xr.DataArray(np.ones((3, 1)), dims=("trial", "unit"))
    result = tuning_maps(rates, latents, n_bins=4, factors=["x1", "x0"])
    assert result["tuning"].dims == ("unit", "x1_bin", "x0_bin")
    assert int(result["count"].sum()) == 3 and int(np.isnan(result["tuning"]).sum()) >= 16 - 3
    assert np.all(np.isnan(result["correlation"]))


def test_tuning_map_errors(rng):
    latents = _latents(rng, n=10)
    rates = xr.DataArray(rng.normal(size=(10, 2)), dims=("trial", "unit"))
    with pytest.raises(ValueError, match="n_bins and grid are alternatives"):
        tuning_maps(rates, latents, n_bins=4, grid=[[0.0], [0.0]])
    with pytest.raises(ValueError, match="latents must have 10 trials to match rates; got 9"):
        tuning_maps(rates, latents.isel(trial=slice(9)))
    with pytest.raises(
        ValueError, match=r"factors must be two distinct latents of \['x0', 'x1'\]; got \['x0', 'x0'\]"
    ):
        tuning_maps(rates, latents, factors=["x0", "x0"])
    with pytest.raises(ValueError, match="factors must be two distinct latents"):
        tuning_maps(rates, latents.isel(latent=[0]))
    with pytest.raises(ValueError, match="grid must hold two 1-D arrays"):
        tuning_maps(rates, latents, grid=[[0.0]])
    with pytest.raises(ValueError, match=r"grid\['x0'\] must hold distinct values"):
        tuning_maps(rates, latents, grid=[[0.0, 0.0], [0.1]])
    with pytest.raises(ValueError, match=r"rates must have dims \('trial', 'unit'\)"):
        tuning_maps(rates.T, latents)
    with pytest.raises(ValueError, match="n_bins must be an integer >= 1"):
        tuning_maps(rates, latents, n_bins=0)
