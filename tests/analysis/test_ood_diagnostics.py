"""The extrapolation diagnostics of the OOD decoders (neurodis.analysis.ood_diagnostics)."""

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis import decode, fit_ood_decoders
from neurodis.analysis._decoder_kernels import RIDGE_GRID
from neurodis.analysis.ood_diagnostics import extrapolating_units, ridge_penalty_position


@pytest.fixture(scope="module")
def planted():
    """Two units carry x; a third is active on a few training trials of fold Q3 (x0 < -0.35 and
    0 <= x1 < 0.01, inside Q2) with tiny values, and on every Q3 trial with x0 < -0.35 with values
    up to 50 times larger: least squares fits its weight to the noise of those few trials."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (2000, 2))
    rare = np.maximum(-x[:, 0] - 0.35, 0) * np.maximum(0.01 - x[:, 1], 0) * 100
    rates = xr.DataArray(np.c_[x + 0.02 * rng.normal(size=(2000, 2)), rare], dims=("trial", "unit"))
    latents = xr.DataArray(x, dims=("trial", "latent"))
    return rates, latents, fit_ood_decoders(rates, latents, rng=0)


def test_the_planted_unit_is_named_in_its_fold_only_and_clamping_it_restores_the_score(planted):
    rates, latents, result = planted
    units = extrapolating_units(rates, result)
    expected = np.zeros((4, 3), dtype=bool)
    expected[2, 2] = True  # fold Q3, the rare unit
    np.testing.assert_array_equal(units["extrapolates"].values, expected)
    np.testing.assert_array_equal(units["n_extrapolating"].values, [0, 0, 1, 0])
    q3 = units.sel(fold="Q3")
    assert int(q3["n_train_active"].sel(unit=2)) <= 10 and int(q3["n_test_active"].sel(unit=2)) > 100
    # least squares leans on it (a weight hundreds of times the others'), and it wrecks Q3
    assert float(q3["weight_norm"].sel(unit=2)) > 0.5 and float(result["r2_paper"].sel(fold="Q3")) < 0
    # the score is recomputed from the weights exactly as fit_ood_decoders scored it
    np.testing.assert_allclose(units["r2_paper"].values, result["r2_paper"].values, rtol=1e-12)
    # clamped by hand: the unit at its training mean, the same decoder, the held-out trials
    role = result["trial_role"].sel(fold="Q3").values
    held = rates.values.copy()
    held[:, 2] = rates.values[role == 1, 2].mean()
    decoder = result.sel(fold="Q3")[["weights", "bias"]]
    pred = decode(decoder, xr.DataArray(held[role == 2], dims=("trial", "unit"))).values
    by_hand = 1 - np.mean((pred - latents.values[role == 2]) ** 2) * 12
    assert float(q3["r2_paper_clamped"]) == pytest.approx(by_hand, abs=1e-12)
    assert by_hand > 0.99
    # the unit's contribution: RMS over Q3 of |w (r - training mean)|
    weight = result["weights"].sel(fold="Q3", unit=2).values
    shift = rates.values[role == 2, 2] - rates.values[role == 1, 2].mean()
    assert float(q3["contribution"].sel(unit=2)) == pytest.approx(np.sqrt(np.mean(shift**2)) * np.linalg.norm(weight))
    np.testing.assert_array_equal(units["r2_paper_clamped"].sel(fold=["Q1", "Q2", "Q4"]),
                                  units["r2_paper"].sel(fold=["Q1", "Q2", "Q4"]))


def test_which_units_extrapolate_depends_on_the_rates_not_the_decoder(planted):
    rates, latents, _ = planted
    ridge = fit_ood_decoders(rates, latents, method="ridge_cv", rng=0)
    lstsq, penalised = extrapolating_units(rates, fit_ood_decoders(rates, latents, rng=0)), \
        extrapolating_units(rates, ridge)
    xr.testing.assert_equal(lstsq["extrapolates"], penalised["extrapolates"])
    assert float(penalised["weight_norm"].sel(fold="Q3", unit=2)) < float(lstsq["weight_norm"].sel(fold="Q3", unit=2))
    # criteria: nothing is rare enough with no training trial allowed, everything with a loose test share
    assert not extrapolating_units(rates, ridge, max_train_active=0)["extrapolates"].any()
    assert extrapolating_units(rates, ridge, min_test_fraction=1e-3)["n_extrapolating"].sel(fold="Q3") >= 1


def test_a_prefixed_decoder_of_a_generalization_result_is_read_by_its_prefix(planted):
    rates, latents, result = planted
    ridge = fit_ood_decoders(rates, latents, method="ridge_cv", rng=0)
    combined = result.assign(ridge_weights=ridge["weights"], ridge_bias=ridge["bias"])
    np.testing.assert_allclose(extrapolating_units(rates, combined, prefix="ridge_")["r2_paper"].values,
                               ridge["r2_paper"].values, rtol=1e-12)


def test_time_resolved_rates_give_each_step_its_own_diagnostics(planted):
    rates, latents, _ = planted
    scale = xr.DataArray([0.5, 1.0, 2.0], dims="time", coords={"time": [100.0, 200.0, 300.0]})
    over_time = (rates * scale).transpose("trial", "time", "unit")
    result = fit_ood_decoders(over_time, latents, rng=0)
    units = extrapolating_units(over_time, result)
    assert units["extrapolates"].dims == ("fold", "time", "unit") and units["r2_paper"].dims == ("fold", "time")
    for k in range(3):
        step = extrapolating_units(over_time.isel(time=k, drop=True), result.isel(time=k, drop=True))
        np.testing.assert_allclose(units["r2_paper_clamped"].isel(time=k).values, step["r2_paper_clamped"].values,
                                   rtol=1e-10)
        np.testing.assert_array_equal(units["extrapolates"].isel(time=k).values, step["extrapolates"].values)


def test_ridge_penalty_position_reads_the_grid_value_and_flags_its_ends(planted, rng):
    rates, latents, _ = planted
    ridge = fit_ood_decoders(rates, latents, method="ridge_cv", rng=0)
    position = ridge_penalty_position(rates, ridge)
    # the relative penalty is a grid value, and that value times the training scale is the penalty used
    np.testing.assert_allclose(position["alpha_relative"].values, RIDGE_GRID[position["grid_index"].values],
                               rtol=1e-12)
    np.testing.assert_array_equal(position["at_grid_end"].values,
                                  np.isin(position["grid_index"].values, [0, RIDGE_GRID.size - 1]))
    # units unrelated to x ask for the most shrinkage the grid offers
    noise = xr.DataArray(rng.normal(size=(2000, 5)), dims=("trial", "unit"))
    shrunk = ridge_penalty_position(noise, fit_ood_decoders(noise, latents, method="ridge_cv", rng=0))
    assert shrunk["grid_index"].min() >= RIDGE_GRID.size - 3 and shrunk["at_grid_end"].any()


def test_ridge_penalty_position_of_constant_steps_uses_the_kernels_unit_scale(planted):
    rates, latents, _ = planted
    over_time = xr.concat([xr.zeros_like(rates) + 1.0, rates], dim="time").transpose("trial", "time", "unit")
    position = ridge_penalty_position(over_time, fit_ood_decoders(over_time, latents, method="ridge_cv", rng=0))
    assert position["alpha_relative"].dims == ("fold", "time")
    assert np.all(np.isin(position["alpha_relative"].isel(time=0).values, RIDGE_GRID))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda r, res: extrapolating_units(r.values, res), TypeError, "rates must be an xarray.DataArray"),
        (lambda r, res: extrapolating_units(r, res["weights"]), TypeError, "result must be a Dataset"),
        (lambda r, res: extrapolating_units(r.rename(unit="neuron"), res), ValueError,
         r"rates must have dims \('trial', 'unit'\)"),
        (lambda r, res: extrapolating_units(r, res.drop_vars("trial_role")), ValueError,
         r"result must contain .*missing \['trial_role'\]"),
        (lambda r, res: extrapolating_units(r, res, prefix="ridge_"), ValueError, r"missing \['ridge_weights'"),
        (lambda r, res: extrapolating_units(r.isel(trial=slice(10)), res), ValueError,
         "rates must be the 2000 trials x 3 units the result was fit on"),
        (lambda r, res: extrapolating_units(r.expand_dims(time=[0.0]).transpose("trial", "time", "unit"), res),
         ValueError, r"rates and result\['weights'\] must both have a 'time' dim or neither"),
        (lambda r, res: extrapolating_units(r * np.nan, res), ValueError, "rates must be finite"),
        (lambda r, res: extrapolating_units(r, res, threshold=-1.0), ValueError, "threshold must be >= 0.0"),
        (lambda r, res: extrapolating_units(r, res, max_train_active=-1), ValueError,
         "max_train_active must be an integer >= 0"),
        (lambda r, res: extrapolating_units(r, res, min_test_fraction=0.0), ValueError,
         "min_test_fraction must be > 0.0"),
        (lambda r, res: ridge_penalty_position(r, res), ValueError,
         r"result.attrs must hold 'ridge_grid_relative' \(a method='ridge_cv' result\)"),
        (lambda r, res: ridge_penalty_position(r, res, prefix="ridge_"), ValueError, r"missing \['ridge_alpha'\]"),
    ],
)
def test_diagnostics_reject_bad_input(planted, call, error, match):
    rates, _, result = planted
    with pytest.raises(error, match=match):
        call(rates, result)
