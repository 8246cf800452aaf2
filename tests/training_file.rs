//! Training saved to a file with the optimizer's state (`io::save_training`)
//! and loaded into a new network and optimizer resumes exactly: the steps
//! after equal, bit for bit, those of a run that never stopped. A file that
//! does not fit is refused and leaves network and optimizer as they were.

#![allow(clippy::float_cmp)]

use backprop::runtime::io::{self, WeightsError, safetensors::SafeTensors};
use backprop::runtime::{Resume, StateError};
use backprop::{Adam, AdamW, Network, Optimizer, Sgd};

mod common;

use common::temp_dir::TempDir;

backprop::network! {
    /// A small regression network, in f64.
    pub Net = 3 -> tanh(4) -> linear(2); loss = mse; float = f64
}

backprop::network! {
    /// The same widths, other activations.
    pub Other = 3 -> relu(4) -> linear(2); loss = mse; float = f64
}

/// A batch that changes from step to step.
fn batch(step: usize) -> ([[f64; 3]; 4], [[f64; 2]; 4]) {
    let s = step as f64;
    let x = core::array::from_fn(|r| core::array::from_fn(|c| ((r * 3 + c) as f64 + s).sin()));
    let y = core::array::from_fn(|r| [(r as f64 - s).cos(), 0.1 * r as f64]);
    (x, y)
}

/// The state of `optimizer`, copied.
fn state<O: Resume<f64>>(optimizer: &O) -> (u64, Vec<(&'static str, Vec<f64>)>) {
    let mut buffers = Vec::new();
    optimizer.buffers(&mut |name, values| buffers.push((name, values.to_vec())));
    (optimizer.steps(), buffers)
}

/// Five steps, saved to a file and loaded into a new network and
/// optimizer; five more steps of both equal each other and not those of a
/// new optimizer.
fn check_resumes<O>(make: impl Fn() -> O, names: &[&str])
where
    O: Optimizer<f64> + Resume<f64>,
{
    let (mut net, mut optimizer) = (Net::seeded(1), make());
    for step in 0..5 {
        let (x, y) = batch(step);
        net.train_step(&x, &y, &mut optimizer);
    }
    let dir = TempDir::new("resume");
    let path = dir.join("training.safetensors");
    io::save_training(&net, &optimizer, &path).expect("saved");

    let (mut resumed, mut resumed_optimizer) = (Net::zeros(), make());
    io::load_training(&mut resumed, &mut resumed_optimizer, &path).expect("loaded");
    assert_eq!(resumed.params(), net.params());
    assert_eq!(state(&resumed_optimizer), state(&optimizer));
    let names_read: Vec<&str> = state(&resumed_optimizer)
        .1
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names_read, names);

    let (mut forgetful, mut fresh) = (net.clone(), make());
    for step in 5..10 {
        let (x, y) = batch(step);
        net.train_step(&x, &y, &mut optimizer);
        resumed.train_step(&x, &y, &mut resumed_optimizer);
        forgetful.train_step(&x, &y, &mut fresh);
    }
    assert_eq!(resumed.params(), net.params());
    // Without the state the steps differ: the comparison above can fail.
    assert_ne!(forgetful.params(), net.params());
}

#[test]
fn adam_adamw_and_sgd_resume_exactly_from_a_file() {
    check_resumes(|| Adam::new(0.01), &["exp_avg", "exp_avg_sq"]);
    check_resumes(
        || Adam::new(0.01).amsgrad(Vec::new()),
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    );
    check_resumes(
        || AdamW::new(0.01).weight_decay(0.1),
        &["exp_avg", "exp_avg_sq"],
    );
    check_resumes(
        || Sgd::new(0.05).momentum(0.9).nesterov(true),
        &["momentum_buffer"],
    );
}

#[test]
fn the_state_is_stored_per_parameter_in_pytorch_layout() {
    let (mut net, mut adam) = (Net::seeded(2), Adam::new(0.01));
    for step in 0..3 {
        let (x, y) = batch(step);
        net.train_step(&x, &y, &mut adam);
    }
    let bytes = io::to_bytes_training(&net, &adam).expect("fits");
    let file = SafeTensors::deserialize(&bytes).expect("valid");
    let (_, buffers) = state(&adam);
    let exp_avg = &buffers[0].1;
    // W¹ is 3 × 4 row-major here; PyTorch's tensor is its transpose, [4, 3].
    let tensor = file.tensor("optimizer.exp_avg.0.weight").expect("present");
    assert_eq!(tensor.shape(), [4, 3]);
    let values: Vec<f64> = tensor
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    for unit in 0..4 {
        for input in 0..3 {
            assert_eq!(values[unit * 3 + input], exp_avg[input * 4 + unit]);
        }
    }
    // b² is the last 2 parameters.
    let tensor = file.tensor("optimizer.exp_avg_sq.2.bias").expect("present");
    let values: Vec<f64> = tensor
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values, buffers[1].1[Net::PARAMS - 2..]);
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("valid");
    let metadata = metadata.metadata().as_ref().expect("metadata");
    assert_eq!(metadata["optimizer"], "Adam");
    assert_eq!(metadata["optimizer_step"], "3");

    // The weights alone load from it.
    let mut weights = Net::zeros();
    io::load_bytes(&mut weights, &bytes).expect("weights load");
    assert_eq!(weights.params(), net.params());
}

#[test]
fn an_optimizer_before_its_first_step_saves_and_loads_no_state() {
    let net = Net::seeded(3);
    let bytes = io::to_bytes_training(&net, &Adam::<Vec<f64>>::new(0.01)).expect("fits");
    let (mut loaded, mut adam) = (Net::zeros(), Adam::new(0.01));
    adam.step(&mut [0.0; Net::PARAMS], &[1.0; Net::PARAMS]);
    io::load_bytes_training(&mut loaded, &mut adam, &bytes).expect("loads");
    assert_eq!(state(&adam), (0, vec![]));
    assert_eq!(loaded.params(), net.params());
}

/// Loads `bytes` into a trained network and optimizer, expecting an error
/// that leaves both exactly as they were.
fn refused<O: Optimizer<f64> + Resume<f64>>(mut optimizer: O, bytes: &[u8]) -> WeightsError {
    let mut net = Net::seeded(9);
    let (x, y) = batch(0);
    net.train_step(&x, &y, &mut optimizer);
    let (params, before) = (net.params().to_vec(), state(&optimizer));
    let error = io::load_bytes_training(&mut net, &mut optimizer, bytes).expect_err("refused");
    assert_eq!(net.params(), &params[..], "{error}");
    assert_eq!(state(&optimizer), before, "{error}");
    error
}

#[test]
fn a_file_that_does_not_fit_is_refused_and_changes_nothing() {
    let trained = |optimizer: &mut dyn FnMut(&mut Net)| {
        let mut net = Net::seeded(4);
        optimizer(&mut net);
        net
    };
    let mut adam = Adam::new(0.01);
    let net = trained(&mut |net| {
        let (x, y) = batch(1);
        net.train_step(&x, &y, &mut adam);
    });
    let adam_file = io::to_bytes_training(&net, &adam).expect("fits");

    // Weights alone.
    let error = refused(Adam::new(0.01), &io::to_bytes(&net));
    assert!(
        matches!(error, WeightsError::MissingOptimizerState),
        "{error}"
    );
    // Another kind of optimizer.
    let error = refused(Sgd::new(0.1).momentum(0.9), &adam_file);
    assert_eq!(
        error.to_string(),
        "the file holds the state of Adam, not of the SGD given"
    );
    // Adam with other options: amsgrad keeps a buffer the file lacks …
    let error = refused(Adam::new(0.01).amsgrad(Vec::new()), &adam_file);
    assert!(
        matches!(&error, WeightsError::MissingTensor { name, .. } if name == "optimizer.max_exp_avg_sq.0.weight"),
        "{error}"
    );
    // … and the other way round, the file has one Adam does not keep.
    let mut amsgrad = Adam::new(0.01).amsgrad(Vec::new());
    let (x, y) = batch(1);
    let mut amsgrad_net = Net::seeded(4);
    amsgrad_net.train_step(&x, &y, &mut amsgrad);
    let amsgrad_file = io::to_bytes_training(&amsgrad_net, &amsgrad).expect("fits");
    let error = refused(Adam::new(0.01), &amsgrad_file);
    assert!(
        matches!(&error, WeightsError::UnexpectedTensor { name, .. } if name.starts_with("optimizer.max_exp_avg_sq.")),
        "{error}"
    );
    // SGD with momentum into plain SGD, which keeps no state.
    let mut momentum = Sgd::new(0.1).momentum(0.9);
    let mut sgd_net = Net::seeded(4);
    sgd_net.train_step(&x, &y, &mut momentum);
    let momentum_file = io::to_bytes_training(&sgd_net, &momentum).expect("fits");
    let error = refused(Sgd::new(0.1), &momentum_file);
    assert!(
        matches!(error, WeightsError::UnexpectedTensor { .. }),
        "{error}"
    );
    // Another architecture with the same widths.
    let mut other_adam = Adam::new(0.01);
    let mut other = Other::seeded(1);
    other.train_step(&x, &y, &mut other_adam);
    let other_file = io::to_bytes_training(&other, &other_adam).expect("fits");
    let error = refused(Adam::new(0.01), &other_file);
    assert!(
        matches!(error, WeightsError::OtherArchitecture { .. }),
        "{error}"
    );
    // Truncated.
    let error = refused(Adam::new(0.01), &adam_file[..adam_file.len() - 9]);
    assert!(matches!(error, WeightsError::Corrupt { .. }), "{error}");
}

backprop::network! {
    /// More parameters than `Net`.
    pub Larger = 3 -> tanh(8) -> linear(2); loss = mse; float = f64
}

#[test]
fn an_optimizer_used_on_another_network_is_not_saved_with_this_one() {
    let mut adam = Adam::new(0.01);
    let mut larger = Larger::seeded(1);
    let (x, y) = batch(0);
    larger.train_step(&x, &y, &mut adam);
    let error = io::to_bytes_training(&Net::seeded(1), &adam).expect_err("refused");
    assert!(
        matches!(
            error,
            WeightsError::OptimizerState(StateError::Length { expected, found, .. })
                if expected == Net::PARAMS && found == Larger::PARAMS
        ),
        "{error}"
    );
    let dir = TempDir::new("kept");
    let path = dir.join("kept.safetensors");
    io::save(&Net::seeded(1), &path).expect("saved");
    let before = std::fs::read(&path).expect("read");
    assert!(io::save_training(&Net::seeded(1), &adam, &path).is_err());
    assert_eq!(std::fs::read(&path).expect("read"), before);
}
