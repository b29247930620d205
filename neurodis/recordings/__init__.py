"""Recordings from the lab in the trials schema.

``arrays``: plain arrays → recording Datasets, spike binning, rebinning, trial averages,
netCDF input/output. ``nwb``: NWB files (pynwb, optional extra ``nwb``). ``datasets``:
loaders for the real LIP, M1-reach and BCI datasets kept outside the package.
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

__all__ = [
    "bin_spikes",
    "data_dir",
    "from_arrays",
    "lip_sessions",
    "load_bci",
    "load_lip_behavior",
    "load_lip_session",
    "load_m1_reach",
    "load_nwb",
    "load_recording",
    "rebin",
    "save_recording",
    "trial_average",
    "validate_recording",
]
