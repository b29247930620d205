"""History sums, rows and their labelled view, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from neurodis.training.history import History


def _two_members() -> History:
    h = History(2, 3)
    h.add_batch(np.array([1.0, 2.0]), np.array([[1, 2, 0], [4, 4, 0]]), np.array([[2, 2, 0], [4, 4, 0]]))
    h.add_batch(np.array([3.0, 4.0]), np.array([[2, 0, 0], [0, 4, 0]]), np.array([[2, 2, 0], [4, 4, 0]]))
    ideal = {"ideal_correct": np.array([[2, 1, 0], [3, 3, 0]]), "paired_correct": np.array([[1, 1, 0], [2, 3, 0]]),
             "paired_count": np.array([[2, 2, 0], [4, 4, 0]])}
    h.record(2, elapsed=1.5, ideal=ideal)
    return h


def test_rows_become_accuracies_per_member():
    ds = _two_members().to_dataset(0, ["t0", "t1"], attrs={"seed": 3})
    assert ds["loss"].values.tolist() == [2.0]  # mean of 1 and 3 over the window
    assert ds["accuracy"].values.tolist() == [5 / 8]
    assert ds["task_accuracy"].values.tolist() == [[3 / 4, 2 / 4]]
    assert ds["ideal_accuracy"].values.tolist() == [3 / 4]
    assert ds["relative_accuracy"].values.tolist() == [2 / 3]
    assert ds["batch"].values.tolist() == [2] and ds.attrs["seed"] == 3
    assert ds["elapsed"].attrs["units"] == "s"


def test_second_member_and_padding_are_sliced():
    ds = _two_members().to_dataset(1, ["a", "b"])
    assert ds.sizes["output"] == 2
    assert ds["accuracy"].values.tolist() == [12 / 16]
    assert ds["relative_accuracy"].values.tolist() == [5 / 6]


def test_without_ideal_observer_the_ideal_columns_are_nan():
    h = History(1, 1)
    h.add_batch(np.array([0.5]), np.array([[1.0]]), np.array([[1.0]]))
    h.record(1, elapsed=0.0)
    ds = h.to_dataset(0, ["y"])
    assert np.isnan(ds["ideal_accuracy"].values[0]) and np.isnan(ds["relative_accuracy"].values[0])
    assert h.last() == {"loss": 0.5, "acc": 1.0}


def test_state_dict_round_trip_and_member_state():
    h = _two_members()
    copy = History(2, 3)
    copy.load_state_dict(h.state_dict())
    assert copy.to_dataset(1, ["a", "b"]).identical(h.to_dataset(1, ["a", "b"]))
    solo = History(1, 2)
    solo.load_state_dict(h.member_state(1, 2))
    assert solo.to_dataset(0, ["a", "b"]).identical(h.to_dataset(1, ["a", "b"]))


def test_state_dict_refuses_an_open_window():
    h = History(1, 1)
    assert h.last() == {}
    h.add_batch(np.array([0.5]), np.array([[1.0]]), np.array([[1.0]]))
    assert h.window_size == 1
    with pytest.raises(RuntimeError, match=r"history has 1 batches not yet recorded"):
        h.state_dict()
