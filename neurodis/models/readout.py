"""Readout heads: a linear map from rates to logits plus the output nonlinearity.

Models return *logits* (the linear readout); :meth:`Readout.activate` turns them into
outputs. Keeping the two apart lets training use the numerically stable
``binary_cross_entropy_with_logits`` for the sigmoid head.
"""

from __future__ import annotations

import torch
from torch import nn

from neurodis._validation import check_in, check_int, check_real
from neurodis.models.base import READOUT_KINDS, empty_module, fan_in_bound, seeded_generators, uniform_init

__all__ = ["Readout"]

# loss that matches each head: BCE on logits for probabilities, MSE on outputs otherwise
_LOSSES = {"sigmoid": "bce_with_logits", "tanh": "mse", "linear": "mse"}


class Readout(nn.Module):
    """Linear readout with a sigmoid, scaled-tanh or identity output nonlinearity.

    Parameters
    ----------
    n_units : int
        Width of the rates read out.
    n_outputs : int
        Number of output channels.
    kind : {"sigmoid", "tanh", "linear"}
        ``"sigmoid"``: probabilities for binary targets (train with BCE on logits);
        ``"tanh"``: ``bound * tanh(z)`` for targets bounded in ``[-bound, bound]``
        (train with MSE); ``"linear"``: unbounded regression (MSE).
    bound : float
        Output bound of the ``"tanh"`` head (> 0; unused by the others).
    generator : torch.Generator, optional
        Source of the initial weights. ``None`` uses a generator seeded with 0, never
        the global torch RNG. Weights and bias are U(-1/sqrt(n_units), 1/sqrt(n_units)),
        PyTorch's ``nn.Linear`` default.

    Attributes
    ----------
    linear : torch.nn.Linear
        The ``n_units -> n_outputs`` map.
    loss : str
        The loss suited to the head: ``"bce_with_logits"`` or ``"mse"``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``bound`` is not positive.

    Examples
    --------
    >>> import torch
    >>> head = Readout(4, 2, kind="tanh", bound=5.0)
    >>> outputs = head.activate(head(torch.zeros(3, 4)))
    >>> tuple(outputs.shape), head.loss
    ((3, 2), 'mse')
    """

    def __init__(
        self,
        n_units: int,
        n_outputs: int,
        kind: str = "sigmoid",
        bound: float = 5.0,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        n_units = check_int("n_units", n_units, minimum=1)
        n_outputs = check_int("n_outputs", n_outputs, minimum=1)
        self.kind = check_in("readout", kind, READOUT_KINDS)
        self.bound = check_real("bound", bound, minimum=0.0, strict_minimum=True)
        if generator is None:
            (generator,) = seeded_generators(0, 1)
        self.linear = empty_module(nn.Linear, n_units, n_outputs)
        uniform_init(self.linear.weight, fan_in_bound(n_units), generator)
        uniform_init(self.linear.bias, fan_in_bound(n_units), generator)

    @property
    def loss(self) -> str:
        return _LOSSES[self.kind]

    def forward(self, rates: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., n_outputs)`` of ``rates (..., n_units)``."""
        return self.linear(rates)

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Outputs from logits: ``sigmoid(z)``, ``bound * tanh(z)`` or ``z``.

        Examples
        --------
        >>> import torch
        >>> Readout(2, 1, kind="sigmoid").activate(torch.tensor([0.0]))
        tensor([0.5000])
        """
        if self.kind == "sigmoid":
            return torch.sigmoid(logits)
        if self.kind == "tanh":
            return self.bound * torch.tanh(logits)
        return logits

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, bound={self.bound!r}"
