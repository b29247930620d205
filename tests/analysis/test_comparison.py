"""Scoring given states against a given recording (pure): known answers and refusals."""

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis.comparison import check_recording, comparison_summary, recording_predictivity
from neurodis.analysis.similarity import ridge_predictivity


def _recording(rng, states, n_neurons=3, noise_sd=0.5, session=4):
    counts = states.values @ rng.normal(size=(states.sizes["unit"], n_neurons))
    counts = counts + noise_sd * rng.normal(size=counts.shape)
    pulses = rng.integers(-4, 5, size=(states.sizes["trial"], 2))
    return xr.Dataset({"counts": (("trial", "unit"), counts), "pulses": (("trial", "pulse"), pulses)},
                      attrs={"session": session, "monkey": "n"})


def test_the_score_is_the_ridge_fit_and_the_nulls_share_its_folds(rng):
    states = xr.DataArray(rng.normal(size=(80, 4)), dims=("trial", "unit"), attrs={"network": "net", "summary": "final"})
    recording = _recording(rng, states)
    nulls = [xr.DataArray(rng.normal(size=(80, 4)), dims=("trial", "unit")) for _ in range(2)]
    result = recording_predictivity(states, recording, nulls=nulls, n_folds=3, n_shuffles=4, rng=11)
    direct = ridge_predictivity(states, recording.counts, null=None, n_folds=3, rng=11)
    np.testing.assert_array_equal(result.r2.values, direct.r2.values)
    assert float(result.score) > 0.5 > float(result.null_untrained.max())
    assert result.attrs["session"] == 4 and result.attrs["ridge_seed"] == 11 and result.attrs["network"] == "net"
    assert result.sizes["shuffle_draw"] == 4 and result.sizes["untrained"] == 2
    # a Generator gives one integer seed, the same as drawing it by hand
    again = recording_predictivity(states, recording, n_folds=3, n_shuffles=4, rng=np.random.default_rng(5))
    assert again.attrs["ridge_seed"] == int(np.random.default_rng(5).integers(2**63))
    assert "null_untrained" not in again


def test_the_summary_counts_the_sessions_beating_each_null(rng):
    states = xr.DataArray(rng.normal(size=(60, 3)), dims=("trial", "unit"))
    sessions = {s: recording_predictivity(states, _recording(rng, states, session=s), n_folds=3, n_shuffles=9,
                                          nulls=[states * 0 + rng.normal(size=(60, 3))], rng=s) for s in (1, 2)}
    summary = comparison_summary(sessions, alpha=0.2)
    assert summary.session.values.tolist() == [1, 2] and summary.attrs["n_beat_shuffle"] == 2
    # one untrained network gives p >= 1/2: no session can beat that null at alpha=0.2
    assert summary.attrs["n_sessions"] == 2 and summary.attrs["n_beat_untrained"] == 0
    assert summary.untrained_median.sizes["session"] == 2
    assert summary.attrs["median_score"] == pytest.approx(float(np.median(summary.score)))


def test_bad_recordings_and_summaries_are_refused(rng):
    with pytest.raises(TypeError, match="recording must be a Dataset"):
        check_recording(np.zeros(3))
    with pytest.raises(ValueError, match=r"recording must hold 'counts' with dims \('trial', 'unit'\)"):
        check_recording(xr.Dataset({"counts": ("trial", [1.0])}))
    with pytest.raises(TypeError, match="sessions must be a non-empty mapping"):
        comparison_summary({})
    states = xr.DataArray(rng.normal(size=(30, 2)), dims=("trial", "unit"))
    one = {0: recording_predictivity(states, _recording(rng, states), n_folds=3, n_shuffles=2, rng=0)}
    with pytest.raises(ValueError, match="alpha must be > 0.0"):
        comparison_summary(one, alpha=0.0)
