//! Recurrent networks' weight files against PyTorch: models built in
//! PyTorch (`tools/recurrent_network_fixtures.py`: a two-layer `nn.LSTM`
//! with an `nn.Linear`; an `nn.GRU` under an `nn.LSTM` with two
//! `nn.Linear`s) and saved by `safetensors.torch` load into the generated
//! networks and give PyTorch's outputs, loss and gradient of every tensor;
//! files round-trip; every wrong file is refused and changes nothing.

use std::collections::BTreeMap;

use backprop::Recurrent;
use backprop::runtime::io::{self, WeightsError, safetensors::SafeTensors};
use backprop::sequence::{StepTape, Targets};
use serde::Deserialize;

backprop::network! {
    /// `nn.LSTM(1, 8, num_layers = 2)` and `nn.Linear(8, 1)`.
    Stacked = 1 -> lstm(8) -> lstm(8) -> linear(1); loss = mse; float = f64
}

backprop::network! {
    /// `nn.GRU(2, 5)`, `nn.LSTM(5, 4)`, `nn.Linear(4, 3)`, `nn.Tanh()`, `nn.Linear(3, 2)`.
    Mixed = 2 -> gru(5) -> lstm(4) -> tanh(3) -> linear(2); loss = mse; float = f64
}

backprop::network! {
    /// `Stacked` in `f32`.
    Stacked32 = 1 -> lstm(8) -> lstm(8) -> linear(1); loss = mse
}

backprop::network! {
    /// One layer fewer than `Stacked`.
    Single = 1 -> lstm(8) -> linear(1); loss = mse; float = f64
}

backprop::network! {
    /// A GRU where `Stacked` has LSTMs.
    Grus = 1 -> gru(8) -> gru(8) -> linear(1); loss = mse; float = f64
}

const B: usize = 3;

#[derive(Deserialize)]
struct Fixture {
    network: String,
    x: Vec<Vec<Vec<f64>>>,
    output: Vec<Vec<Vec<f64>>>,
    targets: Vec<Vec<Vec<f64>>>,
    loss: f64,
    gradients: BTreeMap<String, Vec<f64>>,
}

fn path(name: &str, extension: &str) -> String {
    format!(
        "{}/tests/fixtures/pytorch/{name}.{extension}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn fixture(name: &str) -> Fixture {
    let text = std::fs::read_to_string(path(name, "json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// PyTorch's batch-first `[B, T, n]` as time-major rows.
fn time_major<const N: usize>(batch_first: &[Vec<Vec<f64>>]) -> Vec<[[f64; N]; B]> {
    (0..batch_first[0].len())
        .map(|t| std::array::from_fn(|b| batch_first[b][t].as_slice().try_into().expect("width")))
        .collect()
}

/// The values of every tensor of a file, by name, in PyTorch's order.
fn tensors(bytes: &[u8]) -> BTreeMap<String, Vec<f64>> {
    let file = SafeTensors::deserialize(bytes).expect("a valid file");
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("f64")))
                .collect();
            (name, values)
        })
        .collect()
}

fn assert_close(what: &str, ours: &[f64], theirs: &[f64], tolerance: f64) {
    assert_eq!(ours.len(), theirs.len(), "{what}");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= tolerance * (1.0 + b.abs()),
            "{what}[{i}]: ours {a}, PyTorch {b}"
        );
    }
}

/// A PyTorch file loads, and the network gives PyTorch's outputs, loss and
/// gradients; saving it again writes PyTorch's tensors.
fn replays<N, const I: usize, const O: usize>(name: &str)
where
    N: Recurrent<Float = f64, Input = [f64; I], Output = [f64; O], Target = [f64; O]> + PartialEq,
{
    let fixture = fixture(name);
    let bytes = std::fs::read(path(name, "safetensors")).expect("fixture file");
    let mut network = N::zeros();
    io::load_bytes_recurrent(&mut network, &bytes).expect("PyTorch's file loads");
    assert_eq!(network.params().len(), N::PARAMS);

    let xs = time_major::<I>(&fixture.x);
    let mut ys = vec![[[0.0; O]; B]; xs.len()];
    network
        .forward_sequence(&mut [N::State::default(); B], &xs, &mut ys)
        .unwrap();
    let flat = |rows: &[[[f64; O]; B]]| -> Vec<f64> {
        (0..B)
            .flat_map(|b| rows.iter().flat_map(move |step| step[b]))
            .collect()
    };
    let theirs: Vec<f64> = fixture.output.iter().flatten().flatten().copied().collect();
    assert_close("output", &flat(&ys), &theirs, 1e-12);

    let targets = time_major::<O>(&fixture.targets);
    let mut tape = vec![StepTape::<N, B>::ZERO; xs.len()];
    let mut grad = N::zeros();
    let loss = network
        .sequence_gradients(
            &mut [N::State::default(); B],
            &xs,
            Targets::EveryStep(&targets),
            &mut tape,
            &mut grad,
        )
        .unwrap();
    assert_close("loss", &[loss], &[fixture.loss], 1e-12);
    let ours = tensors(&io::to_bytes_recurrent(&grad));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        fixture.gradients.keys().collect::<Vec<_>>(),
        "{}",
        fixture.network
    );
    for (tensor, theirs) in &fixture.gradients {
        assert_close(&format!("∂L/∂{tensor}"), &ours[tensor], theirs, 1e-10);
    }

    // Saved again, the file holds PyTorch's tensors, and loads back.
    let saved = io::to_bytes_recurrent(&network);
    assert_eq!(tensors(&saved), tensors(&bytes));
    let mut reloaded = network.clone();
    reloaded.params_mut().fill(0.5);
    io::load_bytes_recurrent(&mut reloaded, &saved).unwrap();
    assert!(reloaded == network);
    let metadata = SafeTensors::read_metadata(&saved).unwrap().1;
    let architecture = metadata.metadata().as_ref().unwrap()["architecture"].clone();
    assert_eq!(architecture, fixture.network);
}

#[test]
fn a_two_layer_lstm_from_pytorch_gives_its_outputs_and_gradients() {
    replays::<Stacked, 1, 1>("recurrent_network_lstm_two_layers");
}

#[test]
fn a_gru_under_an_lstm_from_pytorch_gives_its_outputs_and_gradients() {
    replays::<Mixed, 2, 2>("recurrent_network_gru_lstm_tanh");
}

/// Every file that is not this network's is refused, naming what is
/// wrong, and the network keeps its parameters.
#[test]
fn a_wrong_file_is_refused_and_changes_nothing() {
    let pytorch = std::fs::read(path("recurrent_network_lstm_two_layers", "safetensors")).unwrap();
    let mut network = Single::seeded(1);
    let error = io::load_bytes_recurrent(&mut network, &pytorch).unwrap_err();
    assert!(
        matches!(&error, WeightsError::UnexpectedTensor { name, .. } if name == "0.bias_hh_l1"),
        "{error}"
    );
    assert_eq!(network, Single::seeded(1));

    let mut stacked = Stacked::seeded(1);
    let error = io::load_bytes_recurrent(&mut stacked, &io::to_bytes_recurrent(&Single::seeded(2)))
        .unwrap_err();
    assert!(
        matches!(&error, WeightsError::MissingTensor { name, .. } if name == "0.weight_ih_l1"),
        "{error}"
    );
    assert!(error.to_string().contains("weight_ih_l{k}"), "{error}");
    assert_eq!(stacked, Stacked::seeded(1));

    let error = io::load_bytes_recurrent(&mut stacked, &io::to_bytes_recurrent(&Grus::seeded(2)))
        .unwrap_err();
    assert!(
        matches!(&error, WeightsError::WrongShape { name, found, expected }
            if name == "0.weight_ih_l0" && found == &[24, 1] && expected == &[32, 1]),
        "{error}"
    );
    assert!(error.to_string().contains("nn.LSTM (4 gates)"), "{error}");
    assert_eq!(stacked, Stacked::seeded(1));

    let mut single_precision = Stacked32::seeded(1);
    let error = io::load_bytes_recurrent(&mut single_precision, &pytorch).unwrap_err();
    assert!(
        matches!(
            error,
            WeightsError::WrongDtype {
                expected: "F32",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(single_precision, Stacked32::seeded(1));

    let mut truncated = pytorch.clone();
    truncated.truncate(pytorch.len() - 4);
    let error = io::load_bytes_recurrent(&mut stacked, &truncated).unwrap_err();
    assert!(matches!(error, WeightsError::Corrupt { .. }), "{error}");
    assert_eq!(stacked, Stacked::seeded(1));
}

/// `save_recurrent` and `load_recurrent` on disk.
#[test]
fn files_round_trip() {
    let dir =
        std::env::temp_dir().join(format!("backprop-recurrent-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mixed.safetensors");
    io::save_recurrent(&Mixed::seeded(4), &file).unwrap();
    let mut loaded = Mixed::zeros();
    io::load_recurrent(&mut loaded, &file).unwrap();
    assert_eq!(loaded, Mixed::seeded(4));
    let error = io::load_recurrent(&mut loaded, dir.join("missing.safetensors")).unwrap_err();
    assert!(matches!(error, WeightsError::Read { .. }), "{error}");
    assert_eq!(loaded, Mixed::seeded(4));
    std::fs::remove_dir_all(&dir).unwrap();
}
