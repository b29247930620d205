"""Training: the paper's protocol for one network, and ensembles trained at once.

The package is named ``training`` (not ``train``) so that the public function
``neurodis.train`` is never shadowed by a subpackage of the same name.

Examples
--------
>>> from neurodis.training import TrainConfig
>>> TrainConfig().lr
0.001
"""

from neurodis.training.checkpoint import load_checkpoint
from neurodis.training.config import TrainConfig
from neurodis.training.ensemble import (
    StackedModel,
    adopt_members,
    select_members,
    split_ensemble,
    train_ensemble,
)
from neurodis.training.loop import default_encoder, train
from neurodis.training.network import TrainedNetwork
from neurodis.training.runs import make_network, train_networks

__all__ = [
    "StackedModel",
    "TrainConfig",
    "TrainedNetwork",
    "adopt_members",
    "default_encoder",
    "load_checkpoint",
    "make_network",
    "select_members",
    "split_ensemble",
    "train",
    "train_ensemble",
    "train_networks",
]
