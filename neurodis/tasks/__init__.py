"""The task library: every task is registered by name and samples vectorised trials.

Examples
--------
>>> import neurodis
>>> "classification" in neurodis.list_tasks()
True
>>> task = neurodis.make_task("classification", n_tasks=6)
>>> trials = task.sample(16, rng=0)
>>> dict(trials.sizes)
{'trial': 16, 'time': 22, 'input': 3, 'output': 6, 'latent': 2}
"""

from neurodis.tasks._base import Encoding, Task, Timing, TrialBatch, list_tasks, make_task, register_task

__all__ = [
    "Encoding",
    "Task",
    "Timing",
    "TrialBatch",
    "list_tasks",
    "make_task",
    "register_task",
]
