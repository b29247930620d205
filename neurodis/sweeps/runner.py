"""Running the pending runs of a sweep on ``dask.distributed``.

A *job* is a module-level function ``job(configs, run_dirs, report) -> list[Dataset]``
that handles a group of runs (runs that share a shape train together as an ensemble),
may checkpoint into its run folders (so a restarted job resumes), and returns one result
Dataset per run. The runner writes each result atomically into the store, which is what
marks a run done: re-running a sweep skips finished runs and resumes the others.

By default the jobs run on a :class:`distributed.LocalCluster` sized to the machine
(one single-threaded worker process per core); ``scheduler=ADDRESS`` sends them to an
existing cluster (whose workers must see the store's folder), and
``scheduler="synchronous"`` runs them in this process. Workers that die are replaced
and their jobs retried (``retries``); nothing finished is lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import xarray as xr

from neurodis._validation import check_int, check_real, describe
from neurodis.sweeps.store import RunStore
from neurodis.trials import save_dataset

__all__ = ["PROGRESS_TOPIC", "balance_groups", "group_configs", "run_sweep", "start_local_cluster"]

PROGRESS_TOPIC = "neurodis-progress"
Report = Callable[[Mapping[str, Any]], None]
Job = Callable[[list[dict[str, Any]], list[str], Report], list[xr.Dataset]]


def group_configs(
    configs: Sequence[Mapping[str, Any]], by: Callable[[Mapping[str, Any]], Any] | None
) -> list[list[dict[str, Any]]]:
    """Split ``configs`` into groups with equal ``by(config)`` (each its own group if None).

    Examples
    --------
    >>> group_configs([{"n": 2, "seed": 0}, {"n": 2, "seed": 1}, {"n": 3, "seed": 0}],
    ...               by=lambda c: c["n"])
    [[{'n': 2, 'seed': 0}, {'n': 2, 'seed': 1}], [{'n': 3, 'seed': 0}]]
    """
    if by is None:
        return [[dict(c)] for c in configs]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for config in configs:
        groups.setdefault(by(config), []).append(dict(config))
    return list(groups.values())


def balance_groups(groups: Sequence[list[dict[str, Any]]], n_slots: int) -> list[list[dict[str, Any]]]:
    """Halve the largest groups until every one of ``n_slots`` workers has a group.

    One ensemble of 25 networks on one of two workers would leave the other idle; two
    ensembles of 13 and 12 keep both busy (a larger ensemble costs less per network,
    so groups are split no further than needed).

    Examples
    --------
    >>> [len(g) for g in balance_groups([list(range(25))], 2)]
    [13, 12]
    >>> [len(g) for g in balance_groups([list(range(3)), list(range(2))], 2)]
    [3, 2]
    """
    n_slots = check_int("n_slots", n_slots, minimum=1)
    groups = [list(g) for g in groups]
    while 0 < len(groups) < n_slots:
        largest = max(range(len(groups)), key=lambda k: len(groups[k]))
        group = groups[largest]
        if len(group) < 2:
            break
        half = (len(group) + 1) // 2
        groups[largest:largest + 1] = [group[:half], group[half:]]
    return groups


def _report_from_worker(message: Mapping[str, Any]) -> None:
    from distributed import get_worker

    try:
        get_worker().log_event(PROGRESS_TOPIC, dict(message))
    except ValueError:  # not inside a worker (synchronous execution)
        return


def _execute(job: Job, configs: list[dict[str, Any]], run_dirs: list[str], report: Report) -> list[str]:
    """Run one job and write its results atomically; return the result paths."""
    results = job(configs, run_dirs, report)
    if len(results) != len(configs):
        raise ValueError(f"job must return one Dataset per config ({len(configs)}); got {len(results)}")
    paths = []
    for run_dir, result in zip(run_dirs, results):
        if not isinstance(result, xr.Dataset):
            raise TypeError(f"job must return xarray.Datasets; got {describe(result)}")
        paths.append(str(save_dataset(result, Path(run_dir) / "result.nc")))
    return paths


TRIM_VARIABLE = "MALLOC_TRIM_THRESHOLD_"


def start_local_cluster(n_workers: int):
    """A :class:`distributed.LocalCluster` of single-threaded worker processes for training.

    Its workers start with Dask's worker environment less ``MALLOC_TRIM_THRESHOLD_``.
    Dask's nanny sets that variable (to 65536) so that workers hand freed memory back to
    the operating system; setting it also fixes glibc's mmap threshold at 128 kB, so
    every tensor above that size is mapped, page-faulted and unmapped afresh, and
    training runs markedly slower (``benchmarks/bench_sweep_workers.py``). A training
    worker's memory is steady, so nothing is gained by trimming it. The variable is also
    removed from this process's environment, which the nanny copies into every worker it
    spawns (and where earlier Dask clusters of this process leave it).

    Parameters
    ----------
    n_workers : int
        Worker processes, one thread each.

    Returns
    -------
    distributed.LocalCluster
        The running cluster; close it (or use it as a context manager) when done.
    """
    import dask
    from distributed import LocalCluster

    n_workers = check_int("n_workers", n_workers, minimum=1)
    os.environ.pop(TRIM_VARIABLE, None)
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{TRIM_VARIABLE}": None}):  # None: unset
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=":0")  # any free port: two sweeps may run at once


def _connect(scheduler: str | None, n_workers: int | None, timeout: float, stack: ExitStack):
    from distributed import Client

    if scheduler is None:
        cluster = stack.enter_context(start_local_cluster(n_workers or os.cpu_count() or 1))
        return stack.enter_context(Client(cluster))
    try:
        return stack.enter_context(Client(scheduler, timeout=f"{timeout}s"))
    except (OSError, TimeoutError) as err:
        raise ConnectionError(
            f"scheduler must be the address of a running Dask scheduler (e.g. tcp://host:8786); "
            f"could not connect to {scheduler!r}: {err}"
        ) from err


def run_sweep(
    configs: Sequence[Mapping[str, Any]],
    job: Job,
    store: RunStore,
    *,
    group_by: Callable[[Mapping[str, Any]], Any] | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    retries: int = 2,
    progress: bool = True,
    connect_timeout: float = 10.0,
) -> list[Path]:
    """Run every unfinished config of a sweep and return the result paths of all of them.

    Parameters
    ----------
    configs : sequence of dict
        The runs (see :func:`neurodis.sweeps.grid.expand_grid`).
    job : callable
        Module-level ``job(configs, run_dirs, report) -> list[Dataset]``.
    store : RunStore
        Where runs live; finished runs are skipped.
    group_by : callable, optional
        Key function: configs with equal keys go to one job (e.g. an ensemble); on a
        cluster, groups are halved while workers would otherwise sit idle
        (:func:`balance_groups`).
    scheduler : str, optional
        ``None`` for a LocalCluster sized to the machine, ``"synchronous"`` to run in
        this process, or the address of an existing Dask scheduler.
    n_workers : int, optional
        Worker processes of the LocalCluster (default: the number of cores).
    retries : int
        How often a job whose worker died or that raised is retried.
    progress : bool
        Show a progress bar (runs done / total) with the last reported loss.
    connect_timeout : float
        Seconds to wait for an existing ``scheduler`` before giving up.

    Returns
    -------
    list of Path
        The result file of each config, in the order of ``configs``.

    Raises
    ------
    ConnectionError
        If ``scheduler`` cannot be reached.
    """
    from tqdm.auto import tqdm

    retries = check_int("retries", retries, minimum=0)
    connect_timeout = check_real("connect_timeout", connect_timeout, minimum=0.0, strict_minimum=True)
    if n_workers is not None:
        check_int("n_workers", n_workers, minimum=1)
    groups = group_configs(store.pending(configs), group_by)
    total, done = len(configs), len(configs) - sum(len(g) for g in groups)
    bar = tqdm(total=total, initial=done, desc="runs", unit="run", disable=not progress)

    def show(message: Mapping[str, Any]) -> None:
        bar.set_postfix({k: v for k, v in message.items() if k != "run"}, refresh=True)

    with ExitStack() as stack:
        stack.callback(bar.close)
        if groups and scheduler == "synchronous":
            for group in groups:
                dirs = [str(store.prepare(c)) for c in group]
                _execute(job, group, dirs, show)
                bar.update(len(group))
        elif groups:
            from distributed import as_completed

            client = _connect(scheduler, n_workers, connect_timeout, stack)
            client.subscribe_topic(PROGRESS_TOPIC, lambda event: show(event[1]))
            n_slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
            groups = balance_groups(groups, max(1, n_slots))
            futures = {}
            for group in groups:
                dirs = [str(store.prepare(c)) for c in group]
                future = client.submit(_execute, job, group, dirs, _report_from_worker,
                                       retries=retries, pure=False)
                futures[future] = len(group)
            try:
                for future in as_completed(futures):
                    future.result()
                    bar.update(futures[future])
            except BaseException:
                client.cancel(list(futures))
                raise
    return [store.result_path(c) for c in configs]
