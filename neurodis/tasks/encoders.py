"""The frozen random encoder that mixes the stimulus before the network sees it.

The network never sees the noisy evidence ``X(t)`` directly but ``f(X(t))``, where
``f`` is a random multilayer perceptron ``D → 100 → 100 → 40`` that is drawn once from
a seed and then frozen (SCIENCE.md §1). The hidden nonlinearity is ReLU, or ``h²`` for
the "quadratic" variant; the output layer is linear. ``f`` is applied at every time step
(also where the stimulus is 0, so ``f(0)`` is a constant offset); the fixation channel
bypasses it and comes first.

Weight initialisation
---------------------
Every layer ``l`` with ``fan_in`` inputs draws its weight matrix (stored as
``(fan_out, fan_in)``, torch's ``nn.Linear`` layout) and then its bias from
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``. This is the distribution of PyTorch's default
``nn.Linear`` initialisation (``kaiming_uniform_(a=sqrt(5))`` for weights, the same
bound for biases), which is what the study's frozen torch MLP used. The draws come
from ``numpy.random.default_rng(seed)``, layer by layer, weight before bias, so an
encoder is fully determined by its integer ``seed``; the weights themselves are also
saved with it, so a saved encoder stays valid whatever the random stream of a future
numpy version.

Arithmetic is float64 on a reshaped ``(samples, D)`` array with precomputed transposed
weights. A float32 stimulus is encoded in float32 (with float32 copies of the weights),
which is about twice as fast and is what a float32 training loop needs anyway.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from neurodis._validation import check_array, check_in, check_int, check_memory, check_type, describe
from neurodis.errors import CorruptFileError
from neurodis.files import check_path, read_json, write_json
from neurodis.trials import INPUT, load_dataset, save_dataset

__all__ = ["Encoder"]

_FORMAT = "neurodis.encoder"
_BLOCK = 512  # rows per matrix product in the encoder kernel
_FORMAT_VERSION = 1


@dataclass(frozen=True, kw_only=True, eq=False)
class Encoder:
    """Frozen random MLP applied to the stimulus channels at every time step.

    Parameters
    ----------
    n_dims : int
        Number of stimulus channels ``D`` (>= 1).
    hidden : sequence of int
        Widths of the hidden layers (each >= 1; may be empty for a linear map).
    n_out : int
        Number of encoded channels (>= 1).
    kind : {"relu", "quadratic"}
        Hidden nonlinearity: ``max(h, 0)`` or ``h**2``.
    seed : int
        Non-negative seed of the weight draws (see the module docstring).

    Attributes
    ----------
    weights : tuple of ndarray
        Read-only float64 weight matrices, layer ``l`` of shape ``(fan_out, fan_in)``.
    biases : tuple of ndarray
        Read-only float64 biases, layer ``l`` of shape ``(fan_out,)``.

    Examples
    --------
    >>> import numpy as np
    >>> enc = Encoder(n_dims=2, seed=0)
    >>> enc.encode(np.zeros((16, 22, 2))).shape
    (16, 22, 40)
    >>> [w.shape for w in enc.weights]
    [(100, 2), (100, 100), (40, 100)]
    >>> Encoder(kind="cubic")
    Traceback (most recent call last):
    ...
    ValueError: kind must be one of ['relu', 'quadratic']; got 'cubic'
    """

    KINDS: ClassVar[tuple[str, ...]] = ("relu", "quadratic")

    n_dims: int = 2
    hidden: tuple[int, ...] = (100, 100)
    n_out: int = 40
    kind: str = "relu"
    seed: int = 0
    weights: tuple[np.ndarray, ...] = field(init=False, repr=False)
    biases: tuple[np.ndarray, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_int("n_dims", self.n_dims, minimum=1)
        check_int("n_out", self.n_out, minimum=1)
        check_in("kind", self.kind, self.KINDS)
        check_int("seed", self.seed, minimum=0)
        check_type("hidden", self.hidden, (tuple, list), "a sequence of positive integers")
        hidden = tuple(check_int(f"hidden[{i}]", h, minimum=1) for i, h in enumerate(self.hidden))
        object.__setattr__(self, "hidden", hidden)
        sizes = self.sizes
        # float64 weights plus float32 copies for the fast path
        n_bytes = 12.0 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        names = ["n_dims", *(f"hidden[{i}]" for i in range(len(hidden))), "n_out"]
        name, value = max(zip(names, sizes), key=lambda item: item[1])  # the width that dominates
        check_memory(name, value, n_bytes, f"encoder weights for layer widths {sizes}")
        rng = np.random.default_rng(self.seed)
        weights, biases = [], []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            weights.append(rng.uniform(-bound, bound, size=(fan_out, fan_in)))
            biases.append(rng.uniform(-bound, bound, size=fan_out))
        self._set_parameters(weights, biases)

    # -- parameters ---------------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths from input to output, ``(n_dims, *hidden, n_out)``."""
        return (self.n_dims, *self.hidden, self.n_out)

    def _set_parameters(self, weights: Sequence[Any], biases: Sequence[Any]) -> None:
        """Store read-only float64 parameters and their transposed float64/float32 copies."""
        sizes = self.sizes
        if len(weights) != len(sizes) - 1 or len(biases) != len(sizes) - 1:
            raise ValueError(
                f"weights and biases must have {len(sizes) - 1} layers for sizes {sizes}; "
                f"got {len(weights)} weight and {len(biases)} bias arrays"
            )
        ws, bs = [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            w = check_array(f"weights[{i}]", weights[i], shape=(fan_out, fan_in), dtype=np.float64)
            b = check_array(f"biases[{i}]", biases[i], shape=(fan_out,), dtype=np.float64)
            ws.append(_frozen(w))
            bs.append(_frozen(b))
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))
        # x @ Wᵀ on a (samples, fan_in) array is one BLAS gemm with a contiguous (in, out) matrix
        fast = {
            dtype: (
                tuple(np.ascontiguousarray(w.T, dtype=dtype) for w in ws),
                tuple(b.astype(dtype) for b in bs),
            )
            for dtype in (np.float64, np.float32)
        }
        object.__setattr__(self, "_fast", fast)
        # f(0), the value of every all-zero stimulus row, computed once per dtype
        zeros = {dtype: self._forward(np.zeros((1, self.n_dims), dtype), dtype)[0] for dtype in fast}
        object.__setattr__(self, "_zero_code", zeros)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Encoder):
            return NotImplemented
        return self.config() == other.config() and all(
            np.array_equal(a, b)
            for a, b in zip(self.weights + self.biases, other.weights + other.biases)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays: not hashable

    # -- encoding -----------------------------------------------------------------------

    def encode(self, stimulus: Any) -> np.ndarray:
        """Apply the encoder to every sample of ``stimulus``.

        Parameters
        ----------
        stimulus : array-like, shape (..., n_dims)
            Stimulus values; any leading dims (e.g. trial, time). A float32 array is
            encoded in float32, anything else in float64.

        Returns
        -------
        ndarray, shape (..., n_out)

        Raises
        ------
        ValueError
            If the last dimension is not ``n_dims`` or values are non-finite.

        Examples
        --------
        >>> import numpy as np
        >>> enc = Encoder(n_dims=1, hidden=(3,), n_out=2, seed=1)
        >>> bool(np.allclose(enc.encode(np.zeros((4, 1))), enc.encode(np.zeros(1))))
        True
        """
        x = check_array("stimulus", stimulus)
        if x.ndim == 0 or x.shape[-1] != self.n_dims:
            raise ValueError(
                f"stimulus must have n_dims={self.n_dims} channels in its last dimension; "
                f"got {describe(x)}"
            )
        return self._encode(x)

    def _encode(self, x: np.ndarray) -> np.ndarray:
        """Encode a validated ``(..., n_dims)`` array; rows that are exactly 0 get ``f(0)``."""
        dtype = np.float32 if x.dtype == np.float32 else np.float64
        x_sxd = np.ascontiguousarray(x, dtype=dtype).reshape(-1, self.n_dims)
        # Tasks leave the stimulus at 0 outside its period (most steps of flip-flop and
        # pulse trials): those rows are the constant f(0), so only the others go through
        # the MLP, the costly part.
        nonzero_s = x_sxd.any(axis=1)
        if nonzero_s.all():
            out_sxo = self._forward(x_sxd, dtype)
        else:
            out_sxo = np.empty((x_sxd.shape[0], self.n_out), dtype=dtype)
            out_sxo[:] = self._zero_code[dtype]  # type: ignore[attr-defined]
            out_sxo[nonzero_s] = self._forward(x_sxd[nonzero_s], dtype)
        return out_sxo.reshape(*x.shape[:-1], self.n_out)

    def _forward(self, x_sxd: np.ndarray, dtype: type) -> np.ndarray:
        """Raw kernel: encode a contiguous ``(samples, n_dims)`` array."""
        if len(x_sxd) <= _BLOCK:
            return self._forward_block(x_sxd, dtype)
        # blocks of rows keep the (rows, hidden) temporaries in cache: about 1.5x faster
        # than one product over a large batch
        out_sxo = np.empty((len(x_sxd), self.n_out), dtype=dtype)
        for start in range(0, len(x_sxd), _BLOCK):
            out_sxo[start : start + _BLOCK] = self._forward_block(x_sxd[start : start + _BLOCK], dtype)
        return out_sxo

    def _forward_block(self, x_sxd: np.ndarray, dtype: type) -> np.ndarray:
        weights_t, biases = self._fast[dtype]  # type: ignore[attr-defined]
        h_sxh = x_sxd
        for layer, (w_t, b) in enumerate(zip(weights_t, biases)):
            h_sxh = h_sxh @ w_t
            h_sxh += b
            if layer < len(weights_t) - 1:
                if self.kind == "relu":
                    np.maximum(h_sxh, 0.0, out=h_sxh)
                else:
                    np.square(h_sxh, out=h_sxh)
        return h_sxh

    def offset(self) -> np.ndarray:
        """``f(0)``: the constant encoded value wherever the stimulus is 0, shape (n_out,)."""
        return self.encode(np.zeros(self.n_dims))

    def n_inputs_after(self, n_inputs: int) -> int:
        """Number of network inputs after encoding ``n_inputs`` raw channels.

        Examples
        --------
        >>> Encoder().n_inputs_after(3)
        41
        """
        n_inputs = check_int("n_inputs", n_inputs, minimum=self.n_dims)
        return n_inputs - self.n_dims + self.n_out

    def encoded_names(self) -> list[str]:
        """Names of the encoded channels, ``"encoded_0" … "encoded_{n_out-1}"``."""
        return [f"encoded_{i}" for i in range(self.n_out)]

    def encode_inputs(
        self, inputs: np.ndarray, input_names: Sequence[str]
    ) -> tuple[np.ndarray, list[str]]:
        """Replace the stimulus channels of raw inputs by their encoding.

        Channels whose name starts with ``"stimulus"`` are encoded (in the order they
        appear); every other channel (the fixation input) passes through unchanged and
        comes first.

        Parameters
        ----------
        inputs : ndarray, shape (..., input)
            Raw inputs, e.g. (trial, time, input).
        input_names : sequence of str
            Names of the ``input`` channels.

        Returns
        -------
        inputs : ndarray, shape (..., n_other + n_out)
        names : list of str
            Pass-through names, then ``"encoded_0" … "encoded_{n_out-1}"``.

        Raises
        ------
        ValueError
            If the names do not match the channels or the number of stimulus channels
            is not ``n_dims``.

        Examples
        --------
        >>> import numpy as np
        >>> enc = Encoder(n_dims=2, n_out=3, hidden=(4,))
        >>> x, names = enc.encode_inputs(np.ones((5, 7, 3)), ["fixation", "stimulus_0", "stimulus_1"])
        >>> x.shape, names
        ((5, 7, 4), ['fixation', 'encoded_0', 'encoded_1', 'encoded_2'])
        """
        inputs = check_array("inputs", inputs)
        names = list(input_names)
        if inputs.ndim == 0 or inputs.shape[-1] != len(names):
            raise ValueError(
                f"input_names must have one entry per input channel ({describe(inputs)}); "
                f"got {len(names)} names"
            )
        stim = [i for i, name in enumerate(names) if str(name).startswith("stimulus")]
        other = [i for i, name in enumerate(names) if not str(name).startswith("stimulus")]
        if len(stim) != self.n_dims:
            raise ValueError(
                f"inputs must have n_dims={self.n_dims} channels named 'stimulus*'; "
                f"got {len(stim)} in {names}"
            )
        dtype = np.float32 if inputs.dtype == np.float32 else np.float64
        out = np.empty((*inputs.shape[:-1], len(other) + self.n_out), dtype=dtype)
        out[..., : len(other)] = inputs[..., other]
        is_block = stim == list(range(stim[0], stim[0] + len(stim)))
        stimulus = inputs[..., stim[0] : stim[-1] + 1] if is_block else inputs[..., stim]
        out[..., len(other) :] = self._encode(stimulus)
        return out, [names[i] for i in other] + self.encoded_names()

    def encode_trials(self, trials: xr.Dataset) -> xr.Dataset:
        """Return a copy of a trials Dataset with its stimulus channels encoded.

        The encoder's config is recorded in ``attrs["encoder"]`` (JSON).

        Raises
        ------
        ValueError
            If ``trials`` has no ``inputs`` variable or its stimulus channels do not
            match ``n_dims``.
        """
        check_type("trials", trials, xr.Dataset, "an xarray.Dataset of trials")
        if "inputs" not in trials:
            raise ValueError(f"trials must contain an 'inputs' variable; got {list(trials.data_vars)}")
        raw = trials["inputs"]
        values, names = self.encode_inputs(raw.values, [str(n) for n in raw[INPUT].values])
        encoded = trials.drop_vars(["inputs", INPUT]).assign(
            inputs=(raw.dims, values)
        ).assign_coords({INPUT: names})
        encoded.attrs["encoder"] = json.dumps(self.config(), sort_keys=True)
        return encoded

    # -- persistence --------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The constructor parameters as a JSON-serialisable dict."""
        return {
            "n_dims": self.n_dims,
            "hidden": list(self.hidden),
            "n_out": self.n_out,
            "kind": self.kind,
            "seed": self.seed,
        }

    def to_dict(self) -> dict[str, Any]:
        """Config plus all parameters as plain lists (JSON keeps float64 exactly).

        Examples
        --------
        >>> enc = Encoder(hidden=(5,), n_out=3)
        >>> Encoder.from_dict(enc.to_dict()) == enc
        True
        """
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "config": self.config(),
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoder:
        """Rebuild an encoder written by :meth:`to_dict`, with exactly its parameters.

        Raises
        ------
        ValueError
            If keys are missing, the format is not an encoder's, or the parameter
            shapes do not match the config.
        """
        check_type("data", data, dict, "a dict written by Encoder.to_dict")
        required = ["format", "config", "weights", "biases"]
        missing = [key for key in required if key not in data]
        if missing:
            raise ValueError(f"data must contain keys {required}; missing {missing}")
        if data["format"] != _FORMAT:
            raise ValueError(f"data['format'] must be {_FORMAT!r}; got {data['format']!r}")
        encoder = cls(**data["config"])
        encoder._set_parameters(data["weights"], data["biases"])
        return encoder

    def save(self, path: str | os.PathLike) -> Path:
        """Write the encoder atomically as JSON (``.json``) or netCDF (``.nc``).

        Both formats hold the exact float64 parameters, with a SHA-256 sidecar
        (``<path>.sha256``) that :meth:`load` checks; no pickle is used.

        Raises
        ------
        TypeError
            If ``path`` is not a path.
        ValueError
            If the suffix is neither ``.json`` nor ``.nc``, or ``path`` is an existing
            folder.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> enc = Encoder(hidden=(4,), n_out=3, kind="quadratic", seed=7)
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> Encoder.load(enc.save(folder / "encoder.json")) == enc
        True
        """
        path = check_path("path", path, kind="file")
        suffix = check_in("path suffix", path.suffix, [".json", ".nc"])
        if suffix == ".nc":
            return save_dataset(self._to_dataset(), path)
        # one line: the weights are long lists of numbers
        return write_json(path, self.to_dict(), indent=None, checksum=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Encoder:
        """Load an encoder written by :meth:`save`, checked against its SHA-256 sidecar.

        Raises
        ------
        TypeError
            If ``path`` is not a path.
        FileNotFoundError
            If ``path`` does not exist.
        CorruptFileError
            If the file is truncated or garbled or fails its checksum.
        ValueError
            If the suffix is neither ``.json`` nor ``.nc`` or the content is not an
            encoder's (the message names the file).
        """
        path = check_path("path", path, kind="file")
        suffix = check_in("path suffix", path.suffix, [".json", ".nc"])
        if not path.is_file():
            raise FileNotFoundError(f"path must be an existing encoder file; got {str(path)!r}")
        try:
            if suffix == ".json":
                return cls.from_dict(read_json(path))
            return cls._from_dataset(load_dataset(path))
        except CorruptFileError:
            raise
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"{path} must hold an encoder written by Encoder.save; got an error: {err}") from err

    def _to_dataset(self) -> xr.Dataset:
        variables: dict[str, Any] = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            variables[f"weight_{i}"] = ((f"out_{i}", f"in_{i}"), w)
            variables[f"bias_{i}"] = ((f"out_{i}",), b)
        attrs = {"format": _FORMAT, "format_version": _FORMAT_VERSION,
                 "config": json.dumps(self.config(), sort_keys=True)}
        return xr.Dataset(variables, attrs=attrs)

    @classmethod
    def _from_dataset(cls, ds: xr.Dataset) -> Encoder:
        if ds.attrs.get("format") != _FORMAT or "config" not in ds.attrs:
            raise ValueError(
                f"netCDF file must hold an encoder (attrs format={_FORMAT!r} and config); "
                f"got attrs {sorted(ds.attrs)}"
            )
        config = json.loads(ds.attrs["config"])
        layers = range(len(config["hidden"]) + 1)
        names = [f"{kind}_{i}" for i in layers for kind in ("weight", "bias")]
        missing = [name for name in names if name not in ds]
        if missing:
            raise ValueError(f"netCDF encoder file must hold variables {names}; missing {missing}")
        return cls.from_dict({
            "format": _FORMAT,
            "config": config,
            "weights": [ds[f"weight_{i}"].values for i in layers],
            "biases": [ds[f"bias_{i}"].values for i in layers],
        })


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64, copy=True)
    array.flags.writeable = False
    return array
