"""Training history: per-batch metrics of K networks, summed per window and recorded.

Every batch adds each network's loss and its decision-step hits and counts per
output; every ``log_every`` batches the sums become one row. The ideal observer's
hits on a subset of the window's trials (and the network's hits on the same trials)
are added to the row by the trainer. Rows are stored as raw sums, so a row can be
turned into accuracies exactly, and the whole history fits in a checkpoint as
tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurodis.trials import OUTPUT

__all__ = ["BATCH", "History"]

#: dim of the history: the number of batches done when the row was recorded
BATCH = "batch"

_SUMS = ("correct", "count", "ideal_correct", "paired_correct", "paired_count")


class History:
    """Metric sums of ``n_members`` networks with ``n_outputs`` (padded) outputs.

    Parameters
    ----------
    n_members : int
        Number of networks trained together (1 for a single network).
    n_outputs : int
        Width of the (padded) output axis.

    Examples
    --------
    >>> import numpy as np
    >>> h = History(1, 2)
    >>> h.add_batch(np.array([0.5]), np.array([[3.0, 4.0]]), np.array([[4.0, 4.0]]))
    >>> h.record(1, elapsed=0.1)
    >>> ds = h.to_dataset(0, ["a", "b"])
    >>> float(ds["accuracy"][0]), ds["task_accuracy"].values.tolist()
    (0.875, [[0.75, 1.0]])
    """

    def __init__(self, n_members: int, n_outputs: int) -> None:
        self.n_members, self.n_outputs = n_members, n_outputs
        self.rows: dict[str, list[Any]] = {name: [] for name in ("batch", "elapsed", "loss", *_SUMS)}
        self._reset_window()

    def _reset_window(self) -> None:
        shape = (self.n_members, self.n_outputs)
        self._loss = np.zeros(self.n_members)
        self._n_batches = 0
        self._correct, self._count = np.zeros(shape), np.zeros(shape)

    @property
    def window_size(self) -> int:
        """Batches added since the last row."""
        return self._n_batches

    def add_batch(self, losses_k: np.ndarray, correct_kxo: np.ndarray, count_kxo: np.ndarray) -> None:
        """Add one batch: each network's loss and its decision-step hits and counts."""
        self._loss += losses_k
        self._correct += correct_kxo
        self._count += count_kxo
        self._n_batches += 1

    def record(self, batch: int, *, elapsed: float, ideal: dict[str, np.ndarray] | None = None) -> None:
        """Close the window as a row recorded at ``batch`` (batches done).

        ``ideal`` holds ``ideal_correct``, ``paired_correct`` and ``paired_count``
        arrays ``(member, output)``: the ideal observer's and the network's hits on
        the same trials, and how many there were.
        """
        shape = (self.n_members, self.n_outputs)
        ideal = ideal or {}
        self.rows["batch"].append(int(batch))
        self.rows["elapsed"].append(float(elapsed))
        self.rows["loss"].append(self._loss / max(self._n_batches, 1))
        self.rows["correct"].append(self._correct)
        self.rows["count"].append(self._count)
        for name in ("ideal_correct", "paired_correct", "paired_count"):
            self.rows[name].append(np.asarray(ideal.get(name, np.zeros(shape)), dtype=np.float64))
        self._reset_window()

    def last(self) -> dict[str, float]:
        """Mean loss and accuracy over members of the last row (for a progress bar)."""
        if not self.rows["batch"]:
            return {}
        correct, count = self.rows["correct"][-1].sum(), self.rows["count"][-1].sum()
        return {"loss": float(np.mean(self.rows["loss"][-1])),
                "acc": float(correct / count) if count else float("nan")}

    # -- persistence -------------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The recorded rows as float64/int64 tensors (the open window must be empty)."""
        if self._n_batches:
            raise RuntimeError(f"history has {self._n_batches} batches not yet recorded; record a row first")
        n_rows = len(self.rows["batch"])
        state = {"batch": torch.tensor(self.rows["batch"], dtype=torch.int64),
                 "elapsed": torch.tensor(self.rows["elapsed"], dtype=torch.float64)}
        for name in ("loss", *_SUMS):
            values = self.rows[name]
            tail = (self.n_members,) if name == "loss" else (self.n_members, self.n_outputs)
            state[name] = torch.from_numpy(np.array(values, dtype=np.float64).reshape(n_rows, *tail))
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore rows saved by :meth:`state_dict`."""
        self.rows = {"batch": state["batch"].tolist(), "elapsed": state["elapsed"].tolist()}
        for name in ("loss", *_SUMS):
            self.rows[name] = list(state[name].numpy())
        self._reset_window()

    def member_state(self, member: int | Sequence[int], n_outputs: int) -> dict[str, torch.Tensor]:
        """The rows of one member (or of several, in the given order) as the :meth:`state_dict`
        of a history of just those members, ``n_outputs`` wide."""
        state = self.state_dict()
        kept = [member] if isinstance(member, int) else list(member)
        out = {"batch": state["batch"], "elapsed": state["elapsed"], "loss": state["loss"][:, kept].clone()}
        for name in _SUMS:
            out[name] = state[name][:, kept, :n_outputs].clone()
        return out

    # -- labelled view -----------------------------------------------------------------

    def to_dataset(self, member: int, output_names: Sequence[str], attrs: dict[str, Any] | None = None) -> xr.Dataset:
        """The history of one network as a Dataset with dims ``batch`` and ``output``.

        Variables: ``loss`` (mean training loss over the window), ``accuracy`` and
        ``task_accuracy`` (decision-step accuracy over the window's trials, overall
        and per output), ``ideal_accuracy`` (the ideal observer's accuracy on a subset
        of those trials; NaN when the task has no ideal observer),
        ``relative_accuracy`` (the network's accuracy on that subset divided by the
        ideal observer's) and ``elapsed`` (wall seconds of training so far).
        """
        n = len(output_names)
        rows = self.rows
        sums = {name: np.array(rows[name], dtype=np.float64).reshape(-1, self.n_members, self.n_outputs)[:, member, :n]
                for name in _SUMS}
        with np.errstate(divide="ignore", invalid="ignore"):
            data = {
                "loss": ((BATCH,), np.array(rows["loss"]).reshape(-1, self.n_members)[:, member]),
                "accuracy": ((BATCH,), sums["correct"].sum(1) / sums["count"].sum(1)),
                "task_accuracy": ((BATCH, OUTPUT), sums["correct"] / sums["count"]),
                "ideal_accuracy": ((BATCH,), sums["ideal_correct"].sum(1) / sums["paired_count"].sum(1)),
                "relative_accuracy": ((BATCH,), sums["paired_correct"].sum(1) / sums["ideal_correct"].sum(1)),
                "elapsed": ((BATCH,), np.array(rows["elapsed"], dtype=np.float64)),
            }
        ds = xr.Dataset(data, coords={BATCH: np.array(rows["batch"], dtype=np.int64), OUTPUT: list(output_names)},
                        attrs=dict(attrs or {}))
        ds[BATCH].attrs["long_name"] = "batches done when the row was recorded"
        ds["elapsed"].attrs["units"] = "s"
        return ds
