"""Recordings from the lab in the trials schema, and simulated sessions out to other tools.

``arrays``: plain arrays → recording Datasets, spike binning, rebinning, trial averages,
netCDF input/output. ``nwb``: NWB files in (pynwb, optional extra ``nwb``);
``nwb_export``: simulated sessions out to NWB. ``pynapple_io``: conversion to and from
pynapple (optional extra ``pynapple``). ``session``: the one session clock both use, and
Poisson spikes. ``registry``: the real datasets' sources, licences and checksums, found
locally or downloaded into a user cache (optional extra ``data``). ``datasets``: loaders
for the real LIP, M1-reach and BCI datasets.
"""

from neurodis.recordings.arrays import (
    bin_spikes,
    from_arrays,
    load_recording,
    rebin,
    save_recording,
    trial_average,
    validate_recording,
)
from neurodis.recordings.datasets import (
    data_dir,
    lip_sessions,
    load_bci,
    load_lip_behavior,
    load_lip_session,
    load_m1_reach,
)
from neurodis.recordings.nwb import load_nwb
from neurodis.recordings.nwb_export import save_nwb
from neurodis.recordings.pynapple_io import from_pynapple, to_pynapple
from neurodis.recordings.registry import REGISTRY, cache_dir, fetch, locate
from neurodis.recordings.session import poisson_spikes, session_times

__all__ = [
    "REGISTRY",
    "bin_spikes",
    "cache_dir",
    "data_dir",
    "fetch",
    "from_arrays",
    "from_pynapple",
    "lip_sessions",
    "load_bci",
    "load_lip_behavior",
    "load_lip_session",
    "load_m1_reach",
    "load_nwb",
    "load_recording",
    "locate",
    "poisson_spikes",
    "rebin",
    "save_nwb",
    "save_recording",
    "session_times",
    "to_pynapple",
    "trial_average",
    "validate_recording",
]
