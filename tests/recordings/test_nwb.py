"""NWB input: a small file written by the test is binned back into counts."""

from datetime import UTC, datetime

import numpy as np
import pytest

from neurodis.recordings import bin_spikes, load_nwb

pynwb = pytest.importorskip("pynwb", reason="pynwb (the optional 'nwb' extra) is not installed")

SPIKES = [np.array([0.05, 0.12, 0.31, 1.02, 1.05, 2.4]), np.array([0.5, 1.5, 2.05, 2.06]), np.array([2.9])]
STARTS = np.array([0.0, 1.0, 2.0])
STIM_ON = STARTS + 0.1
CONDITION = ["left", "right", "left"]


def _nwbfile(units=True, trials=True, spike_times=True):
    nwbfile = pynwb.NWBFile(session_description="synthetic", identifier="neurodis-test",
                            session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    if units and not spike_times:
        nwbfile.add_unit_column(name="quality", description="sorting quality")
        nwbfile.add_unit(quality="good")
    elif units:
        for times in SPIKES:
            nwbfile.add_unit(spike_times=times)
    if trials:
        nwbfile.add_trial_column(name="condition", description="stimulus side")
        nwbfile.add_trial_column(name="stim_on", description="stimulus onset (s)")
        for start, on, cond in zip(STARTS, STIM_ON, CONDITION):
            nwbfile.add_trial(start_time=start, stop_time=start + 0.9, condition=cond, stim_on=on)
    return nwbfile


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nwb")
    paths = {}
    cases = {"full": {}, "no_units": {"units": False}, "no_trials": {"trials": False},
             "no_spike_times": {"spike_times": False}}
    for name, kwargs in cases.items():
        paths[name] = folder / f"{name}.nwb"
        with pynwb.NWBHDF5IO(str(paths[name]), "w") as io:
            io.write(_nwbfile(**kwargs))
    return paths


def test_round_trip_bins_spike_times_per_trial(files):
    ds = load_nwb(files["full"], start_ms=0, stop_ms=400, bin_ms=100)
    expected = bin_spikes(SPIKES, STARTS, start_ms=0, stop_ms=400, bin_ms=100).counts.values
    np.testing.assert_array_equal(ds.counts.values, expected)
    # by hand: trial 0 of unit 0 has spikes at 50, 120, 310 ms
    assert ds.counts.values[0, :, 0].tolist() == [1, 1, 0, 1]
    assert ds.condition.values.tolist() == CONDITION and ds.unit.values.tolist() == [0, 1, 2]
    assert ds.attrs["identifier"] == "neurodis-test" and ds.time.attrs["units"] == "ms"


def test_alignment_to_another_trial_column(files):
    ds = load_nwb(files["full"], start_ms=-100, stop_ms=200, bin_ms=50, align_to="stim_on", trial_columns=["condition"])
    expected = bin_spikes(SPIKES, STIM_ON, start_ms=-100, stop_ms=200, bin_ms=50).counts.values
    np.testing.assert_array_equal(ds.counts.values, expected)
    assert "stim_on" not in ds.coords and ds.attrs["align_to"] == "stim_on"


def test_files_without_the_expected_tables_or_columns_are_refused(files):
    window = {"start_ms": 0, "stop_ms": 100, "bin_ms": 10}
    with pytest.raises(ValueError, match=r"has no Units table with units \(nwbfile.units\)"):
        load_nwb(files["no_units"], **window)
    with pytest.raises(ValueError, match=r"the Units table of .* has no 'spike_times' column; columns: \['quality'\]"):
        load_nwb(files["no_spike_times"], **window)
    with pytest.raises(ValueError, match=r"has no trials table with trials \(nwbfile.trials\)"):
        load_nwb(files["no_trials"], **window)
    with pytest.raises(ValueError, match="align_to must be a column of the trials table .*; got 'go_cue'"):
        load_nwb(files["full"], align_to="go_cue", **window)
    with pytest.raises(ValueError, match=r"trial_columns \['reward'\] are not columns of the trials table"):
        load_nwb(files["full"], trial_columns=["reward"], **window)
    with pytest.raises(FileNotFoundError, match="path must be an existing NWB file"):
        load_nwb(files["full"].with_name("absent.nwb"), **window)
