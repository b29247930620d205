"""The parameters of a CTRNN as plain numpy arrays, the simulator's input.

:class:`CTRNNWeights` holds exactly what the update equations of
``neurodis.models.ctrnn.CTRNN`` need (see ``INTERFACES.md``)::

    u_t   = inputs_t + sqrt(2/α) · input_noise · ζ_t
    pre_t = u_t @ weight_ihᵀ + r_{t-1} @ weight_hhᵀ + bias + sqrt(2/α) · recurrent_noise · ξ_t
    leaky:      r_t = (1-α) r_{t-1} + α f(pre_t)
    non-leaky:  r_t = r_{t-1} + α f(pre_t)
    logits_t = r_t @ readout_weightᵀ + readout_bias

with α = dt / τ and ξ, ζ standard normal draws per trial, step and unit/input.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodis._validation import check_array, check_in, check_real, describe

__all__ = ["ACTIVATIONS", "READOUTS", "CTRNNWeights"]

#: Unit nonlinearities f the simulator implements (softplus as torch: x above 20).
ACTIVATIONS = ("relu", "tanh", "softplus", "linear")
#: Readout nonlinearities: sigmoid(z), bound·tanh(z), z.
READOUTS = ("sigmoid", "tanh", "linear")
_FLOATS = (np.float32, np.float64)
_ARRAYS = ("weight_ih", "weight_hh", "bias", "readout_weight", "readout_bias")


def check_float_dtype(dtype: Any, name: str = "dtype") -> type[np.floating]:
    """Return ``numpy.float32`` or ``numpy.float64`` for ``dtype``; other dtypes are refused.

    Examples
    --------
    >>> check_float_dtype("float32")
    <class 'numpy.float32'>
    >>> check_float_dtype(np.int64)
    Traceback (most recent call last):
    ...
    TypeError: dtype must be numpy.float32 or numpy.float64; got <class 'numpy.int64'>
    """
    if dtype is np.float32 or dtype is np.float64:  # the common case, without a lookup
        return dtype
    try:
        kind = np.dtype(dtype).type
    except TypeError:
        kind = None
    if dtype is None or kind not in _FLOATS:
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64; got {describe(dtype)}")
    return kind


@dataclass(frozen=True, kw_only=True, eq=False)
class CTRNNWeights:
    """Frozen numpy parameter set of a continuous-time rate network (CTRNN).

    Parameters
    ----------
    weight_ih : ndarray, shape (unit, input)
        Input weights.
    weight_hh : ndarray, shape (unit, unit)
        Recurrent weights (row = post-synaptic unit).
    bias : ndarray, shape (unit,)
        Recurrent bias.
    readout_weight : ndarray, shape (output, unit)
        Readout weights.
    readout_bias : ndarray, shape (output,)
        Readout bias.
    tau : float
        Unit time constant in ms (> 0).
    dt : float
        Euler step in ms, ``0 < dt <= tau`` (α = dt/τ ∈ (0, 1]).
    activation : {"relu", "tanh", "softplus", "linear"}
        Unit nonlinearity f.
    leaky : bool
        Leaky ``r ← (1-α) r + α f(·)`` or non-leaky ``r ← r + α f(·)`` update.
    readout : {"sigmoid", "tanh", "linear"}
        Readout nonlinearity applied to the logits (``"tanh"`` is ``bound·tanh``).
    bound : float
        Scale of the ``"tanh"`` readout (> 0).
    input_noise, recurrent_noise : float
        Noise levels (>= 0) of the per-step noise, scaled by sqrt(2/α).

    Arrays are stored as read-only float64 (or float32 after :meth:`cast`) C-contiguous
    copies, so the simulator never sees a caller's array change under it.

    Raises
    ------
    ValueError
        If shapes disagree, values are non-finite, ``dt > tau`` or an option is unknown.
    TypeError
        If an array is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> w = CTRNNWeights.random(n_inputs=3, n_units=4, n_outputs=2, rng=0, dt=50.0)
    >>> w.alpha, w.n_units, w.weight_hh.dtype
    (0.5, 4, dtype('float64'))
    >>> CTRNNWeights.random(n_inputs=3, n_units=4, n_outputs=2, dt=200.0)
    Traceback (most recent call last):
    ...
    ValueError: dt must be <= tau=100.0 ms (alpha = dt/tau in (0, 1]); got 200.0
    """

    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias: np.ndarray
    readout_weight: np.ndarray
    readout_bias: np.ndarray
    tau: float = 100.0
    dt: float = 100.0
    activation: str = "relu"
    leaky: bool = True
    readout: str = "sigmoid"
    bound: float = 5.0
    input_noise: float = 0.0
    recurrent_noise: float = 0.0
    # dtype -> arrays laid out for the kernels (filled by the simulator, never compared)
    _kernel_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dtype = np.float32 if np.asarray(self.weight_hh).dtype == np.float32 else np.float64
        weight_hh = check_array("weight_hh", self.weight_hh, ndim=2)
        n_units = weight_hh.shape[0]
        shapes = {
            "weight_ih": (n_units, None),
            "weight_hh": (n_units, n_units),
            "bias": (n_units,),
            "readout_weight": (None, n_units),
        }
        arrays = {name: check_array(name, getattr(self, name), shape=shapes.get(name))
                  for name in _ARRAYS[:4]}
        n_outputs = arrays["readout_weight"].shape[0]
        arrays["readout_bias"] = check_array("readout_bias", self.readout_bias, shape=(n_outputs,))
        for name, array in arrays.items():
            if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
                raise TypeError(f"{name} must be a real numeric array; got {describe(array)}")
            array = np.array(array, dtype=dtype, order="C", copy=True)
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        tau = check_real("tau", self.tau, minimum=0.0, strict_minimum=True)
        dt = check_real("dt", self.dt, minimum=0.0, strict_minimum=True)
        if dt > tau:
            raise ValueError(f"dt must be <= tau={tau} ms (alpha = dt/tau in (0, 1]); got {dt}")
        object.__setattr__(self, "tau", tau)
        object.__setattr__(self, "dt", dt)
        check_in("activation", self.activation, ACTIVATIONS)
        check_in("readout", self.readout, READOUTS)
        if not isinstance(self.leaky, (bool, np.bool_)):
            raise TypeError(f"leaky must be a bool; got {describe(self.leaky)}")
        object.__setattr__(self, "leaky", bool(self.leaky))
        for name in ("input_noise", "recurrent_noise"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), minimum=0.0))
        object.__setattr__(self, "bound", check_real("bound", self.bound, minimum=0.0,
                                                     strict_minimum=True))

    @property
    def alpha(self) -> float:
        """α = dt/τ, the fraction of a time constant covered by one Euler step."""
        return self.dt / self.tau

    @property
    def n_inputs(self) -> int:
        """Number of input channels."""
        return self.weight_ih.shape[1]

    @property
    def n_units(self) -> int:
        """Number of recurrent units."""
        return self.weight_hh.shape[0]

    @property
    def n_outputs(self) -> int:
        """Number of readout outputs."""
        return self.readout_weight.shape[0]

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of the arrays."""
        return self.weight_hh.dtype

    def cast(self, dtype: Any) -> CTRNNWeights:
        """Return these weights with every array cast to ``dtype`` (float32 or float64).

        Examples
        --------
        >>> w = CTRNNWeights.random(n_inputs=2, n_units=3, n_outputs=1, rng=0)
        >>> w.cast(np.float32).bias.dtype
        dtype('float32')
        """
        dtype = check_float_dtype(dtype)
        if self.dtype == dtype:
            return self
        return dataclasses.replace(self, **{name: getattr(self, name).astype(dtype) for name in _ARRAYS})

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description (sizes and options, no arrays).

        Examples
        --------
        >>> CTRNNWeights.random(n_inputs=2, n_units=3, n_outputs=1, rng=0).config()["n_units"]
        3
        """
        return {
            "arch": "ctrnn", "n_inputs": self.n_inputs, "n_units": self.n_units,
            "n_outputs": self.n_outputs, "tau": self.tau, "dt": self.dt,
            "activation": self.activation, "leaky": self.leaky, "readout": self.readout,
            "bound": self.bound, "input_noise": self.input_noise,
            "recurrent_noise": self.recurrent_noise,
        }

    @classmethod
    def from_model(cls, model: Any) -> CTRNNWeights:
        """Extract the weights of a torch ``CTRNN`` (float64 copies, exact).

        The model's *effective* weights (``model.effective_weights()``: after its
        Dale signs, connectivity masks and removed autapses, the weights its forward
        pass uses) are taken, so a constrained network simulates as it trains.

        Parameters
        ----------
        model : neurodis.models.CTRNN
            A model with ``arch == "ctrnn"``; torch is only touched through the model.

        Returns
        -------
        CTRNNWeights

        Raises
        ------
        TypeError
            If ``model`` is not a CTRNN (for example an LSTM or a transformer).
        """
        arch = getattr(model, "arch", None)
        if arch != "ctrnn" or not callable(getattr(model, "effective_weights", None)):
            raise TypeError(
                "model must be a CTRNN (arch 'ctrnn'): the simulator implements only the "
                f"CTRNN update; got {type(model).__name__} with arch {arch!r}"
            )
        config = dict(model.config)

        def numpy(tensor: Any) -> np.ndarray:
            return tensor.detach().cpu().double().numpy()

        weights = model.effective_weights()
        return cls(
            weight_ih=numpy(weights["weight_ih"]), weight_hh=numpy(weights["weight_hh"]),
            bias=numpy(model.bias), readout_weight=numpy(weights["readout_weight"]),
            readout_bias=numpy(model.readout.linear.bias),
            **{key: config[key] for key in ("tau", "dt", "activation", "leaky", "readout",
                                            "bound", "input_noise", "recurrent_noise")
               if key in config},
        )

    @classmethod
    def random(
        cls, *, n_inputs: int, n_units: int, n_outputs: int, rng: Any = None, gain: float = 1.0,
        **options: Any,
    ) -> CTRNNWeights:
        """Random weights (normal, recurrent sd ``gain/sqrt(n_units)``) for tests and benchmarks.

        Parameters
        ----------
        n_inputs, n_units, n_outputs : int
            Sizes.
        rng : int, Generator, SeedSequence or None
            Source of randomness.
        gain : float
            Spectral scale of the recurrent matrix.
        **options
            Other fields (``tau``, ``dt``, ``activation``, ...).
        """
        from neurodis._validation import check_int, check_memory, check_rng

        generator = check_rng(rng)
        n_inputs, n_units, n_outputs = (check_int(name, value, minimum=1) for name, value in
                                        (("n_inputs", n_inputs), ("n_units", n_units),
                                         ("n_outputs", n_outputs)))
        check_memory("n_units", n_units, 8.0 * n_units * (n_units + n_inputs + n_outputs + 1),
                     f"float64 weights with {n_inputs} inputs and {n_outputs} outputs")
        return cls(
            weight_ih=generator.normal(0.0, 1.0 / np.sqrt(n_inputs), (n_units, n_inputs)),
            weight_hh=generator.normal(0.0, gain / np.sqrt(n_units), (n_units, n_units)),
            bias=generator.normal(0.0, 0.1, n_units),
            readout_weight=generator.normal(0.0, 1.0 / np.sqrt(n_units), (n_outputs, n_units)),
            readout_bias=generator.normal(0.0, 0.1, n_outputs),
            **options,
        )

    def __repr__(self) -> str:
        return f"CTRNNWeights({json.dumps(self.config())[1:-1]}, dtype={self.dtype})"
