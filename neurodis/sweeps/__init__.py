"""Sweeps: grids of configs, a content-addressed run store, and a Dask runner."""

from neurodis.sweeps.grid import canonical_json, expand_grid, run_id
from neurodis.sweeps.runner import group_configs, run_sweep
from neurodis.sweeps.store import RunStore

__all__ = ["RunStore", "canonical_json", "expand_grid", "group_configs", "run_id", "run_sweep"]
