"""Sweep groups are balanced over the workers by estimated work, not by count."""

from __future__ import annotations

import numpy as np
import pytest

from neurodis.sweeps.runner import (
    BALANCE_TOLERANCE,
    NETWORK_COST,
    READOUT_COST,
    balance_groups,
    longest_first_makespan,
    run_cost,
)


def _runs(network: str, n: int, n_batches: int = 1000) -> list[dict]:
    return [{"network": network, "n_batches": n_batches, "seed": k} for k in range(n)]


def _work(group: list[dict]) -> float:
    return sum(run_cost(c) for c in group)


@pytest.mark.parametrize("n_batches", [300, 300.0, np.int64(300)])
def test_run_cost_is_network_cost_times_batches(n_batches):
    assert run_cost({"network": "lstm", "n_batches": n_batches}) == pytest.approx(300 * NETWORK_COST["lstm"])


@pytest.mark.parametrize("config", [{}, {"network": "unknown"}, {"network": ["ctrnn"]}, {"n_batches": "many"},
                                    {"n_batches": True}, {"n_batches": -5}, {"n_tasks": True}, {"n_tasks": 0},
                                    {"n_tasks": "24"}, {"n_tasks": 2.5}])
def test_run_cost_of_an_unknown_or_generic_config_is_one_ctrnn_batch(config):
    assert run_cost(config) == 1.0


@pytest.mark.parametrize("n_tasks", [1, 6, np.int64(24)])
def test_run_cost_adds_a_readout_row_per_task(n_tasks):
    config = {"network": "transformer", "n_batches": 500}
    assert run_cost({**config, "n_tasks": n_tasks}) == pytest.approx(
        500 * NETWORK_COST["transformer"] + 500 * READOUT_COST * int(n_tasks))
    assert run_cost({**config, "n_tasks": n_tasks}) - run_cost(config) == pytest.approx(500 * READOUT_COST * n_tasks)


def test_a_transformer_ensemble_is_not_left_alone_on_one_worker():
    ctrnns, transformers = _runs("ctrnn", 13), _runs("transformer", 6)
    # by count, the two groups already fill the two workers: 13 CTRNNs | 6 transformers,
    # where the transformers' worker would run four times as long
    assert longest_first_makespan([_work(ctrnns), _work(transformers)], 2) > 3 * _work(ctrnns)
    groups = balance_groups([ctrnns, transformers], 2)
    share = (_work(ctrnns) + _work(transformers)) / 2
    assert longest_first_makespan([_work(g) for g in groups], 2) <= (1 + BALANCE_TOLERANCE) * share
    assert sorted(len(g) for g in groups if g[0]["network"] == "transformer") == [3, 3]


def test_the_longest_first_makespan_is_the_greedy_schedule_written_out():
    works = [7.0, 5.0, 4.0, 4.0, 3.0, 1.0]
    loads = [0.0, 0.0, 0.0]
    for work in works:  # each job to the least loaded worker
        loads[loads.index(min(loads))] += work
    assert longest_first_makespan(works[::-1], 3) == max(loads) == 8.0
    assert longest_first_makespan([2.0], 4) == 2.0


def test_fig3_on_two_workers_splits_one_ensemble_where_it_helps_most():
    from neurodis.sweeps.presets import ensemble_key, get_preset
    from neurodis.sweeps.runner import group_configs

    four = group_configs(get_preset("fig3").configs(), ensemble_key)
    groups = balance_groups(four, 2)
    sizes = sorted((g[0]["network"], len(g)) for g in groups)
    assert sizes == [("ctrnn", 11), ("ctrnn", 14), ("ctrnn_nonleaky", 25), ("lstm", 25), ("transformer", 25)]
    works = [_work(g) for g in groups]
    assert longest_first_makespan(works, 2) <= (1 + BALANCE_TOLERANCE) * sum(works) / 2
    # the CTRNNs of few tasks go together: their half holds one network more than an even count
    few, many = sorted((g for g in groups if g[0]["network"] == "ctrnn"), key=len, reverse=True)
    assert max(c["n_tasks"] for c in few) == 6 == min(c["n_tasks"] for c in many)
    assert abs(_work(few) - _work(many)) < run_cost(many[-1])
    # splitting the largest ensemble (the LSTMs') instead would not shorten the schedule at all
    lstm = next(g for g in four if g[0]["network"] == "lstm")
    halves = [lstm[:13], lstm[13:], *(g for g in four if g is not lstm)]
    unsplit = longest_first_makespan([_work(g) for g in four], 2)
    assert longest_first_makespan([_work(g) for g in halves], 2) == unsplit > longest_first_makespan(works, 2)


def test_groups_come_back_heaviest_first_and_lose_no_run():
    groups = balance_groups([_runs("ctrnn", 7), _runs("lstm", 5), _runs("gru", 1)], 3)
    works = [_work(g) for g in groups]
    assert works == sorted(works, reverse=True)
    runs = sorted((c["network"], c["seed"]) for g in groups for c in g)
    assert runs == sorted([("ctrnn", k) for k in range(7)] + [("lstm", k) for k in range(5)] + [("gru", 0)])


def test_groups_are_split_no_further_than_needed():
    # a larger ensemble is cheaper per network: 13 + 12 on two workers, not smaller
    assert [len(g) for g in balance_groups([_runs("ctrnn", 25)], 2)] == [13, 12]
    assert [len(g) for g in balance_groups([_runs("ctrnn", 10), _runs("ctrnn", 10)], 2)] == [10, 10]


def test_a_custom_cost_splits_by_work():
    heavy_first = [{"w": 6.0}, {"w": 1.0}, {"w": 1.0}, {"w": 1.0}, {"w": 1.0}]
    groups = balance_groups([heavy_first], 2, cost=lambda c: c["w"])
    assert [[c["w"] for c in g] for g in groups] == [[6.0], [1.0, 1.0, 1.0, 1.0]]


def test_single_runs_are_never_split_further():
    assert balance_groups([[{"seed": 0}]], 4) == [[{"seed": 0}]]


def test_n_slots_is_validated():
    with pytest.raises(ValueError, match="n_slots"):
        balance_groups([_runs("ctrnn", 2)], 0)


@pytest.mark.parametrize("works", [[[0, 0, 0, 0], [1], [1], [1]], [[2, 2, 1], [0, 0]], [[0, 0], [0]]])
def test_runs_without_work_end_the_planning_and_leave_no_empty_group(works):
    groups = [[{"w": w, "id": (g, k)} for k, w in enumerate(ws)] for g, ws in enumerate(works)]
    balanced = balance_groups(groups, 2, cost=lambda c: c["w"])
    assert all(balanced)
    assert sorted(c["id"] for g in balanced for c in g) == sorted(c["id"] for g in groups for c in g)


@pytest.mark.parametrize("n_slots", [64, 200])
def test_a_large_sweep_on_many_workers_is_planned_within_the_tolerance(n_slots):
    # 1000 runs in three ensembles on a cluster (a second or less to plan)
    groups = [_runs("ctrnn", 400), _runs("lstm", 300), _runs("transformer", 300)]
    balanced = balance_groups(groups, n_slots)
    works = [_work(g) for g in balanced]
    assert longest_first_makespan(works, n_slots) <= (1 + BALANCE_TOLERANCE) * sum(works) / n_slots
    assert sorted((c["network"], c["seed"]) for g in balanced for c in g) == sorted(
        (c["network"], c["seed"]) for g in groups for c in g)


def test_the_driver_hands_out_one_planned_group_per_free_worker_heaviest_first(monkeypatch):
    # the plan assumes each group goes to the first free worker, largest first; a driver
    # that submitted every group at once left the order to the cluster's queues
    from types import SimpleNamespace

    from tqdm.auto import tqdm

    from neurodis.sweeps import runner
    from neurodis.sweeps.grid import run_id

    monkeypatch.setattr(runner, "POLL_SECONDS", 0.0)
    done: set[str] = set()
    store = SimpleNamespace(pending=lambda configs: [c for c in configs if run_id(c) not in done],
                            lock=lambda config: SimpleNamespace(held=lambda: False))

    class Job:  # a job that ends on the driver's third look at it
        def __init__(self, group):
            self.group, self.looks = group, 0

        @property
        def status(self):
            self.looks += 1
            if self.looks >= 3:
                done.update(run_id(c) for c in self.group)
                return "finished"
            return "pending"

        def result(self):
            return None

    jobs: list[Job] = []

    def submit(group):
        assert sum(job.looks < 3 for job in jobs) < 2  # never more jobs out than workers
        jobs.append(Job(group))
        return jobs[-1]

    configs = [c for net, n in (("ctrnn", 13), ("lstm", 6), ("transformer", 5), ("gru", 3))
               for c in _runs(net, n)]
    runner._drive(configs, store, lambda c: c["network"], submit, 2, False, tqdm(disable=True), 0)
    plan = balance_groups(runner.group_configs(configs, lambda c: c["network"]), 2)
    assert [job.group for job in jobs] == plan
    assert len(plan) > 2 and sorted(run_id(c) for c in configs) == sorted(done)
