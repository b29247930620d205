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

from neurodis.tasks.accumulation import AccumulationTask
from neurodis.tasks.base import EncoderLike, Task, Timing, TrialBatch, list_tasks, make_task, register_task
from neurodis.tasks.classification import ClassificationTask
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.flipflop import FlipFlopTask
from neurodis.tasks.latents import LatentPrior, orthant_of, quadrant_of, quadrant_to_orthant
from neurodis.tasks.neurogym import NeurogymTask, from_neurogym, to_neurogym  # imports neurogym only when called
from neurodis.tasks.noise import NoiseModel, make_noise
from neurodis.tasks.pulses import PulsesTask
from neurodis.tasks.regression import RegressionTask

__all__ = [
    "AccumulationTask",
    "ClassificationTask",
    "Encoder",
    "EncoderLike",
    "FlipFlopTask",
    "LatentPrior",
    "NeurogymTask",
    "NoiseModel",
    "PulsesTask",
    "RegressionTask",
    "Task",
    "Timing",
    "TrialBatch",
    "from_neurogym",
    "list_tasks",
    "make_noise",
    "make_task",
    "orthant_of",
    "quadrant_of",
    "quadrant_to_orthant",
    "register_task",
    "to_neurogym",
]
