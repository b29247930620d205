"""Loaders of the real datasets, checked against the reference numbers in each folder's README.

The data are read from the shared folder (never copied here); the tests skip with the
reason when the folder is absent.
"""

import csv

import numpy as np
import pytest

from neurodis.recordings import (
    data_dir,
    lip_sessions,
    load_bci,
    load_lip_behavior,
    load_lip_session,
    load_m1_reach,
)
from neurodis.recordings.datasets import DATA_ENV


@pytest.fixture(scope="module")
def root():
    try:
        return data_dir()
    except FileNotFoundError as err:
        pytest.skip(f"the shared recordings folder is not available here: {err}")


def test_data_dir_prefers_an_explicit_path_then_the_environment(tmp_path, monkeypatch):
    assert data_dir(tmp_path) == tmp_path
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=f"looked in .*absent.* set the environment variable {DATA_ENV}"):
        data_dir()


def test_a_folder_without_the_dataset_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="LIP.csv of dataset 'yates_lip_pulses' not found in "):
        load_lip_session(0, path=tmp_path)
    with pytest.raises(FileNotFoundError, match="exampleData.mat of dataset .golub_bci_m1. not found"):
        load_bci(path=tmp_path)


def test_lip_sessions_group_units_recorded_together(root):
    sessions = lip_sessions(path=root)
    assert sessions.sizes["session"] == 47 and int(sessions.n_units.sum()) == 200
    largest = int(np.argmax(sessions.n_units.values))
    assert (int(sessions.n_units[largest]), int(sessions.n_trials[largest])) == (16, 699)
    ds = load_lip_session(largest, path=root)
    assert ds.unit.values.tolist() == list(range(81, 97)) and ds.counts.dims == ("trial", "unit")
    assert ds.pulses.dims == ("trial", "pulse") and ds.attrs["monkey"] == "n"
    np.testing.assert_array_equal(ds.pulse_7.values, ds.pulses.sel(pulse=7).values)
    np.testing.assert_array_equal(ds.counts.coords["pulse_sum"], ds.pulses.sum("pulse"))


def test_lip_session_matches_an_independent_read_of_the_csv(root):
    with open(root / "yates_lip_pulses" / "LIP.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if 81 <= int(r["NeuronIndex"]) <= 96]
    counts = np.stack([[int(r["SpikeCount"]) for r in rows if int(r["NeuronIndex"]) == u] for u in range(81, 97)], axis=1)
    stim = [[int(r[f"Stimulus_{i}"]) for i in range(1, 8)] for r in rows if r["NeuronIndex"] == "81"]
    ds = load_lip_session(13, path=root)
    np.testing.assert_array_equal(ds.counts.values, counts)
    np.testing.assert_array_equal(ds.pulses.values, stim)


def test_lip_units_track_the_evidence_as_the_readme_reports(root):
    correlations = []
    for session in lip_sessions(path=root).session.values:
        ds = load_lip_session(int(session), path=root)
        correlations += [abs(np.corrcoef(ds.pulse_sum, ds.counts.sel(unit=u))[0, 1]) for u in ds.unit.values]
    assert len(correlations) == 200
    assert np.median(correlations) == pytest.approx(0.195, abs=0.0005)
    assert np.mean(np.array(correlations) > 0.2) == pytest.approx(0.495, abs=1e-9)


def test_lip_session_index_is_checked(root):
    with pytest.raises(ValueError, match=r"session must be an integer in \[0, 46\]; got 47"):
        load_lip_session(47, path=root)


def test_behavior_gives_the_readme_primacy_kernel(root):
    beh = load_lip_behavior(path=root)
    assert beh.sizes["trial"] == 105553
    assert float((beh.choice == beh.target).mean()) == pytest.approx(0.804, abs=0.0005)
    # logistic regression choice ~ 1 + pulses by Newton's method (IRLS), as in the README
    design = np.column_stack([np.ones(beh.sizes["trial"]), beh.pulses.values])
    choice, w = beh.choice.values.astype(float), np.zeros(8)
    for _ in range(20):
        p = 1 / (1 + np.exp(-design @ w))
        w += np.linalg.solve(design.T @ (design * (p * (1 - p))[:, None]), design.T @ (choice - p))
    np.testing.assert_allclose(w, [-0.082, 0.083, 0.081, 0.054, 0.048, 0.045, 0.041, 0.039], atol=0.0005)


def test_m1_reach_rates_and_their_principal_components(root):
    ds = load_m1_reach(path=root)
    assert ds.rates.dims == ("condition", "time", "unit") and ds.rates.shape == (8, 121, 141)
    assert ds.condition.values.tolist() == list(range(0, 360, 45))
    assert (ds.time.values[0], ds.time.values[-1], ds.time.attrs["units"]) == (-800.0, 400.0, "ms")
    assert ds.hand_x.dims == ("condition", "time")
    assert float(ds.rates.max()) == pytest.approx(93.3, abs=0.05)
    assert float(ds.rates.mean()) == pytest.approx(3.55, abs=0.005)
    flat = ds.rates.stack(sample=("condition", "time")).transpose("sample", "unit").values
    variance = np.linalg.svd(flat - flat.mean(axis=0), compute_uv=False) ** 2
    np.testing.assert_allclose(np.cumsum(variance)[:4] / variance.sum(), [0.524, 0.649, 0.726, 0.792], atol=0.0005)


def test_bci_counts_before_and_after_learning(root):
    ds = load_bci(path=root)
    assert ds.counts.dims == ("learning", "condition", "sample", "unit") and ds.counts.shape == (2, 8, 69, 86)
    assert ds.learning.values.tolist() == ["before", "after"]
    assert ds.condition.values.tolist() == list(range(0, 360, 45))
    assert float(ds.counts.sel(learning="before").mean()) == pytest.approx(2.02, abs=0.005)
    assert float(ds.counts.sel(learning="after").mean()) == pytest.approx(1.90, abs=0.005)
    assert ds.window_trials.sel(learning="before").values[[0, -1]].tolist() == [244, 293]


def _fake_bci(folder, angles_after=(0, 90), n_samples=(3, 3)):
    """A small file with the structure of the BCI dataset (written here, no real data)."""
    import scipy.io

    def cells(arrays):
        out = np.empty(len(arrays), dtype=object)
        out[:] = arrays
        return out

    def clouds(angles):
        return {"angles": np.array(angles), "windowIdx": np.arange(4),
                "spikes": cells([np.full((5, n), 2) for n in n_samples]),
                "factorActivity": cells([np.zeros((2, n)) for n in n_samples]),
                "cursorToTargetDirection": cells([np.zeros((2, n)) for n in n_samples]),
                "cursorProgress": cells([np.zeros(n) for n in n_samples])}

    scipy.io.savemat(folder / "exampleData.mat", {
        "beforeLearning": {"clouds": clouds([0, 90])}, "afterLearning": {"clouds": clouds(list(angles_after))},
        "expParams": {"monkName": "X", "expDate": "20000101"},
    })
    return folder


def test_bci_loader_on_a_synthetic_file(tmp_path):
    ds = load_bci(path=_fake_bci(tmp_path))
    assert ds.counts.shape == (2, 2, 3, 5) and int(ds.counts.sum()) == 2 * 2 * 3 * 5 * 2
    assert ds.attrs["monkey"] == "X"


def test_bci_loader_refuses_inconsistent_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(ValueError, match=r"BCI condition angles differ before and after learning: \[ 0 90\] vs \[ 0 45\]"):
        load_bci(path=_fake_bci(tmp_path / "a", angles_after=(0, 45)))
    with pytest.raises(ValueError, match=r"BCI clouds\['spikes'\] must have one shape in every condition"):
        load_bci(path=_fake_bci(tmp_path / "b", n_samples=(3, 4)))
