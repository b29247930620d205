"""CTRNNWeights: validation, casting, extraction from a torch CTRNN."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from neurodis.simulator import CTRNNWeights
from neurodis.simulator.weights import check_float_dtype


def _arrays(n_in: int = 3, n: int = 4, n_out: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "weight_ih": rng.normal(size=(n, n_in)), "weight_hh": rng.normal(size=(n, n)),
        "bias": rng.normal(size=n), "readout_weight": rng.normal(size=(n_out, n)),
        "readout_bias": rng.normal(size=n_out),
    }


def test_sizes_alpha_and_config_round_trip_through_json() -> None:
    w = CTRNNWeights(**_arrays(), tau=100.0, dt=25.0, activation="tanh", leaky=False)
    assert (w.n_inputs, w.n_units, w.n_outputs, w.alpha) == (3, 4, 2, 0.25)
    config = json.loads(json.dumps(w.config()))
    assert config["activation"] == "tanh" and config["leaky"] is False and config["arch"] == "ctrnn"
    assert "CTRNNWeights(" in repr(w)


def test_arrays_are_read_only_copies() -> None:
    arrays = _arrays()
    w = CTRNNWeights(**arrays)
    arrays["weight_hh"][0, 0] = 1e6
    assert w.weight_hh[0, 0] != 1e6
    with pytest.raises(ValueError, match="read-only"):
        w.weight_hh[0, 0] = 0.0


def test_cast_changes_every_array_and_keeps_values() -> None:
    w = CTRNNWeights(**_arrays())
    w32 = w.cast(np.float32)
    assert all(getattr(w32, name).dtype == np.float32 for name in _arrays())
    np.testing.assert_allclose(w32.weight_hh, w.weight_hh, rtol=1e-7)
    assert w.cast("float64") is w
    assert w32.cast(np.float64).dtype == np.float64


def test_integer_arrays_become_float64() -> None:
    arrays = {key: np.ones(value.shape, dtype=np.int64) for key, value in _arrays().items()}
    assert CTRNNWeights(**arrays).dtype == np.float64


def test_from_model_copies_the_torch_parameters_exactly() -> None:
    from neurodis.models import CTRNN

    net = CTRNN(3, 2, n_units=5, tau=80.0, dt=20.0, activation="softplus", leaky=False,
                input_noise=0.1, recurrent_noise=0.2, readout="tanh", bound=3.0, seed=4)
    w = CTRNNWeights.from_model(net)
    np.testing.assert_array_equal(w.weight_hh, net.weight_hh.detach().double().numpy())
    np.testing.assert_array_equal(w.weight_ih, net.weight_ih.detach().double().numpy())
    np.testing.assert_array_equal(w.readout_bias, net.readout.linear.bias.detach().double().numpy())
    assert (w.tau, w.dt, w.activation, w.leaky, w.readout, w.bound) == (80.0, 20.0, "softplus", False, "tanh", 3.0)
    assert (w.input_noise, w.recurrent_noise) == (0.1, 0.2)


def test_from_model_refuses_models_it_cannot_represent() -> None:
    from neurodis.models import make_model

    lstm = make_model("lstm", n_inputs=3, n_outputs=2, n_units=4)
    with pytest.raises(TypeError, match="must be a CTRNN.*arch 'lstm'"):
        CTRNNWeights.from_model(lstm)
    with pytest.raises(TypeError, match="arch 'transformer'"):
        CTRNNWeights.from_model(SimpleNamespace(arch="transformer"))


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"weight_hh": np.zeros((4, 3))}, ValueError, r"weight_hh must have shape \(4, 4\)"),
        ({"weight_ih": np.zeros((5, 3))}, ValueError, r"weight_ih must have shape \(4, 'any'\)"),
        ({"bias": np.zeros(3)}, ValueError, r"bias must have shape \(4,\)"),
        ({"readout_weight": np.zeros((2, 5))}, ValueError, r"readout_weight must have shape"),
        ({"readout_bias": np.zeros(3)}, ValueError, r"readout_bias must have shape \(2,\)"),
        ({"weight_hh": np.full((4, 4), np.nan)}, ValueError, "weight_hh must be finite"),
        ({"bias": np.array([0, 0, np.inf, 0])}, ValueError, "bias must be finite"),
        ({"weight_hh": np.zeros((4, 4), dtype=complex)}, TypeError, "weight_hh must be a real numeric"),
        ({"bias": np.zeros(4, dtype=bool)}, TypeError, "bias must be a real numeric"),
        ({"dt": 200.0}, ValueError, r"dt must be <= tau=100.0"),
        ({"tau": 0.0}, ValueError, "tau must be > 0"),
        ({"dt": -1.0}, ValueError, "dt must be > 0"),
        ({"activation": "sigmoid"}, ValueError, "activation must be one of"),
        ({"readout": "softmax"}, ValueError, "readout must be one of"),
        ({"leaky": 1}, TypeError, "leaky must be a bool"),
        ({"recurrent_noise": -0.1}, ValueError, "recurrent_noise must be >= 0"),
        ({"input_noise": float("nan")}, ValueError, "input_noise must be a finite"),
        ({"bound": 0.0}, ValueError, "bound must be > 0"),
    ],
)
def test_bad_weights_are_refused(change: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        CTRNNWeights(**{**_arrays(), **change})


def test_random_validates_sizes() -> None:
    with pytest.raises(ValueError, match="n_units must be an integer >= 1"):
        CTRNNWeights.random(n_inputs=2, n_units=0, n_outputs=1)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex64", None, "nonsense"])
def test_only_float32_and_float64_are_accepted(dtype: object) -> None:
    with pytest.raises(TypeError, match="dtype must be numpy.float32 or numpy.float64"):
        check_float_dtype(dtype)
    with pytest.raises(TypeError, match="dtype must be numpy.float32 or numpy.float64"):
        CTRNNWeights(**_arrays()).cast(dtype)
