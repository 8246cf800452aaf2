//! Weights on disk: safetensors files written by PyTorch load and reproduce
//! PyTorch's outputs, files written here load back bit for bit, saving is
//! atomic, and every bad file is refused with an error that names the problem
//! while the network keeps every bit of its parameters.
//!
//! The fixtures in `tests/fixtures/safetensors/` were written by
//! `tools/safetensors_fixtures.py`. Set `BACKPROP_SAFETENSORS_EXPORT` to a
//! directory to have `files_for_pytorch_are_exported` write files for that
//! script's `verify` command, which loads them in PyTorch.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use approx::assert_relative_eq;
use backprop::io::safetensors::tensor::TensorView;
use backprop::io::safetensors::{self, Dtype, SafeTensors};
use backprop::io::{self, WeightsError};
use backprop::{Float, Network, Row};
use serde::Deserialize;

mod common;

use common::temp_dir::TempDir;

backprop::network! {
    /// The architecture of the `tanh_linear_*` fixtures, in `f32`.
    TanhLinear = 4 -> tanh(5) -> linear(3); loss = mse
}
backprop::network! {
    /// The architecture of the `tanh_linear_*` fixtures, in `f64`.
    TanhLinear64 = 4 -> tanh(5) -> linear(3); loss = mse; float = f64
}
backprop::network! {
    /// The architecture of the `relu_sigmoid_linear_f32` fixture.
    ReluSigmoidLinear = 3 -> relu(6) -> sigmoid(4) -> linear(2); loss = mse
}
backprop::network! {
    /// `TanhLinear` with one more hidden unit: every shape but the output's differs.
    Wider = 4 -> tanh(6) -> linear(3); loss = mse
}
backprop::network! {
    /// `TanhLinear` with one more layer: its first four tensors are `TanhLinear`'s.
    Deeper = 4 -> tanh(5) -> tanh(3) -> linear(3); loss = mse
}

/// Networks whose weight matrices are arrays of more than 16 kB.
#[allow(clippy::large_stack_arrays)]
mod large {
    backprop::network! {
        /// The MNIST workload's network: 400 kB of weights, so a save takes
        /// long enough to be killed in the middle.
        pub(crate) Mnist = 784 -> relu(128) -> softmax(10); loss = cross_entropy
    }
    backprop::network! {
        /// The digits workload's network: 33 kB of weights.
        pub(crate) Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
    }
}
use large::{Digits, Mnist};
backprop::network! {
    /// Every activation with a parameter, for the export to PyTorch.
    Parameterised = 5 -> leaky_relu(7, slope = 0.2) -> gelu(6, approximate = tanh)
        -> elu(4, alpha = 0.5) -> softplus(4, beta = 2.0) -> silu(3) -> softmax(3);
        loss = cross_entropy
}
backprop::network! {
    /// `Parameterised` in `f64`.
    Parameterised64 = 5 -> leaky_relu(7, slope = 0.2) -> gelu(6, approximate = tanh)
        -> elu(4, alpha = 0.5) -> softplus(4, beta = 2.0) -> silu(3) -> softmax(3);
        loss = cross_entropy; float = f64
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every parameter's bits (as `f64`, exact for `f32`), to compare networks exactly.
fn bits<N: Network>(network: &N) -> Vec<u64> {
    network
        .params()
        .iter()
        .map(|param| param.to_f64().to_bits())
        .collect()
}

/// Writes `bytes` to a file, loads it into `network` with both `load` and
/// `load_bytes`, asserts that both refuse it with the same error (`load`'s
/// naming the file if it is not safetensors at all) and that every bit of
/// the parameters is as before, and returns `load_bytes`' error.
fn refused<N: Network>(network: &mut N, bytes: &[u8]) -> WeightsError {
    let dir = TempDir::new("refused");
    let path = dir.join("bad.safetensors");
    fs::write(&path, bytes).unwrap();
    let before = bits(network);

    let from_file = io::load(network, &path).expect_err("a bad file was accepted");
    assert_eq!(
        bits(network),
        before,
        "a failed load changed the network ({from_file})"
    );
    let error = io::load_bytes(network, bytes).expect_err("bad bytes were accepted");
    assert_eq!(
        bits(network),
        before,
        "a failed load changed the network ({error})"
    );

    if let WeightsError::Corrupt { path: reported, .. } = &from_file {
        assert_eq!(reported.as_deref(), Some(path.as_path()));
        assert!(
            matches!(error, WeightsError::Corrupt { path: None, .. }),
            "{error:?}"
        );
        assert_eq!(
            from_file.to_string(),
            format!("`{}` is {error}", path.display())
        );
    } else {
        assert_eq!(from_file.to_string(), error.to_string());
    }
    error
}

/// A seeded `TanhLinear`: the network the loading errors are tested on.
fn target() -> TanhLinear {
    TanhLinear::seeded(3)
}

/// One tensor of a file, owned, to edit and write back.
struct Tensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// The tensors of a safetensors file, in the order of their data.
fn tensors(bytes: &[u8]) -> Vec<Tensor> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let (_, metadata) = SafeTensors::read_metadata(bytes).unwrap();
    let mut tensors: Vec<(usize, Tensor)> = file
        .iter()
        .map(|(name, view)| {
            let start = metadata.info(name).unwrap().data_offsets.0;
            let tensor = Tensor {
                name: name.to_owned(),
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                data: view.data().to_vec(),
            };
            (start, tensor)
        })
        .collect();
    tensors.sort_by_key(|(start, _)| *start);
    tensors.into_iter().map(|(_, tensor)| tensor).collect()
}

/// A safetensors file with `tensors`, written by the safetensors crate.
fn file_of(tensors: &[Tensor]) -> Vec<u8> {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|tensor| {
            let view = TensorView::new(tensor.dtype, tensor.shape.clone(), &tensor.data).unwrap();
            (tensor.name.as_str(), view)
        })
        .collect();
    safetensors::serialize(views.iter().map(|(name, view)| (*name, view)), None).unwrap()
}

/// `bytes` with their tensors changed by `edit`.
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Vec<Tensor>)) -> Vec<u8> {
    let mut tensors = tensors(bytes);
    edit(&mut tensors);
    file_of(&tensors)
}

/// A file with the given JSON header, written byte by byte, for headers the
/// safetensors crate would never write.
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// `values` as rows of `R`.
fn rows<T: Float, R: Row<T>>(values: &[Vec<f64>]) -> Vec<R> {
    values
        .iter()
        .map(|values| {
            let mut row = R::ZERO;
            assert_eq!(values.len(), R::LEN, "row width");
            for (slot, &value) in row.as_mut().iter_mut().zip(values) {
                *slot = T::from_f64(value);
            }
            row
        })
        .collect()
}

/// `network`'s outputs for `x`, as `f64` rows.
fn outputs<N: Network>(network: &N, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let x: Vec<N::Input> = rows(x);
    let mut output = vec![N::Output::ZERO; x.len()];
    network.forward_slice(&x, &mut output).unwrap();
    output
        .iter()
        .map(|row| row.as_ref().iter().map(|value| value.to_f64()).collect())
        .collect()
}

// ---------------------------------------------------------------------------
// Files written by PyTorch
// ---------------------------------------------------------------------------

/// The record `tools/safetensors_fixtures.py` writes beside each file.
#[derive(Deserialize)]
struct Fixture {
    dtype: String,
    /// The file's tensors and their shapes, as PyTorch's `state_dict()` has them.
    tensors: BTreeMap<String, Vec<usize>>,
    /// The parameters in backprop's layout (`W` as `n_in × n_out`, then `b`).
    params: Vec<f64>,
    x: Vec<Vec<f64>>,
    output: Vec<Vec<f64>>,
}

fn fixture(name: &str, extension: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/safetensors")
        .join(format!("{name}.{extension}"))
}

/// Loads the PyTorch file `name` into a fresh `N`, checks its parameters
/// and outputs against PyTorch's, and returns the worst absolute and
/// relative differences of the outputs.
fn reproduces_pytorch<N: Network>(name: &str) -> (f64, f64) {
    let text = fs::read_to_string(fixture(name, "json")).unwrap();
    let fixture_record: Fixture = serde_json::from_str(&text).unwrap();
    let expected_dtype = if N::Float::NAME == "f64" {
        "float64"
    } else {
        "float32"
    };
    assert_eq!(fixture_record.dtype, expected_dtype, "{name}: dtype");

    let mut network = N::zeros();
    io::load(&mut network, fixture(name, "safetensors")).unwrap_or_else(|e| panic!("{name}: {e}"));

    // PyTorch's values. serde_json's float parsing may miss the nearest f64
    // by one unit in the last place, so an f64 parameter may differ by that
    // much; an f32 parameter rounds back to PyTorch's exact value.
    assert_eq!(
        network.params().len(),
        fixture_record.params.len(),
        "{name}"
    );
    for (i, (&ours, &theirs)) in network
        .params()
        .iter()
        .zip(&fixture_record.params)
        .enumerate()
    {
        let ours = ours.to_f64();
        if N::Float::NAME == "f32" {
            assert_eq!(
                ours.to_bits(),
                N::Float::from_f64(theirs).to_f64().to_bits(),
                "{name}: parameter {i}"
            );
        } else {
            assert_relative_eq!(ours, theirs, epsilon = 0.0, max_relative = f64::EPSILON);
        }
    }

    // The file names and shapes its tensors as this library writes them.
    let ours: BTreeMap<String, Vec<usize>> = tensors(&io::to_bytes(&network))
        .into_iter()
        .map(|tensor| (tensor.name, tensor.shape))
        .collect();
    assert_eq!(
        ours, fixture_record.tensors,
        "{name}: tensor names and shapes"
    );

    let output = outputs(&network, &fixture_record.x);
    assert_eq!(output.len(), fixture_record.output.len());
    let (mut worst_absolute, mut worst_relative) = (0.0_f64, 0.0_f64);
    for (ours, theirs) in output
        .iter()
        .flatten()
        .zip(fixture_record.output.iter().flatten())
    {
        let difference = (ours - theirs).abs();
        worst_absolute = worst_absolute.max(difference);
        worst_relative = worst_relative.max(difference / theirs.abs().max(1e-3));
        assert!(
            difference <= 1e-6,
            "{name}: output {ours} differs from PyTorch's {theirs} by {difference}"
        );
    }
    println!(
        "{name}: worst difference from PyTorch {worst_absolute:.3e} absolute, {worst_relative:.3e} relative"
    );
    (worst_absolute, worst_relative)
}

#[test]
fn tanh_linear_f32_saved_by_pytorch_loads_and_reproduces_its_outputs() {
    reproduces_pytorch::<TanhLinear>("tanh_linear_f32");
}

#[test]
fn tanh_linear_f64_saved_by_pytorch_loads_and_reproduces_its_outputs() {
    let (absolute, _) = reproduces_pytorch::<TanhLinear64>("tanh_linear_f64");
    // In f64 the only differences are rounding: far below the f32 tolerance.
    assert!(absolute < 1e-12, "{absolute}");
}

#[test]
fn relu_sigmoid_linear_f32_saved_by_pytorch_loads_and_reproduces_its_outputs() {
    reproduces_pytorch::<ReluSigmoidLinear>("relu_sigmoid_linear_f32");
}

#[test]
fn pytorch_file_refuses_a_network_of_another_float_type() {
    // The f64 file, which has the right names and shapes, into an f32 network.
    let bytes = fs::read(fixture("tanh_linear_f64", "safetensors")).unwrap();
    let error = refused(&mut target(), &bytes);
    assert!(
        matches!(error, WeightsError::WrongDtype { .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------
// Files written here
// ---------------------------------------------------------------------------

/// Saves `network`, loads the file into a zeroed network, and checks that
/// every parameter bit and every output came back; no other file is left.
fn round_trips<N: Network>(network: &N, x: &[Vec<f64>]) {
    let dir = TempDir::new("round-trip");
    let path = dir.join("net.safetensors");
    io::save(network, &path).unwrap();
    assert_eq!(
        dir.entries(),
        ["net.safetensors"],
        "a temporary file was left behind"
    );

    let mut loaded = N::zeros();
    io::load(&mut loaded, &path).unwrap();
    assert_eq!(bits(&loaded), bits(network));
    if !x.is_empty() {
        assert_eq!(outputs(&loaded, x), outputs(network, x));
    }
}

#[test]
fn saved_network_loads_back_bit_for_bit() {
    let x = vec![vec![0.5, -1.0, 2.0, 0.25], vec![-3.0, 0.0, 1.0, 1e-3]];
    round_trips(&TanhLinear::seeded(11), &x);
    round_trips(&TanhLinear64::seeded(11), &x);
    round_trips(&ReluSigmoidLinear::seeded(12), &[vec![1.0, -2.0, 0.5]]);
    round_trips(
        &Parameterised64::seeded(13),
        &[vec![0.1, 0.2, -0.3, 4.0, -5.0]],
    );

    // Values an initialiser never produces survive too.
    let mut extremes = TanhLinear::zeros();
    let specials = [
        f32::MAX,
        f32::MIN_POSITIVE,
        -0.0,
        f32::EPSILON,
        1e-45, // subnormal
        -1.5e38,
    ];
    for (param, &value) in extremes
        .params_mut()
        .iter_mut()
        .zip(specials.iter().cycle())
    {
        *param = value;
    }
    round_trips(&extremes, &[]);
}

#[test]
fn saved_file_has_pytorch_layout_and_metadata() {
    let network = TanhLinear::seeded(5);
    let bytes = io::to_bytes(&network);
    let tensors = tensors(&bytes);

    // state_dict order, [out, in] weights, the network's dtype.
    let table: Vec<(&str, Dtype, &[usize])> = tensors
        .iter()
        .map(|tensor| (tensor.name.as_str(), tensor.dtype, tensor.shape.as_slice()))
        .collect();
    assert_eq!(
        table,
        [
            ("0.weight", Dtype::F32, &[5, 4][..]),
            ("0.bias", Dtype::F32, &[5][..]),
            ("2.weight", Dtype::F32, &[3, 5][..]),
            ("2.bias", Dtype::F32, &[3][..]),
        ]
    );

    // PyTorch's weight[unit][input] is backprop's W[input][unit]: checked
    // against the typed views, not against `load`, which could share a mistake.
    let values = |tensor: &Tensor| -> Vec<f32> {
        tensor
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let weight = values(&tensors[0]);
    for (input, row) in network.w1().iter().enumerate() {
        for (unit, &w) in row.iter().enumerate() {
            assert_eq!(weight[unit * 4 + input].to_bits(), w.to_bits());
        }
    }
    assert_eq!(values(&tensors[1]), network.b1());
    let weight = values(&tensors[2]);
    for (input, row) in network.w2().iter().enumerate() {
        for (unit, &w) in row.iter().enumerate() {
            assert_eq!(weight[unit * 5 + input].to_bits(), w.to_bits());
        }
    }
    assert_eq!(values(&tensors[3]), network.b2());

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata: BTreeMap<&str, &str> = header
        .metadata()
        .as_ref()
        .unwrap()
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        metadata,
        BTreeMap::from([
            (
                "architecture",
                "4 -> tanh(5) -> linear(3); loss = mse; float = f32"
            ),
            ("backprop_version", env!("CARGO_PKG_VERSION")),
            ("float", "f32"),
            ("format", "pt"),
        ])
    );

    // The header is padded so that the data starts 8-byte aligned, as the
    // safetensors crate pads it.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(header_len % 8, 0);
    assert_eq!(
        bytes.len() as u64,
        8 + header_len + 4 * TanhLinear::PARAMS as u64
    );

    let bytes = io::to_bytes(&Parameterised::seeded(1));
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let architecture = &header.metadata().as_ref().unwrap()["architecture"];
    assert_eq!(
        architecture,
        "5 -> leaky_relu(7, slope = 0.2) -> gelu(6, approximate = tanh) -> elu(4, alpha = 0.5) \
         -> softplus(4, beta = 2.0) -> silu(3) -> softmax(3); loss = cross_entropy; float = f32"
    );
}

#[test]
fn saving_the_same_parameters_writes_the_same_bytes() {
    let dir = TempDir::new("reproducible");
    io::save(&TanhLinear::seeded(9), dir.join("a.safetensors")).unwrap();
    io::save(&TanhLinear::seeded(9), dir.join("b.safetensors")).unwrap();
    let a = fs::read(dir.join("a.safetensors")).unwrap();
    assert_eq!(a, fs::read(dir.join("b.safetensors")).unwrap());
    assert_eq!(a, io::to_bytes(&TanhLinear::seeded(9)));
    assert_ne!(a, io::to_bytes(&TanhLinear::seeded(10)));
}

// ---------------------------------------------------------------------------
// Loading errors: each leaves the network as it was
// ---------------------------------------------------------------------------

#[test]
fn missing_tensor_is_refused_with_its_name() {
    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        tensors.retain(|tensor| tensor.name != "2.bias");
    });
    let error = refused(&mut target(), &bytes);
    let WeightsError::MissingTensor { name, found } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(name, "2.bias");
    assert_eq!(found, &["0.bias", "0.weight", "2.weight"]);
    assert_eq!(
        error.to_string(),
        "the file has no tensor `2.bias`, which this network needs; \
         it has `0.bias`, `0.weight`, `2.weight` \
         (layer l's tensors are `{2(l - 1)}.weight` and `{2(l - 1)}.bias`, \
         as in a PyTorch nn.Sequential that alternates nn.Linear and activation modules)"
    );
}

#[test]
fn tensors_named_after_model_attributes_are_refused_with_the_expected_names() {
    // A PyTorch model with `self.fc1 = nn.Linear(…)` names its tensors `fc1.weight`.
    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        for tensor in tensors {
            tensor.name = tensor.name.replace("0.", "fc1.").replace("2.", "fc2.");
        }
    });
    let error = refused(&mut target(), &bytes);
    assert!(
        matches!(&error, WeightsError::MissingTensor { name, .. } if name == "0.weight"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("`fc1.weight`"), "{message}");
    assert!(message.contains("nn.Sequential"), "{message}");
}

#[test]
fn long_lists_of_tensor_names_are_shortened() {
    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        for i in 0..20 {
            tensors.push(Tensor {
                name: format!("encoder.layer{i:02}.bias"),
                dtype: Dtype::F32,
                shape: vec![1],
                data: vec![0; 4],
            });
        }
        tensors.retain(|tensor| tensor.name != "0.weight");
    });
    let error = refused(&mut target(), &bytes);
    let message = error.to_string();
    assert!(message.contains("`0.bias`, `2.bias`, `2.weight`, `encoder.layer00.bias`"));
    assert!(
        message.contains("`encoder.layer04.bias` and 15 more"),
        "{message}"
    );
    assert!(!message.contains("encoder.layer05"), "{message}");
}

#[test]
fn unexpected_tensor_is_refused_with_its_name() {
    // A deeper network's file: the first four tensors fit, the rest do not.
    let error = refused(&mut target(), &io::to_bytes(&Deeper::seeded(1)));
    let WeightsError::UnexpectedTensor { name, expected } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(name, "4.bias");
    assert_eq!(expected, &["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert_eq!(
        error.to_string(),
        "the file has a tensor `4.bias` that this network does not have; \
         it needs `0.weight`, `0.bias`, `2.weight`, `2.bias` \
         (the file was saved from another architecture, \
         or from a model with parameters outside its nn.Linear layers)"
    );

    // An activation with a parameter, such as nn.PReLU, is module 1.
    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        tensors.push(Tensor {
            name: "1.weight".to_owned(),
            dtype: Dtype::F32,
            shape: vec![1],
            data: 0.25_f32.to_le_bytes().to_vec(),
        });
    });
    let error = refused(&mut target(), &bytes);
    assert!(
        matches!(&error, WeightsError::UnexpectedTensor { name, .. } if name == "1.weight"),
        "{error:?}"
    );
}

#[test]
fn wrong_shape_is_refused_with_the_shape_needed() {
    let error = refused(&mut target(), &io::to_bytes(&Wider::seeded(1)));
    let WeightsError::WrongShape {
        name,
        found,
        expected,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        (name.as_str(), &found[..], &expected[..]),
        ("0.weight", &[6, 4][..], &[5, 4][..])
    );

    // Backprop's own W, saved untransposed, is [in, out]: the message says why that is wrong.
    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        tensors[0].shape = vec![4, 5];
    });
    assert_eq!(
        refused(&mut target(), &bytes).to_string(),
        "tensor `0.weight` has shape [4, 5]; this network needs [5, 4] \
         (layer 1 has 4 inputs and 5 units; nn.Linear stores its weight as [out, in])"
    );

    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        let bias = tensors.iter_mut().find(|t| t.name == "2.bias").unwrap();
        bias.shape = vec![1, 3];
    });
    let error = refused(&mut target(), &bytes);
    assert!(
        matches!(error, WeightsError::WrongShape { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "tensor `2.bias` has shape [1, 3]; this network needs [3] (layer 2 has 3 units)"
    );
}

#[test]
fn wrong_dtype_is_refused_with_a_conversion_hint() {
    let error = refused(&mut target(), &io::to_bytes(&TanhLinear64::seeded(1)));
    let WeightsError::WrongDtype {
        name,
        found,
        expected,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        (name.as_str(), found.as_str(), *expected),
        ("0.weight", "F64", "F32")
    );
    assert_eq!(
        error.to_string(),
        "tensor `0.weight` has dtype F64; this network needs F32 \
         (convert the model with `model.float()` in PyTorch before saving, \
         or declare the network with `float = f64`)"
    );

    let error = refused(&mut TanhLinear64::seeded(2), &io::to_bytes(&target()));
    assert_eq!(
        error.to_string(),
        "tensor `0.weight` has dtype F32; this network needs F64 \
         (convert the model with `model.double()` in PyTorch before saving, \
         or declare the network with `float = f32`)"
    );

    // A half-precision tensor: no network has that float type.
    let bytes = edited(&io::to_bytes(&target()), |tensors| {
        let bias = tensors.iter_mut().find(|t| t.name == "2.bias").unwrap();
        bias.dtype = Dtype::BF16;
        bias.data.truncate(2 * 3);
    });
    let error = refused(&mut target(), &bytes);
    assert_eq!(
        error.to_string(),
        "tensor `2.bias` has dtype BF16; this network needs F32 \
         (convert the model with `model.float()` in PyTorch before saving)"
    );
}

#[test]
fn truncated_file_is_refused_at_every_length() {
    let bytes = io::to_bytes(&target());
    let mut network = target();
    let before = bits(&network);
    for len in 0..bytes.len() {
        let error = io::load_bytes(&mut network, &bytes[..len]).unwrap_err();
        assert!(
            matches!(error, WeightsError::Corrupt { .. }),
            "{len}: {error:?}"
        );
        assert_eq!(bits(&network), before, "{len}");
    }

    // Cut in the data, then in the header, through a file.
    let error = refused(&mut network, &bytes[..bytes.len() - 1]);
    assert_eq!(
        error.to_string(),
        format!(
            "not a valid safetensors file: its {} bytes are not the size its header gives \
             the tensors' data; it is truncated or has bytes appended",
            bytes.len() - 1
        )
    );
    let error = refused(&mut network, &bytes[..20]);
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: the length its first 8 bytes give its header runs \
         past the end of its 20 bytes; it is truncated or not a safetensors file"
    );
    let error = refused(&mut network, &bytes[..5]);
    assert!(
        error.to_string().contains("5 bytes long, too short"),
        "{error}"
    );

    // Bytes appended are as wrong as bytes missing.
    let mut longer = bytes.clone();
    longer.push(0);
    let error = refused(&mut network, &longer);
    assert!(matches!(error, WeightsError::Corrupt { .. }), "{error:?}");
}

#[test]
fn corrupt_header_is_refused() {
    let bytes = io::to_bytes(&target());
    let header_len = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().unwrap())).unwrap();

    // The header's opening brace replaced: not JSON.
    let mut not_json = bytes.clone();
    not_json[8] = b'[';
    let error = refused(&mut target(), &not_json);
    assert!(matches!(error, WeightsError::Corrupt { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "not a valid safetensors file: its header is not the JSON safetensors expects"
        ),
        "{message}"
    );

    // Bytes that are not UTF-8 in the header.
    let mut not_text = bytes.clone();
    not_text[8 + header_len / 2] = 0xff;
    let error = refused(&mut target(), &not_text);
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: its header is not UTF-8 text; it is not a safetensors file"
    );

    // Another kind of file altogether: its first 8 bytes read as a huge length.
    let error = refused(
        &mut target(),
        b"PK\x03\x04 this is a zip archive, not weights",
    );
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: its first 8 bytes give its header a length above \
         safetensors' limit of 100 MB; it is not a safetensors file"
    );
}

#[test]
fn overlapping_offsets_and_huge_shapes_are_refused_without_panicking() {
    let data = vec![0_u8; 4 * TanhLinear::PARAMS];
    let tensor = |name: &str, shape: &str, start: usize, end: usize| {
        format!(r#""{name}":{{"dtype":"F32","shape":{shape},"data_offsets":[{start},{end}]}}"#)
    };
    let header = |entries: [String; 4]| format!("{{{}}}", entries.join(","));

    // `0.bias` starts inside `0.weight`.
    let overlapping = header([
        tensor("0.weight", "[5,4]", 0, 80),
        tensor("0.bias", "[5]", 60, 80),
        tensor("2.weight", "[3,5]", 80, 140),
        tensor("2.bias", "[3]", 140, 152),
    ]);
    let error = refused(&mut target(), &raw_file(&overlapping, &data[..152]));
    assert!(matches!(error, WeightsError::Corrupt { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: the data offsets of tensor `0.bias` do not start where \
         the previous tensor's end; tensors overlap or leave gaps"
    );

    // A shape whose size overflows.
    let huge = 1_usize << 40;
    let overflowing = header([
        tensor("0.weight", &format!("[{huge},{huge}]"), 0, 80),
        tensor("0.bias", "[5]", 80, 100),
        tensor("2.weight", "[3,5]", 100, 160),
        tensor("2.bias", "[3]", 160, 172),
    ]);
    let error = refused(&mut target(), &raw_file(&overflowing, &data));
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: a tensor's shape is too large: its size in bytes overflows"
    );

    // A shape that does not overflow but claims petabytes the file does not have.
    let petabytes = header([
        tensor("0.weight", &format!("[{huge},1024]"), 0, huge * 4096),
        tensor("0.bias", "[5]", huge * 4096, huge * 4096 + 20),
        tensor("2.weight", "[3,5]", huge * 4096 + 20, huge * 4096 + 80),
        tensor("2.bias", "[3]", huge * 4096 + 80, huge * 4096 + 92),
    ]);
    let error = refused(&mut target(), &raw_file(&petabytes, &data));
    assert!(error.to_string().contains("it is truncated"), "{error}");

    // Offsets that do not span the shape.
    let short = header([
        tensor("0.weight", "[5,4]", 0, 40),
        tensor("0.bias", "[5]", 40, 60),
        tensor("2.weight", "[3,5]", 60, 120),
        tensor("2.bias", "[3]", 120, 132),
    ]);
    let error = refused(&mut target(), &raw_file(&short, &data[..132]));
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: a tensor's data offsets do not span the bytes its shape \
         and dtype need"
    );
}

#[test]
fn empty_file_is_refused() {
    let error = refused(&mut target(), &[]);
    assert!(matches!(error, WeightsError::Corrupt { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "not a valid safetensors file: it is empty"
    );
}

#[test]
fn nonexistent_path_is_refused_with_the_path() {
    let dir = TempDir::new("nonexistent");
    let path = dir.join("no-such-file.safetensors");
    let mut network = target();
    let before = bits(&network);

    let error = io::load(&mut network, &path).unwrap_err();
    assert_eq!(bits(&network), before);
    let WeightsError::Read {
        path: reported,
        source,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(reported, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        error.to_string(),
        format!("could not read weights from `{}`: {source}", path.display())
    );
    // The cause is in the message, so not in `source()` too.
    assert!(std::error::Error::source(&error).is_none());

    // A directory is not a file either.
    let error = io::load(&mut network, dir.path()).unwrap_err();
    assert!(matches!(error, WeightsError::Read { .. }), "{error:?}");
    assert_eq!(bits(&network), before);
}

// ---------------------------------------------------------------------------
// Saving: atomic, and nothing left behind
// ---------------------------------------------------------------------------

#[test]
fn save_into_a_missing_directory_fails_and_creates_nothing() {
    let dir = TempDir::new("missing-directory");
    let path = dir.join("no-such-directory").join("net.safetensors");
    let error = io::save(&target(), &path).unwrap_err();
    let WeightsError::Write {
        path: reported,
        source,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(reported, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        error.to_string(),
        format!("could not save weights to `{}`: {source}", path.display())
    );
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

#[test]
fn save_that_fails_after_writing_removes_its_temporary_file() {
    // A directory where the file should go: the temporary file is written
    // and synced, then the rename fails.
    let dir = TempDir::new("rename-fails");
    let path = dir.join("net.safetensors");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), b"untouched").unwrap();

    let error = io::save(&target(), &path).unwrap_err();
    assert!(matches!(error, WeightsError::Write { .. }), "{error:?}");
    assert_eq!(
        dir.entries(),
        ["net.safetensors"],
        "a temporary file was left behind"
    );
    assert_eq!(fs::read(path.join("keep")).unwrap(), b"untouched");
}

#[test]
fn save_without_a_file_name_fails() {
    let dir = TempDir::new("no-file-name");
    let error = io::save(&target(), dir.join("..")).unwrap_err();
    let WeightsError::Write { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::InvalidInput);
    assert!(dir.entries().is_empty());
}

#[cfg(unix)]
#[test]
fn failed_save_keeps_the_existing_file() {
    use std::os::unix::fs::PermissionsExt;

    let dir = TempDir::new("read-only");
    let path = dir.join("net.safetensors");
    io::save(&TanhLinear::seeded(1), &path).unwrap();
    let old = fs::read(&path).unwrap();

    // No new file can be created in a read-only directory, so the save fails
    // before it could touch the old file.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    if fs::write(&probe, b"").is_ok() {
        // Privileged users (root) write anyway: nothing to test here.
        let _ = fs::remove_file(&probe);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("failed_save_keeps_the_existing_file: permissions are not enforced; skipped");
        return;
    }
    let result = io::save(&TanhLinear::seeded(2), &path);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();

    let error = result.unwrap_err();
    let WeightsError::Write { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
    assert_eq!(fs::read(&path).unwrap(), old);
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

#[test]
fn save_replaces_an_existing_file_and_leaves_no_temporary_files() {
    let dir = TempDir::new("replace");
    let path = dir.join("net.safetensors");
    fs::write(&path, b"old weights").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    }

    io::save(&TanhLinear::seeded(4), &path).unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        io::to_bytes(&TanhLinear::seeded(4))
    );
    assert_eq!(dir.entries(), ["net.safetensors"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o640,
            "the replaced file's permissions are kept"
        );
    }
}

#[test]
fn concurrent_saves_leave_one_complete_file() {
    let dir = TempDir::new("concurrent");
    let path = dir.join("net.safetensors");
    std::thread::scope(|scope| {
        for seed in 0..4 {
            let path = &path;
            scope.spawn(move || {
                for _ in 0..10 {
                    io::save(&TanhLinear::seeded(seed), path).unwrap();
                }
            });
        }
    });
    let saved = fs::read(&path).unwrap();
    assert!(
        (0..4).any(|seed| saved == io::to_bytes(&TanhLinear::seeded(seed))),
        "the file is none of the networks saved"
    );
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

#[test]
fn readers_never_see_a_partial_file() {
    let dir = TempDir::new("readers");
    let path = dir.join("net.safetensors");
    let files = [
        io::to_bytes(&Digits::seeded(1)),
        io::to_bytes(&Digits::seeded(2)),
    ];
    fs::write(&path, &files[0]).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let reads = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0_usize;
            while !done.load(Ordering::Relaxed) {
                let saved = fs::read(&path).unwrap();
                assert!(
                    files.contains(&saved),
                    "a reader saw {} bytes that are neither file",
                    saved.len()
                );
                reads += 1;
            }
            reads
        });
        for i in 0..40 {
            io::save(&Digits::seeded(2 - i % 2), &path).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 40, "only {reads} reads");
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

/// The variable that makes `saves_until_killed` save to the path it names.
const SAVE_LOOP: &str = "BACKPROP_WEIGHTS_SAVE_LOOP";

#[test]
fn killed_save_leaves_the_old_or_the_new_file() {
    let dir = TempDir::new("killed");
    let path = dir.join("net.safetensors");
    let files = [
        io::to_bytes(&Mnist::seeded(1)),
        io::to_bytes(&Mnist::seeded(2)),
    ];
    let complete = |round: u64| {
        let saved = fs::read(&path).unwrap();
        assert!(
            files.contains(&saved),
            "round {round}: the file is {} bytes that are neither network's",
            saved.len()
        );
        saved
    };
    for round in 0..8 {
        fs::write(&path, &files[0]).unwrap();
        // This test binary again, running only the saving loop below.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["saves_until_killed", "--exact", "--ignored"])
            .env(SAVE_LOOP, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait for its first save, of the second network, then kill it at
        // some point of a later one.
        let started = std::time::Instant::now();
        while complete(round) != files[1] {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: the saving loop ended: {status}");
            }
            assert!(
                started.elapsed().as_secs() < 120,
                "round {round}: no save in two minutes"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(3 + 11 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        complete(round);
    }
    // A killed save may leave its temporary file, never anything else.
    for name in dir.entries() {
        assert!(
            name == "net.safetensors"
                || (name.starts_with(".net.safetensors.")
                    && Path::new(&name).extension().is_some_and(|e| e == "tmp")),
            "{name}"
        );
    }
}

/// Saves two networks in turn to the path `SAVE_LOOP` names, the second
/// first, until the process is killed; run by
/// `killed_save_leaves_the_old_or_the_new_file`.
#[test]
#[ignore = "a helper process of killed_save_leaves_the_old_or_the_new_file"]
fn saves_until_killed() {
    let Some(path) = std::env::var_os(SAVE_LOOP) else {
        return;
    };
    // Two 400 kB networks need more than a test thread's stack.
    let saving = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            let networks = [Box::new(Mnist::seeded(2)), Box::new(Mnist::seeded(1))];
            for network in networks.iter().cycle() {
                io::save(network.as_ref(), &path).unwrap();
            }
        })
        .unwrap();
    saving.join().unwrap();
}

// ---------------------------------------------------------------------------
// Files for PyTorch
// ---------------------------------------------------------------------------

/// Saves `network` as `name.safetensors` in `dir` with `name.json` beside
/// it: inputs and backprop's outputs, which `tools/safetensors_fixtures.py
/// verify` compares with PyTorch's.
fn export<N: Network>(dir: &Path, name: &str, mut network: N) {
    // Seeded networks have zero biases: offset every parameter so that a
    // bias out of place would show in PyTorch's outputs.
    for (i, param) in network.params_mut().iter_mut().enumerate() {
        *param += N::Float::from_f64((i % 7) as f64 / 8.0 - 0.375);
    }
    let x: Vec<Vec<f64>> = (0..7)
        .map(|row| {
            (0..N::INPUTS)
                .map(|column| {
                    // Deterministic, of both signs, exact in f32.
                    let k = (row * 7 + column * 3) % 11;
                    (k as f64 - 5.0) / 4.0
                })
                .collect()
        })
        .collect();
    let path = dir.join(format!("{name}.safetensors"));
    io::save(&network, &path).unwrap();
    let record = serde_json::json!({
        "x": x,
        "output": outputs(&network, &x),
    });
    fs::write(dir.join(format!("{name}.json")), record.to_string()).unwrap();

    let mut loaded = N::zeros();
    io::load(&mut loaded, &path).unwrap();
    assert_eq!(bits(&loaded), bits(&network));
}

#[test]
fn files_for_pytorch_are_exported() {
    let temporary = TempDir::new("export");
    let dir = std::env::var_os("BACKPROP_SAFETENSORS_EXPORT")
        .map_or_else(|| temporary.path().to_path_buf(), PathBuf::from);
    fs::create_dir_all(&dir).unwrap();
    export(&dir, "tanh_linear_f32", TanhLinear::seeded(21));
    export(&dir, "tanh_linear_f64", TanhLinear64::seeded(22));
    export(
        &dir,
        "relu_sigmoid_linear_f32",
        ReluSigmoidLinear::seeded(23),
    );
    export(&dir, "parameterised_f32", Parameterised::seeded(24));
    export(&dir, "parameterised_f64", Parameterised64::seeded(25));
    let files = fs::read_dir(&dir)
        .unwrap()
        .filter(|entry| {
            let name = entry.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".safetensors")
        })
        .count();
    assert!(files >= 5, "{files} files in {}", dir.display());
}

/// A file whose tensors fit but whose recorded architecture is another
/// network's is refused, naming both, and the network is unchanged; the
/// same tensors without the record (as PyTorch writes them) still load.
#[test]
fn a_file_of_another_architecture_with_the_same_widths_is_refused() {
    backprop::network! {
        Classifier = 2 -> relu(3) -> sigmoid(1); loss = bce
    }
    backprop::network! {
        Regressor = 2 -> tanh(3) -> linear(1); loss = mse
    }
    let bytes = io::to_bytes(&Classifier::seeded(4));
    let mut network = Regressor::seeded(5);
    let before = bits(&network);
    let error = io::load_bytes(&mut network, &bytes).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the file was saved from `2 -> relu(3) -> sigmoid(1); loss = bce; float = f32`, \
         not from this network, `2 -> tanh(3) -> linear(1); loss = mse; float = f32`; \
         its tensors fit, but they were trained for other activations or another loss"
    );
    assert_eq!(bits(&network), before);

    // The same tensors with no metadata load on their shapes.
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<(String, TensorView<'_>)> = file
        .names()
        .into_iter()
        .map(|name| (name.to_owned(), file.tensor(name).unwrap()))
        .collect();
    let bare = safetensors::serialize(tensors, None).unwrap();
    io::load_bytes(&mut network, &bare).expect("no recorded architecture");
    assert_eq!(network.params(), Classifier::seeded(4).params());
}
