"""Running the pending runs of a sweep on ``dask.distributed``.

A *job* is a module-level function ``job(configs, run_dirs, report) -> list[Dataset]``
that handles a group of runs (runs that share a shape train together as an ensemble),
may checkpoint into its run folders (so a restarted job resumes), and returns one result
Dataset per run. The runner writes each result atomically into the store, which is what
marks a run done: re-running a sweep skips finished runs and resumes the others.

By default the jobs run on a :class:`distributed.LocalCluster` sized to the machine
(one single-threaded worker process per core, listening on 127.0.0.1 only, with no
dashboard unless asked for); ``scheduler=ADDRESS`` sends them to an existing cluster
(whose workers must see the store's folder, and which runs the pickled job: connect
only to clusters you trust), and ``scheduler="synchronous"`` runs them in this process.

**Sharing a store.** Before a job trains a run it claims the run with a lock file
(:class:`~neurodis.sweeps.locks.RunLock`), and it trains only the runs it claimed (a
part of its group is fine: an ensemble resumes from any stored ensemble checkpoint
holding its members). So sweeps started at once on one store, by two commands or on
workers of several machines sharing the folder, divide the runs between them: no run
is trained twice, and each sweep waits (its progress bar counting) for the runs another
holds, then returns every result. A run held by a process that died is taken over
(see :mod:`neurodis.sweeps.locks` for when a lock is stale).

**Failures.** An error raised by a job (a ``ValueError``, an ``ImportError``, a
corrupt file, ...) would only recur, so it is not retried: the sweep stops with
:class:`~neurodis.errors.RunFailedError`, one line naming the run, the error and the
``error.log`` in its run folder that holds the traceback. Only jobs whose worker process
died are run again (``retries``); nothing finished is lost. Interrupted (Ctrl-C), the
sweep closes its cluster without printing the workers' complaints, and the runs it
held are released.
"""

from __future__ import annotations

import heapq
import logging
import numbers
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import xarray as xr

from neurodis._validation import check_int, check_real, check_type, describe
from neurodis.errors import RunFailedError
from neurodis.files import atomic_write
from neurodis.sweeps.grid import run_id
from neurodis.sweeps.locks import RunLock
from neurodis.sweeps.store import LOCK, RESULT, RunStore
from neurodis.trials import save_dataset

__all__ = ["BALANCE_TOLERANCE", "NETWORK_COST", "PROGRESS_TOPIC", "QUIET_MONITORS", "READOUT_COST", "WORKER_MALLOC",
           "balance_groups", "group_configs", "longest_first_makespan", "run_cost", "run_sweep",
           "start_local_cluster"]

PROGRESS_TOPIC = "neurodis-progress"
Report = Callable[[Mapping[str, Any]], None]
Job = Callable[[list[dict[str, Any]], list[str], Report], list[xr.Dataset]]

#: Seconds between two looks at the store while runs are held elsewhere.
POLL_SECONDS = 0.5

#: The traceback of a failed run, in its run folder.
ERROR_LOG = "error.log"

#: One line per claim that went on to run the job (host, pid, time): who ran a run, how often.
ATTEMPTS_LOG = "attempts.log"

#: Loggers of Dask that complain while a cluster is torn down mid-task.
_DASK_LOGGERS = ("distributed", "tornado", "asyncio")


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


#: Training cost of one network-batch of each run-config ``network``, relative to a
#: CTRNN's: the per-network-batch training times of the four arms in the whole ``fig3``
#: preset run on two cores from an empty store (2026-12-04, second run: CTRNN 0.594,
#: non-leaky 0.647, LSTM 1.71, transformer 4.73 ms), the LSTM's from the third run, with
#: its faster kernel (1.665 ms as one ensemble of 25 beside the other arms: the 21 % that
#: ensemble gains when timed alone did not show in the run); GRUs as LSTMs scaled by their
#: ratio in ``benchmarks/bench_ensembles.py``. Rounded.
NETWORK_COST: dict[str, float] = {"ctrnn": 1.0, "ctrnn_nonleaky": 1.1, "ctrnn_dale": 1.0, "lstm": 2.8, "gru": 2.5,
                                  "transformer": 8.0}

#: Training cost of one readout row (one task) per network-batch, in the units of
#: :data:`NETWORK_COST`: its row of the readout, its part of the loss and their
#: gradients. Measured in the sixth whole ``fig3`` run (2026-12-05): its two CTRNN
#: ensembles of 13 and 12, readouts padded to 6 and to 24 rows, took 0.44 and 0.54 ms
#: per network-batch, 1.37 % of a CTRNN per row. Rounded.
READOUT_COST = 0.013

#: How many of the heaviest groups :func:`balance_groups` tries to split at each step.
_SPLIT_CANDIDATES = 8

#: How far above the even share of work the longest worker may run before
#: :func:`balance_groups` splits another ensemble.
BALANCE_TOLERANCE = 0.075


def run_cost(config: Mapping[str, Any]) -> float:
    """Estimated work of one run: (its network's :data:`NETWORK_COST` + :data:`READOUT_COST`
    × ``n_tasks``) × ``n_batches``.

    A config without a known ``network`` costs as a CTRNN, one without a positive
    integer ``n_tasks`` adds no readout, one without a numeric ``n_batches`` counts one
    batch, so runs of a generic job weigh the same (and are balanced by count). The
    readout term is what makes a sweep split an ensemble of many tasks' networks where
    it splits their work evenly: an ensemble's readouts are padded to its widest one.

    Examples
    --------
    >>> run_cost({"network": "transformer", "n_batches": 20_000}), run_cost({"seed": 3})
    (160000.0, 1.0)
    >>> round(run_cost({"network": "ctrnn", "n_tasks": 24, "n_batches": 1000}), 6)
    1312.0
    """
    network, n_tasks, n_batches = config.get("network"), config.get("n_tasks"), config.get("n_batches")
    weight = NETWORK_COST.get(network, 1.0) if isinstance(network, str) else 1.0
    if isinstance(n_tasks, numbers.Integral) and not isinstance(n_tasks, bool) and n_tasks > 0:
        weight += READOUT_COST * int(n_tasks)
    valid = isinstance(n_batches, numbers.Real) and not isinstance(n_batches, bool) and n_batches > 0
    return weight * (float(n_batches) if valid else 1.0)


def longest_first_makespan(works: Sequence[float], n_slots: int) -> float:
    """When the last of ``n_slots`` workers finishes jobs of ``works``, handed out largest first.

    Each job goes to the worker that frees first, as a scheduler's queue hands jobs
    submitted in order of decreasing work to idle workers.

    Examples
    --------
    >>> longest_first_makespan([5, 3, 3, 2, 2], 2)
    8.0
    """
    loads = [0.0] * n_slots
    for work in sorted(works, reverse=True):
        heapq.heapreplace(loads, loads[0] + float(work))
    return max(loads)


def balance_groups(groups: Sequence[list[dict[str, Any]]], n_slots: int,
                   cost: Callable[[Mapping[str, Any]], float] = run_cost) -> list[list[dict[str, Any]]]:
    """Split ensembles until handing them out largest first keeps every worker about as busy.

    A group's work is the sum of its runs' ``cost`` (network cost × batches, see
    :func:`run_cost`). The groups are handed out largest first to ``n_slots`` workers
    (:func:`longest_first_makespan`); while the last worker would finish more than
    :data:`BALANCE_TOLERANCE` after an even share of the work (or after the largest
    single run, if that is longer), one group of two runs or more is split into two
    halves of equal work: of the eight heaviest such groups with work, the one whose split
    lets the last worker finish first (the largest on a tie, also when no split helps yet). Of the plans seen, the one that
    finishes first is kept, the one with fewer groups on a tie: a larger ensemble costs
    less per network, so groups are split no further than needed. So one ensemble of 25
    networks on two workers becomes two of 13 and 12, and of fig3's four ensembles on
    two workers only one CTRNN ensemble is split (14 + 11: the networks of 2 to 6 tasks,
    then those of 6 to 24, whose readouts cost more), planned to finish 0.4 % after the
    even share where unsplit the last worker would run 15 % past it. Groups come back in
    order of decreasing work, so the longest jobs start first.

    Parameters
    ----------
    groups : sequence of list of dict
        Run configs grouped into jobs (ensembles).
    n_slots : int
        Workers free to take a job (>= 1).
    cost : callable, optional
        Estimated work of one run config (default :func:`run_cost`).

    Returns
    -------
    list of list of dict
        The same runs, regrouped, heaviest group first.

    Examples
    --------
    >>> runs = [{"seed": k} for k in range(25)]
    >>> [len(g) for g in balance_groups([runs], 2)]
    [13, 12]
    >>> [len(g) for g in balance_groups([runs[:3], runs[3:5]], 2)]
    [3, 2]
    >>> ctrnns = [{"network": "ctrnn", "n_batches": 1000, "seed": k} for k in range(13)]
    >>> transformers = [{"network": "transformer", "n_batches": 1000, "seed": k} for k in range(6)]
    >>> [(g[0]["network"], len(g)) for g in balance_groups([ctrnns, transformers], 2)]
    [('transformer', 3), ('transformer', 3), ('ctrnn', 7), ('ctrnn', 6)]
    """
    n_slots = check_int("n_slots", n_slots, minimum=1)
    plan = [(list(g), [float(cost(c)) for c in g]) for g in groups if g]
    if not plan:
        return []
    runs = [w for _, costs in plan for w in costs]
    goal = (1.0 + BALANCE_TOLERANCE) * max(sum(runs) / n_slots, max(runs))

    def makespan(candidate: list[tuple[list[dict[str, Any]], list[float]]]) -> float:
        return longest_first_makespan([sum(costs) for _, costs in candidate], n_slots)

    best, best_time = plan, makespan(plan)
    current, current_time = plan, best_time
    while current_time > goal:
        # of the heaviest groups' splits in two, the one that finishes first (min keeps the
        # first of equals: the largest group on a tie)
        heaviest = sorted((k for k, (group, costs) in enumerate(current) if len(group) > 1 and sum(costs) > 0),
                          key=lambda k: -sum(current[k][1]))[:_SPLIT_CANDIDATES]
        if not heaviest:
            break
        current_time, current = min(((makespan(c), c) for c in (_halved(current, k) for k in heaviest)),
                                    key=lambda item: item[0])
        if current_time < best_time:
            best, best_time = current, current_time
    order = sorted(range(len(best)), key=lambda k: -sum(best[k][1]))
    return [best[k][0] for k in order]


def _halved(plan: list[tuple[list[dict[str, Any]], list[float]]], k: int
            ) -> list[tuple[list[dict[str, Any]], list[float]]]:
    """``plan`` with group ``k`` split into two halves of about equal work."""
    group, costs = plan[k]
    # the first half ends at the first run that brings it to half the work (one run at least)
    prefix, half, total = 0.0, 0, sum(costs)
    while prefix < total / 2:
        prefix, half = prefix + costs[half], half + 1
    half = min(max(half, 1), len(group) - 1)
    return [*plan[:k], (group[:half], costs[:half]), (group[half:], costs[half:]), *plan[k + 1:]]


def _report_from_worker(message: Mapping[str, Any]) -> None:
    from distributed import get_worker

    try:
        get_worker().log_event(PROGRESS_TOPIC, dict(message))
    except ValueError:  # not inside a worker (synchronous execution)
        return


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _describe(error: BaseException) -> str:
    """``ValueError: message`` on one line."""
    return _one_line(f"{type(error).__name__}: {error}") if str(error) else type(error).__name__


def _failure(run_dirs: Sequence[str], detail: str, trace: str) -> str:
    """Write ``trace`` into the first run's ``error.log`` and return the one-line failure."""
    log = Path(run_dirs[0]) / ERROR_LOG
    atomic_write(log, lambda tmp: tmp.write_text(trace, encoding="utf-8"))
    others = len(run_dirs) - 1
    together = f" (trained with {others} other run{'s' if others > 1 else ''})" if others else ""
    return f"run {Path(run_dirs[0]).name}{together} failed: {detail}; its traceback is in {log}"


def _claim(run_dirs: Sequence[str]) -> list[RunLock | None]:
    """Lock each run that is neither finished nor held by a live process (None for the others)."""
    locks: list[RunLock | None] = []
    for run_dir in map(Path, run_dirs):
        lock = RunLock(run_dir / LOCK)
        if (run_dir / RESULT).is_file() or not lock.acquire():
            locks.append(None)
        elif (run_dir / RESULT).is_file():  # finished by the previous holder just before
            lock.release()
            locks.append(None)
        else:  # appended in place: only the lock's holder writes it
            with open(run_dir / ATTEMPTS_LOG, "a", encoding="utf-8") as log:
                owner = lock.owner() or {}
                log.write(f"{owner.get('since')} host={owner.get('host')} pid={owner.get('pid')}\n")
            locks.append(lock)
    return locks


def _execute(job: Job, configs: list[dict[str, Any]], run_dirs: list[str], report: Report) -> str | None:
    """Run ``job`` on the runs of the group this process can claim; write their results.

    Returns None, or the one-line message of the job's failure (its traceback written to
    the run's ``error.log``): an error of the job is returned rather than raised, so
    that Dask, which retries a task whatever it raised, does not run it again.
    """
    locks = _claim(run_dirs)
    mine = [k for k, lock in enumerate(locks) if lock is not None]
    configs, run_dirs = [configs[k] for k in mine], [run_dirs[k] for k in mine]
    try:
        if not mine:
            return None
        results = job(configs, run_dirs, report)
        if len(results) != len(configs):
            raise ValueError(f"job must return one Dataset per config ({len(configs)}); got {len(results)}")
        for result in results:
            if not isinstance(result, xr.Dataset):
                raise TypeError(f"job must return xarray.Datasets; got {describe(result)}")
        for run_dir, result in zip(run_dirs, results):
            save_dataset(result, Path(run_dir) / RESULT)
        return None
    except Exception as err:
        return _failure(run_dirs, _describe(err), traceback.format_exc())
    finally:  # also on KeyboardInterrupt: the runs are free at once for the next sweep
        for lock in locks:
            if lock is not None:
                lock.release()


#: glibc's allocator settings of every sweep worker (bytes): arrays up to 256 MiB come from
#: the heap, and up to 1 GiB of freed heap stays with the process (see :func:`start_local_cluster`).
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(256 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**30)}

#: Dask settings of the local cluster (see :func:`start_local_cluster`): Dask's monitors wake
#: up less often (its defaults: the worker profiler samples the running task's stack every
#: 10 ms, the event loops tick every 20 ms, the memory monitors run every 100 ms and the
#: system monitors every 500 ms), and the scheduler does not steal work (the runner hands
#: each free worker one group). ``dashboard=True`` keeps the profiler for the dashboard.
QUIET_MONITORS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.scheduler.work-stealing": False,
}


def start_local_cluster(n_workers: int, *, dashboard: bool = False):
    """A :class:`distributed.LocalCluster` of single-threaded worker processes for training.

    The scheduler and the workers listen on 127.0.0.1 only, and Dask's dashboard is off
    unless ``dashboard`` (then also on 127.0.0.1, on a free port: see the cluster's
    ``dashboard_link``): the scheduler runs whatever pickled code a client sends it, so
    nothing of it may be reachable from other machines.

    Its workers start with Dask's worker environment but glibc's allocator settings,
    :data:`WORKER_MALLOC`. Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` so that
    workers hand freed memory back to the operating system; setting it also fixes
    glibc's mmap threshold at 128 kB, so every tensor above that size is mapped,
    page-faulted and unmapped afresh, and training runs markedly slower
    (``benchmarks/bench_sweep_workers.py``). Without any setting, glibc still maps every
    array above 32 MiB afresh: each set of 8,000 evaluation trials (about 60 MB) and each
    large forward pass of an evaluation. A worker's memory is steady (training, then
    the same evaluations network after network), so its workers keep arrays up to 256 MiB
    on the heap and keep up to 1 GiB of freed heap: a fig3 CTRNN's evaluation took 10–15 %
    less time, training the same or a few per cent less. The settings go into this
    process's environment, which every worker (a respawned one too) inherits; a variable
    there also overrides Dask's ``pre-spawn-environ`` config, which would otherwise set
    ``MALLOC_TRIM_THRESHOLD_=65536`` (and an earlier Dask cluster of this process leaves
    that value there).

    Its scheduler, nannies and workers run with :data:`QUIET_MONITORS`. With Dask's
    defaults each worker's event-loop thread wakes over 150 times a second (the profiler
    walking the training thread's stack every 10 ms, the tick every 20 ms, the memory
    monitor), each time taking the GIL from the training loop, and the scheduler and
    nannies, which live in this process, use about 3 % of a core beside the workers (0.7 %
    quiet). With the other core training too, a worker with Dask's monitors trained an LSTM
    ensemble 1.14× and a CTRNN ensemble 1.06× slower
    (``benchmarks/bench_sweep_workers.py --busy``).

    Parameters
    ----------
    n_workers : int
        Worker processes, one thread each.
    dashboard : bool
        Serve Dask's dashboard (on 127.0.0.1; needs ``bokeh``).

    Returns
    -------
    distributed.LocalCluster
        The running cluster; close it (or use it as a context manager) when done.

    Raises
    ------
    ValueError
        If ``n_workers`` is below 1.
    TypeError
        If ``dashboard`` is not a bool.
    """
    import dask
    from distributed import LocalCluster

    n_workers = check_int("n_workers", n_workers, minimum=1)
    check_type("dashboard", dashboard, bool, "a bool")
    os.environ.update(WORKER_MALLOC)
    quiet = {**QUIET_MONITORS, "distributed.worker.profile.enabled": dashboard}
    with ExitStack() as stack:
        # read when the scheduler and the nannies start; each nanny also hands its workers
        # a copy of the whole config as set here (`config`, which a nanny merges shallowly
        # into its own), so that a nanny started later, to replace one whose worker died,
        # starts its workers the same way
        stack.enter_context(dask.config.set(quiet))
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C reaches every process of the terminal's process group: workers spawned
            # while SIGINT is ignored inherit that, and leave shutting down to this process
            # (the price: a Ctrl-C in the seconds the cluster starts is lost)
            stack.callback(signal.signal, signal.SIGINT, signal.signal(signal.SIGINT, signal.SIG_IGN))
        # The scheduler serves HTTP (health and metrics, the dashboard only when asked)
        # whatever the dashboard setting; given no address it takes port 8787 and warns
        # when a second sweep finds that port taken. Port 0: any free port.
        http = {"dashboard": dashboard, "dashboard_address": "127.0.0.1:0"}
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, scheduler_kwargs=http,
                               config=dask.config.merge(dask.config.config))
    return cluster


def _ignore_interrupts() -> Any:
    """A worker plugin by which a LocalCluster's workers, also ones respawned later, ignore Ctrl-C."""
    from distributed import WorkerPlugin

    class IgnoreInterrupts(WorkerPlugin):  # defined here to import distributed lazily; pickled by value
        name = "neurodis-ignore-interrupts"

        def setup(self, worker: Any) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreInterrupts()


def _connect(scheduler: str | None, n_workers: int | None, timeout: float, dashboard: bool, stack: ExitStack):
    from distributed import Client

    if scheduler is None:
        cluster = stack.enter_context(start_local_cluster(n_workers or os.cpu_count() or 1, dashboard=dashboard))
        client = stack.enter_context(Client(cluster))
        client.register_plugin(_ignore_interrupts())
        return client
    try:
        return stack.enter_context(Client(scheduler, timeout=f"{timeout}s"))
    except (OSError, TimeoutError) as err:
        raise ConnectionError(
            f"scheduler must be the address of a running Dask scheduler (e.g. tcp://host:8786); "
            f"could not connect to {scheduler!r}: {err}"
        ) from err


def _mute_dask() -> None:
    for name in _DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


class _Quiet:
    """Silences Dask's loggers and warnings from :meth:`silence` until :meth:`restore`.

    Closing a cluster whose workers are mid-task makes Dask log warnings and tracebacks
    (cancelled tasks, workers killed after a grace period); after Ctrl-C or a failed run
    they only bury the one line that matters.
    """

    def __init__(self) -> None:
        self._levels: dict[str, int] = {}
        self._warnings = warnings.catch_warnings()

    def silence(self, client: Any = None) -> None:
        """Silence this process, and the workers of ``client`` (a LocalCluster's, whose output is ours)."""
        if self._levels:
            return
        if client is not None:
            try:
                client.run(_mute_dask, on_error="ignore")
            except Exception:  # a cluster already gone has nothing left to say
                pass
        self._levels = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        _mute_dask()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")

    def restore(self) -> None:
        if not self._levels:
            return
        self._warnings.__exit__(None, None, None)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels.clear()


class _Ran:
    """A group run in this process, standing in for the Dask future of one run elsewhere."""

    status = "finished"

    def __init__(self, outcome: str | None) -> None:
        self.outcome = outcome

    def result(self) -> str | None:
        return self.outcome


def _harvest(future: Any, group: list[dict[str, Any]], store: RunStore, lost: Counter, retries: int) -> None:
    """Raise the failure of a finished job, or count its lost worker (raise past ``retries``)."""
    if future.status == "finished":
        outcome = future.result()
        if outcome is not None:
            raise RunFailedError(outcome)
        return
    if future.status == "lost":  # a worker holding the outcome died; the results are stored, any
        return                   # run left unfinished is resubmitted
    from distributed import KilledWorker

    error = future.exception()
    run_dirs = [str(store.run_dir(c)) for c in group]
    trace = "".join(traceback.format_exception(type(error), error, future.traceback()))
    detail = _describe(error)
    if isinstance(error, KilledWorker):
        lost.update(run_id(c) for c in group)
        if max(lost[run_id(c)] for c in group) <= retries:
            return  # its runs are pending again, and are resubmitted once their claims are stale
        detail = f"its worker process died and retries={retries} are used up; {detail}"
    raise RunFailedError(_failure(run_dirs, detail, trace))


def _cleanup(store: RunStore, configs: Sequence[Mapping[str, Any]]) -> None:
    """Remove the stale claims of ``configs`` (those of workers killed with the cluster)."""
    for config in configs:
        lock = store.lock(config)
        if lock.path.exists() and lock.acquire():  # refused while live; breaks a stale one safely against others
            lock.release()


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
    dashboard: bool = False,
) -> list[Path]:
    """Run every unfinished config of a sweep and return the result paths of all of them.

    Runs that another sweep on the same store holds are not run again: this one waits
    for their results (or takes them over if their holder dies).

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
        this process, or the address of an existing Dask scheduler (which will run the
        pickled ``job``: use only clusters you trust).
    n_workers : int, optional
        Worker processes of the LocalCluster (default: the number of cores).
    retries : int
        How often a job whose worker process died is run again. A job that raised is
        never retried.
    progress : bool
        Show a progress bar (runs done / total) with the last reported loss.
    connect_timeout : float
        Seconds to wait for an existing ``scheduler`` before giving up.
    dashboard : bool
        Serve Dask's dashboard from the LocalCluster, on 127.0.0.1 only (default off);
        its address is printed to stderr.

    Returns
    -------
    list of Path
        The result file of each config, in the order of ``configs``.

    Raises
    ------
    RunFailedError
        If a job raised: one line naming the run, the error and the ``error.log``
        holding its traceback. Also if a job's worker died more than ``retries`` times.
    ConnectionError
        If ``scheduler`` cannot be reached.
    """
    from tqdm.auto import tqdm

    retries = check_int("retries", retries, minimum=0)
    connect_timeout = check_real("connect_timeout", connect_timeout, minimum=0.0, strict_minimum=True)
    check_type("dashboard", dashboard, bool, "a bool")
    if n_workers is not None:
        check_int("n_workers", n_workers, minimum=1)
    configs = [dict(c) for c in configs]
    pending = store.pending(configs)
    bar = tqdm(total=len(configs), initial=len(configs) - len(pending), desc="runs", unit="run",
               disable=not progress)

    def show(message: Mapping[str, Any]) -> None:
        bar.set_postfix({k: v for k, v in message.items() if k != "run"}, refresh=True)

    quiet = _Quiet()
    with ExitStack() as stack:
        stack.callback(bar.close)
        if not pending:
            return [store.result_path(c) for c in configs]
        stack.callback(quiet.restore)  # after the cluster has closed
        stack.callback(_cleanup, store, pending)
        if scheduler == "synchronous":
            def submit(group):
                return _Ran(_execute(job, group, [str(store.prepare(c)) for c in group], show))
            n_slots, local = 1, None
        else:
            client = _connect(scheduler, n_workers, connect_timeout, dashboard, stack)
            client.subscribe_topic(PROGRESS_TOPIC, lambda event: show(event[1]))
            n_slots = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            local = client if scheduler is None else None
            if local is not None and dashboard:  # on a free port: say which
                bar.write(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)

            def submit(group):
                dirs = [str(store.prepare(c)) for c in group]
                # retries=0: Dask would retry any error; the driver retries lost workers only
                return client.submit(_execute, job, group, dirs, _report_from_worker, retries=0, pure=False)
        try:
            _drive(configs, store, group_by, submit, n_slots, scheduler == "synchronous", bar, retries)
        except BaseException:
            quiet.silence(local)
            raise
    return [store.result_path(c) for c in configs]


def _drive(configs: list[dict[str, Any]], store: RunStore, group_by: Callable | None, submit: Callable,
           n_slots: int, one_at_a_time: bool, bar: Any, retries: int) -> None:
    """Submit the free runs, harvest finished jobs and wait for runs held elsewhere until all are done.

    The free runs are planned once into groups (:func:`balance_groups`, heaviest first) and
    handed out one group per free worker, the next when a job ends: the plan assumes that
    order, and a cluster given every job at once queues them on its workers by its own
    estimates (in ``fig3`` it left the 25 CTRNNs to the end of one worker's queue while the
    other worker went idle). Runs that become free later (a failed job's, a lock released
    by another sweep) are planned anew with those still queued.
    """
    active: dict[Any, list[dict[str, Any]]] = {}
    queued: list[list[dict[str, Any]]] = []
    lost: Counter = Counter()
    shown = "runs"
    while True:
        finished = [future for future in active if future.status != "pending"]
        for future in finished:
            _harvest(future, active.pop(future), store, lost, retries)
        pending = store.pending(configs)
        running = {run_id(c) for group in active.values() for c in group}
        waiting = [c for c in pending if run_id(c) not in running]
        free = [c for c in waiting if not store.lock(c).held()]
        held = len(waiting) - len(free)
        description = f"runs ({held} held by other sweeps)" if held else "runs"
        if description != shown:
            bar.set_description(description, refresh=False)
            shown = description
        bar.update(len(configs) - len(pending) - bar.n)
        if not pending and not active:
            return
        # the queue keeps only runs still free (another sweep may have taken or finished some)
        free_ids = {run_id(c) for c in free}
        queued = [kept for kept in ([c for c in group if run_id(c) in free_ids] for group in queued) if kept]
        if len(free) > sum(len(group) for group in queued):
            queued = balance_groups(group_configs(free, group_by), n_slots)
        submitted = False
        while queued and len(active) < (1 if one_at_a_time else n_slots):
            group = queued.pop(0)
            active[submit(group)] = group
            submitted = True
        if not submitted and not finished:
            time.sleep(POLL_SECONDS)
