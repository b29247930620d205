"""How well network rates predict recorded spike counts, trial by trial (pure).

Given a network's rates on the very trials of a recording (one row per trial, e.g.
from :func:`neurodis.experiments.network_rates`) and the recording's spike counts
``(trial, unit)``, each neuron's count is predicted from the rates by cross-validated
ridge regression (:func:`~neurodis.analysis.similarity.ridge_predictivity`: out-of-fold
R² per neuron, penalty chosen per neuron inside each training fold). Two nulls say
what that R² is worth:

* **shuffle** — the trials of the recording are permuted (the pairing of a network
  state with a neuron's count on the same stimulus is broken);
* **untrained** — the rates of other networks (e.g. untrained ones of the same
  architecture) on the same trials, scored with the same folds.

Running the networks and reading the recordings is the experiment's job
(:func:`neurodis.experiments.compare_with_recording`); this module only scores.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_real, check_rng, check_type, describe
from neurodis._version import __version__
from neurodis.analysis.similarity.predictivity import DEFAULT_ALPHAS, ridge_predictivity
from neurodis.trials import TRIAL, UNIT

__all__ = ["check_recording", "comparison_summary", "recording_predictivity"]

PULSE = "pulse"
SESSION = "session"


def check_recording(recording: Any) -> xr.Dataset:
    """``recording`` if it holds ``counts (trial, unit)`` and ``pulses (trial, pulse)``.

    Raises
    ------
    TypeError
        If ``recording`` is not a Dataset.
    ValueError
        If a variable is missing or has other dims.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> check_recording(xr.Dataset({"counts": (("trial", "unit"), np.ones((2, 1)))}))
    Traceback (most recent call last):
    ...
    ValueError: recording must hold 'pulses' with dims ('trial', 'pulse'); got no such variable
    """
    check_type("recording", recording, xr.Dataset, "a Dataset with 'counts' (trial, unit) and 'pulses' (trial, pulse)")
    for name, dims in (("counts", (TRIAL, UNIT)), ("pulses", (TRIAL, PULSE))):
        if name not in recording or set(recording[name].dims) != set(dims):
            got = describe(recording[name]) if name in recording else "no such variable"
            raise ValueError(f"recording must hold {name!r} with dims {dims}; got {got}")
    return recording


def recording_predictivity(
    rates: xr.DataArray, recording: xr.Dataset, *, nulls: Sequence[xr.DataArray] = (), n_folds: int = 5,
    n_shuffles: int = 100, alphas: Sequence[float] = DEFAULT_ALPHAS, rng: Any = None,
) -> xr.Dataset:
    """Predict a recording's spike counts from rates on the same trials, with two nulls.

    Parameters
    ----------
    rates : xarray.DataArray
        ``(trial, unit)`` network rates, trial ``i`` on the stimulus of the recording's
        trial ``i`` (trial coords shared with the recording are checked to agree).
    recording : xarray.Dataset
        ``counts (trial, unit)`` and ``pulses (trial, pulse)``; attrs ``session`` and
        ``monkey`` are copied when present.
    nulls : sequence of xarray.DataArray
        Rates of other networks on the same trials (the untrained null; empty skips it).
    n_folds, n_shuffles, alphas
        Cross-validation folds, trial shuffles in the shuffle null, ridge penalties.
    rng : int, Generator, SeedSequence or None
        One integer seed (drawn from it unless it is one) fixes the folds of the score
        and of every null, so they are compared on the same splits.

    Returns
    -------
    xarray.Dataset
        ``r2 (unit)`` per recorded neuron, ``score`` (mean over neurons),
        ``null_shuffle (shuffle_draw)``, ``p_shuffle`` and, with ``nulls``,
        ``null_untrained (untrained)`` and ``p_untrained``; attrs ``session``,
        ``monkey``, ``n_trials``, sizes, the rates' ``network``/``summary``/``window_ms``,
        ridge parameters and ``ridge_seed``.

    Raises
    ------
    TypeError, ValueError
        If the recording lacks ``counts``/``pulses`` with the right dims, or the rates
        do not fit (see :func:`~neurodis.analysis.similarity.ridge_predictivity`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> x = xr.DataArray(rng.normal(size=(60, 3)), dims=("trial", "unit"))
    >>> counts = x.values @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(60, 2))
    >>> rec = xr.Dataset({"counts": (("trial", "unit"), counts), "pulses": (("trial", "pulse"), np.zeros((60, 2)))})
    >>> result = recording_predictivity(x, rec, n_shuffles=5, rng=0)
    >>> bool(result["score"] > 0.9), int(result.sizes["shuffle_draw"])
    (True, 5)
    """
    recording = check_recording(recording)
    counts = recording["counts"].astype(np.float64)
    seed = int(rng) if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) else int(
        check_rng(rng).integers(2**63))
    ridge = {"n_shuffles": n_shuffles, "n_folds": n_folds, "alphas": alphas, "rng": seed}
    # the same integer seed gives the same folds for the score and every null draw
    shuffled = ridge_predictivity(rates, counts, null="shuffle", **ridge)
    ds = xr.Dataset(
        {
            "r2": shuffled["r2"],
            "score": shuffled["score"],
            "null_shuffle": shuffled["null"].rename(null_draw="shuffle_draw"),
            "p_shuffle": shuffled["p_value"],
        },
        attrs={
            SESSION: int(recording.attrs.get(SESSION, -1)), "monkey": str(recording.attrs.get("monkey", "")),
            "n_trials": int(counts.sizes[TRIAL]), "n_units_recorded": int(counts.sizes[UNIT]),
            "n_units_model": int(rates.sizes[UNIT]),
            **{key: rates.attrs[key] for key in ("network", "summary", "window_ms") if key in rates.attrs},
            "ridge": shuffled.attrs["params"], "ridge_seed": seed,
        },
    )
    if nulls:
        untrained = ridge_predictivity(rates, counts, null=list(nulls), **ridge)
        ds["null_untrained"] = untrained["null"].rename(null_draw="untrained")
        ds["p_untrained"] = untrained["p_value"]
    ds["r2"].attrs["long_name"] = "out-of-fold R² of each neuron's spike count"
    return ds


def comparison_summary(sessions: Mapping[int, xr.Dataset], *, alpha: float = 0.05) -> xr.Dataset:
    """Per-session scores and nulls along ``session``, with medians and counts in attrs.

    Parameters
    ----------
    sessions : mapping of int to xarray.Dataset
        Results of :func:`recording_predictivity` keyed by session index.
    alpha : float
        Significance level for ``n_beat_shuffle`` and ``n_beat_untrained``.

    Returns
    -------
    xarray.Dataset
        Along ``session``: ``score``, ``p_shuffle``, ``shuffle_median``, ``shuffle_q95``,
        ``n_units``, ``n_trials``, ``monkey`` and, with the untrained null,
        ``p_untrained``, ``untrained_median``, ``untrained_q95`` (medians, as an
        untrained network can give a wildly negative R²); attrs ``alpha``,
        ``n_sessions``, ``median_score``, ``median_unit_r2``, ``median_shuffle``,
        ``n_beat_shuffle`` (and ``median_untrained``, ``n_beat_untrained``).

    Raises
    ------
    TypeError
        If ``sessions`` is not a non-empty mapping.
    ValueError
        If ``alpha`` is not in (0, 1].
    """
    if not isinstance(sessions, Mapping) or not sessions:
        raise TypeError(f"sessions must be a non-empty mapping of session index to Dataset; got {describe(sessions)}")
    alpha = check_real("alpha", alpha, minimum=0.0, maximum=1.0, strict_minimum=True)
    keys = list(sessions)
    first = sessions[keys[0]]

    def column(fn: Any) -> list[Any]:
        return [fn(sessions[k]) for k in keys]

    data: dict[str, Any] = {
        "score": (SESSION, column(lambda d: float(d["score"]))),
        "p_shuffle": (SESSION, column(lambda d: float(d["p_shuffle"]))),
        "shuffle_median": (SESSION, column(lambda d: float(d["null_shuffle"].median()))),
        "shuffle_q95": (SESSION, column(lambda d: float(d["null_shuffle"].quantile(0.95)))),
        "n_units": (SESSION, column(lambda d: d.attrs["n_units_recorded"])),
        "n_trials": (SESSION, column(lambda d: d.attrs["n_trials"])),
        "monkey": (SESSION, column(lambda d: d.attrs["monkey"])),
    }
    if "null_untrained" in first:
        data.update(
            p_untrained=(SESSION, column(lambda d: float(d["p_untrained"]))),
            untrained_median=(SESSION, column(lambda d: float(d["null_untrained"].median()))),
            untrained_q95=(SESSION, column(lambda d: float(d["null_untrained"].quantile(0.95)))),
        )
    ds = xr.Dataset(data, coords={SESSION: keys})
    unit_r2 = np.concatenate([d["r2"].values for d in sessions.values()])
    ds.attrs.update(
        alpha=alpha, n_sessions=len(keys), median_score=float(ds["score"].median()),
        median_unit_r2=float(np.nanmedian(unit_r2)), median_shuffle=float(ds["shuffle_median"].median()),
        n_beat_shuffle=int(np.sum(ds["p_shuffle"].values < alpha)), neurodis_version=__version__,
    )
    if "p_untrained" in ds:
        ds.attrs.update(median_untrained=float(ds["untrained_median"].median()),
                        n_beat_untrained=int(np.sum(ds["p_untrained"].values < alpha)))
    return ds
