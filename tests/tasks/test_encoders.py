"""Tests of the frozen random encoder against an independent per-sample reference."""

import json

import numpy as np
import pytest
import xarray as xr

from neurodis.tasks.encoders import Encoder


def slow_encode(encoder: Encoder, stimulus: np.ndarray) -> np.ndarray:
    """Obviously-correct reference: one sample at a time, neuron by neuron sums."""
    lead = stimulus.shape[:-1]
    flat = stimulus.reshape(-1, stimulus.shape[-1])
    out = np.empty((flat.shape[0], encoder.n_out))
    n_layers = len(encoder.weights)
    for s, sample in enumerate(flat):
        h = [float(v) for v in sample]
        for layer, (w, b) in enumerate(zip(encoder.weights, encoder.biases)):
            h = [sum(w[j, i] * h[i] for i in range(len(h))) + b[j] for j in range(w.shape[0])]
            if layer < n_layers - 1:
                h = [max(v, 0.0) if encoder.kind == "relu" else v * v for v in h]
        out[s] = h
    return out.reshape(*lead, encoder.n_out)


def test_default_architecture_and_init_bounds():
    enc = Encoder()
    assert [w.shape for w in enc.weights] == [(100, 2), (100, 100), (40, 100)]
    assert [b.shape for b in enc.biases] == [(100,), (100,), (40,)]
    for w, b in zip(enc.weights, enc.biases):
        bound = 1 / np.sqrt(w.shape[1])
        assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
        # U(-c, c) has sd c/sqrt(3) and the sample sd has standard error c/sqrt(15 n)
        values = np.concatenate([w.ravel(), b])
        assert abs(values.std() - bound / np.sqrt(3)) < 5 * bound / np.sqrt(15 * values.size)


@pytest.mark.parametrize("kind", ["relu", "quadratic"])
def test_encode_matches_slow_reference(kind, rng):
    enc = Encoder(n_dims=2, hidden=(7, 5), n_out=4, kind=kind, seed=3)
    stimulus = rng.normal(size=(3, 6, 2))
    stimulus[:, 0] = 0.0  # zero rows take the f(0) shortcut
    np.testing.assert_allclose(enc.encode(stimulus), slow_encode(enc, stimulus), rtol=1e-12, atol=1e-13)


def test_default_encoder_matches_reference_on_paper_shape(rng):
    enc = Encoder(seed=11)
    stimulus = rng.uniform(-0.5, 0.5, size=(2, 22, 2))
    stimulus[:, [0, 21]] = 0.0
    np.testing.assert_allclose(enc.encode(stimulus), slow_encode(enc, stimulus), rtol=1e-11, atol=1e-12)


def test_blocked_kernel_on_large_batches_matches_reference(rng):
    enc = Encoder(n_dims=2, hidden=(5,), n_out=3, seed=8)
    stimulus = rng.normal(size=(1300, 2))  # more rows than one block of the kernel
    stimulus[::7] = 0.0
    np.testing.assert_allclose(enc.encode(stimulus), slow_encode(enc, stimulus), rtol=1e-12, atol=1e-13)


def test_quadratic_differs_from_relu_with_same_weights(rng):
    relu, quad = Encoder(kind="relu", seed=2), Encoder(kind="quadratic", seed=2)
    for a, b in zip(relu.weights, quad.weights):
        np.testing.assert_array_equal(a, b)
    x = rng.normal(size=(10, 2))
    assert not np.allclose(relu.encode(x), quad.encode(x))


def test_zero_stimulus_gives_constant_offset():
    enc = Encoder(seed=4)
    expected = slow_encode(enc, np.zeros((1, 2)))[0]
    np.testing.assert_allclose(enc.offset(), expected, rtol=1e-12)
    out = enc.encode(np.zeros((3, 5, 2)))
    np.testing.assert_array_equal(out, np.broadcast_to(enc.offset(), (3, 5, 40)))
    assert np.abs(enc.offset()).max() > 0  # f(0) really is an offset, not 0


def test_float32_stimulus_is_encoded_in_float32(rng):
    enc = Encoder(seed=5)
    x = rng.normal(size=(4, 3, 2))
    out32 = enc.encode(x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, enc.encode(x), rtol=1e-4, atol=1e-4)


def test_encode_inputs_keeps_fixation_first(rng):
    enc = Encoder(n_dims=2, hidden=(6,), n_out=3, seed=1)
    inputs = rng.normal(size=(4, 5, 3))
    # stimulus channels listed first, fixation last: fixation must still come first
    names = ["stimulus_0", "stimulus_1", "fixation"]
    out, out_names = enc.encode_inputs(inputs, names)
    assert out_names == ["fixation", "encoded_0", "encoded_1", "encoded_2"]
    np.testing.assert_array_equal(out[..., 0], inputs[..., 2])
    np.testing.assert_allclose(out[..., 1:], slow_encode(enc, inputs[..., :2]), rtol=1e-12)
    assert enc.n_inputs_after(3) == 4


def test_integer_inputs_are_encoded_in_float64():
    enc = Encoder(n_dims=1, hidden=(3,), n_out=2, seed=0)
    out, _ = enc.encode_inputs(np.array([[[1, 2]]]), ["fixation", "stimulus_0"])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[0, 0, 1:], slow_encode(enc, np.array([[2.0]]))[0], rtol=1e-12)


def test_encode_trials_replaces_input_channels(rng):
    enc = Encoder(n_dims=1, hidden=(3,), n_out=2, seed=0)
    ds = xr.Dataset(
        {"inputs": (("trial", "time", "input"), rng.normal(size=(2, 3, 2)))},
        coords={"input": ["fixation", "stimulus_0"]},
    )
    out = enc.encode_trials(ds)
    assert list(out["input"].values) == ["fixation", "encoded_0", "encoded_1"]
    np.testing.assert_allclose(out["inputs"].values[..., 1:], slow_encode(enc, ds["inputs"].values[..., 1:]))
    assert json.loads(out.attrs["encoder"]) == enc.config()


def test_different_seeds_differ_same_seed_equal(rng):
    x = rng.normal(size=(5, 2))
    assert not np.allclose(Encoder(seed=0).encode(x), Encoder(seed=1).encode(x))
    assert Encoder(seed=3) == Encoder(seed=3)
    assert Encoder(seed=3) != Encoder(seed=4)
    np.testing.assert_array_equal(Encoder(seed=3).encode(x), Encoder(seed=3).encode(x))


def test_weights_are_read_only():
    enc = Encoder()
    with pytest.raises(ValueError, match="read-only"):
        enc.weights[0][0, 0] = 1.0


@pytest.mark.parametrize("suffix", [".json", ".nc"])
def test_save_load_round_trip_is_exact(tmp_path, suffix, rng):
    enc = Encoder(n_dims=3, hidden=(9, 4), n_out=5, kind="quadratic", seed=12)
    loaded = Encoder.load(enc.save(tmp_path / f"enc{suffix}"))
    assert loaded == enc
    for a, b in zip(enc.weights + enc.biases, loaded.weights + loaded.biases):
        np.testing.assert_array_equal(a, b)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(loaded.encode(x), enc.encode(x))


def test_from_dict_keeps_stored_parameters_not_the_seed():
    enc = Encoder(hidden=(3,), n_out=2, seed=0)
    data = json.loads(json.dumps(enc.to_dict()))
    data["weights"][0][0][0] = 0.125
    rebuilt = Encoder.from_dict(data)
    assert rebuilt.weights[0][0, 0] == 0.125
    assert rebuilt != enc


# -- errors ---------------------------------------------------------------------------


def test_wrong_stimulus_width():
    with pytest.raises(ValueError, match=r"stimulus must have n_dims=2 channels .* shape \(4, 3\)"):
        Encoder().encode(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="stimulus must have n_dims=2"):
        Encoder().encode(np.float64(1.0))


def test_non_finite_stimulus():
    with pytest.raises(ValueError, match="stimulus must be finite"):
        Encoder().encode(np.array([[np.nan, 0.0]]))


def test_unknown_kind():
    with pytest.raises(ValueError, match=r"kind must be one of \['relu', 'quadratic'\]; got 'tanh'"):
        Encoder(kind="tanh")


@pytest.mark.parametrize(
    ("hidden", "error", "match"),
    [
        ((100, 0), ValueError, r"hidden\[1\] must be an integer >= 1; got 0"),
        ((2.5,), TypeError, r"hidden\[0\] must be an integer; got float"),
        (100, TypeError, "hidden must be a sequence of positive integers; got int"),
    ],
)
def test_bad_hidden_sizes(hidden, error, match):
    with pytest.raises(error, match=match):
        Encoder(hidden=hidden)


def test_bad_sizes_and_seed():
    with pytest.raises(ValueError, match="n_dims must be an integer >= 1; got 0"):
        Encoder(n_dims=0)
    with pytest.raises(ValueError, match="n_out must be an integer >= 1; got -1"):
        Encoder(n_out=-1)
    with pytest.raises(ValueError, match="seed must be an integer >= 0; got -2"):
        Encoder(seed=-2)


def test_encode_inputs_errors():
    enc = Encoder()
    with pytest.raises(ValueError, match="input_names must have one entry per input channel"):
        enc.encode_inputs(np.zeros((2, 3, 3)), ["fixation", "stimulus_0"])
    with pytest.raises(ValueError, match=r"inputs must have n_dims=2 channels named 'stimulus\*'; got 1"):
        enc.encode_inputs(np.zeros((2, 3, 2)), ["fixation", "stimulus_0"])


def test_encode_trials_errors():
    with pytest.raises(TypeError, match="trials must be an xarray.Dataset of trials; got ndarray"):
        Encoder().encode_trials(np.zeros(3))
    with pytest.raises(ValueError, match="trials must contain an 'inputs' variable"):
        Encoder().encode_trials(xr.Dataset({"rates": ("x", np.zeros(2))}))


def test_n_inputs_after_too_few():
    with pytest.raises(ValueError, match="n_inputs must be an integer >= 2; got 1"):
        Encoder().n_inputs_after(1)


def test_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="path must be an existing encoder file"):
        Encoder.load(tmp_path / "missing.json")


def test_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"path suffix must be one of \['.json', '.nc'\]; got '.pkl'"):
        Encoder().save(tmp_path / "enc.pkl")
    with pytest.raises(ValueError, match="path suffix must be one of"):
        Encoder.load(tmp_path / "enc.pkl")


def test_from_dict_errors():
    good = Encoder(hidden=(3,), n_out=2).to_dict()
    with pytest.raises(TypeError, match="data must be a dict written by Encoder.to_dict; got list"):
        Encoder.from_dict([])
    with pytest.raises(ValueError, match=r"data must contain keys .*; missing \['biases'\]"):
        Encoder.from_dict({k: v for k, v in good.items() if k != "biases"})
    with pytest.raises(ValueError, match=r"data\['format'\] must be 'neurodis.encoder'; got 'other'"):
        Encoder.from_dict({**good, "format": "other"})
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(3, 2\)"):
        Encoder.from_dict({**good, "weights": [np.zeros((3, 3)).tolist(), good["weights"][1]]})
    with pytest.raises(ValueError, match="weights and biases must have 2 layers"):
        Encoder.from_dict({**good, "weights": good["weights"][:1]})


def test_load_netcdf_that_is_not_an_encoder(tmp_path):
    from neurodis.trials import save_dataset

    path = save_dataset(xr.Dataset({"a": ("x", np.zeros(2))}), tmp_path / "other.nc")
    with pytest.raises(ValueError, match="netCDF file must hold an encoder"):
        Encoder.load(path)


def test_load_netcdf_missing_layer(tmp_path):
    enc = Encoder(hidden=(3,), n_out=2)
    path = enc.save(tmp_path / "enc.nc")
    from neurodis.trials import load_dataset, save_dataset

    broken = load_dataset(path).drop_vars("bias_1")
    save_dataset(broken, tmp_path / "broken.nc")
    with pytest.raises(ValueError, match=r"netCDF encoder file must hold variables .*; missing \['bias_1'\]"):
        Encoder.load(tmp_path / "broken.nc")
