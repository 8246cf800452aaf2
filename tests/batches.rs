//! The run-time-size (`*_slice`) methods reject bad batches without touching
//! their outputs and split good ones correctly; the expression form,
//! several networks per module, networks inside functions and generic code
//! over `backprop::Network` all work.

// Bit-for-bit equality is what these tests mean to check: the same
// arithmetic in the same order, whatever the batch is split into.
#![allow(clippy::float_cmp)]

mod common;

use backprop::{BatchError, Network, Optimizer, Sgd};

backprop::network! {
    /// The seed's network.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

backprop::network! {
    /// Same layers as the expression-form network below.
    pub Small = 2 -> tanh(4) -> linear(1); loss = mse
}

backprop::network! {
    /// Two outputs and `f64`, to tell rows from values.
    pub(crate) Wide = 3 -> relu(5) -> sigmoid(2); loss = mse; float = f64
}

fn sample(seed: u64) -> (Vec<[f64; 3]>, Vec<[f64; 2]>) {
    let (x, y) = common::batch::<Wide, 19>(seed);
    (x.to_vec(), y.to_vec())
}

fn mismatch(what: &'static str, inputs: usize, rows: usize) -> BatchError {
    BatchError::RowMismatch { what, inputs, rows }
}

#[test]
fn forward_slice_rejects_a_mismatched_output_and_leaves_it_untouched() {
    let net = Wide::seeded(1);
    let (x, _) = sample(1);
    for rows in [0, 18, 20] {
        let mut out = vec![[9.0; 2]; rows];
        assert_eq!(
            net.forward_slice(&x, &mut out),
            Err(mismatch("output", 19, rows))
        );
        assert!(out.iter().all(|row| *row == [9.0; 2]));
    }
    // No rows in, no rows out: nothing to do, and no error.
    assert_eq!(net.forward_slice(&[], &mut []), Ok(()));
}

#[test]
fn loss_slice_rejects_mismatched_and_empty_batches() {
    let net = Wide::seeded(1);
    let (x, y) = sample(2);
    assert_eq!(
        net.loss_slice(&x, &y[..18]),
        Err(mismatch("target", 19, 18))
    );
    assert_eq!(net.loss_slice(&x[..3], &y), Err(mismatch("target", 3, 19)));
    assert_eq!(net.loss_slice(&[], &y[..1]), Err(mismatch("target", 0, 1)));
    assert_eq!(net.loss_slice(&[], &[]), Err(BatchError::Empty));
}

#[test]
fn gradients_slice_rejects_bad_batches_and_leaves_grad_untouched() {
    let net = Wide::seeded(1);
    let (x, y) = sample(3);
    let sentinel = Wide::seeded(99);
    let mut grad = sentinel.clone();
    assert_eq!(
        net.gradients_slice(&x, &y[..5], &mut grad),
        Err(mismatch("target", 19, 5))
    );
    assert_eq!(grad, sentinel);
    assert_eq!(
        net.gradients_slice(&x[..1], &y[..2], &mut grad),
        Err(mismatch("target", 1, 2))
    );
    assert_eq!(grad, sentinel);
    assert_eq!(
        net.gradients_slice(&[], &[], &mut grad),
        Err(BatchError::Empty)
    );
    assert_eq!(grad, sentinel);
    // A good batch overwrites it.
    assert!(net.gradients_slice(&x, &y, &mut grad).is_ok());
    assert_eq!(
        grad,
        net.gradients::<19>(
            &x.clone().try_into().unwrap(),
            &y.clone().try_into().unwrap()
        )
        .1
    );
}

#[test]
fn input_gradients_slice_rejects_bad_batches_and_leaves_grad_x_untouched() {
    let net = Wide::seeded(1);
    let (x, y) = sample(4);
    let mut grad_x = vec![[5.0; 3]; 19];
    let untouched = |g: &[[f64; 3]]| g.iter().all(|row| *row == [5.0; 3]);

    assert_eq!(
        net.input_gradients_slice(&x, &y[..7], &mut grad_x),
        Err(mismatch("target", 19, 7))
    );
    assert!(untouched(&grad_x));
    assert_eq!(
        net.input_gradients_slice(&x, &y, &mut grad_x[..18]),
        Err(mismatch("input-gradient", 19, 18))
    );
    assert!(untouched(&grad_x));
    let mut longer = vec![[5.0; 3]; 20];
    assert_eq!(
        net.input_gradients_slice(&x, &y, &mut longer),
        Err(mismatch("input-gradient", 19, 20))
    );
    assert!(untouched(&longer));
    assert_eq!(
        net.input_gradients_slice(&[], &[], &mut []),
        Err(BatchError::Empty)
    );
    assert_eq!(
        net.input_gradients_slice(&[], &[], &mut grad_x),
        Err(BatchError::Empty)
    );
    assert!(untouched(&grad_x));
    // A good batch overwrites it.
    assert!(net.input_gradients_slice(&x, &y, &mut grad_x).is_ok());
    assert!(!untouched(&grad_x));
}

#[test]
fn train_step_slice_rejects_bad_batches_and_leaves_params_untouched() {
    let mut net = Wide::seeded(1);
    let before = net.clone();
    let (x, y) = sample(5);
    let mut sgd = Sgd::new(0.1);
    assert_eq!(
        net.train_step_slice(&x, &y[..4], &mut sgd),
        Err(mismatch("target", 19, 4))
    );
    assert_eq!(net, before);
    assert_eq!(
        net.train_step_slice(&[], &[], &mut sgd),
        Err(BatchError::Empty)
    );
    assert_eq!(net, before);
    // A good batch trains.
    let loss = net
        .train_step_slice(&x, &y, &mut sgd)
        .expect("a valid batch");
    common::assert_close(
        loss,
        before.loss_slice(&x, &y).unwrap(),
        1e-15,
        1e-12,
        "loss before the step",
    );
    assert_ne!(net, before);
}

#[test]
fn batch_errors_describe_the_problem() {
    assert_eq!(
        mismatch("target", 4, 3).to_string(),
        "the batch has 4 input rows but 3 target rows; give one row per sample"
    );
    assert!(BatchError::Empty.to_string().contains("no rows"));
    let error: Box<dyn std::error::Error> = Box::new(BatchError::Empty);
    assert!(!error.to_string().is_empty());
}

#[test]
fn forward_slice_of_19_rows_equals_forward_of_each_row() {
    let net = Wide::seeded(8);
    let (x, _) = sample(8);
    let mut out = vec![[0.0; 2]; 19];
    net.forward_slice(&x, &mut out)
        .expect("one output row per input row");
    for (row, (input, output)) in x.iter().zip(&out).enumerate() {
        assert_eq!(*output, net.forward::<1>(&[*input])[0], "row {row}");
    }
    // And the const-size batch of all 19 at once.
    let whole = net.forward::<19>(&x.clone().try_into().unwrap());
    assert_eq!(out, whole.to_vec());

    // Whole chunks only (16 = 2 × 8) and a chunk plus one row (9), in f32.
    let xor = Xor::seeded(8);
    let inputs: Vec<[f32; 2]> = (0..16_u8)
        .map(|i| [f32::from(i) / 8.0 - 1.0, f32::from(i % 3)])
        .collect();
    for rows in [16, 9, 8, 1] {
        let mut out = vec![[0.0; 1]; rows];
        xor.forward_slice(&inputs[..rows], &mut out).unwrap();
        for (input, output) in inputs.iter().zip(&out) {
            assert_eq!(*output, xor.forward(&[*input])[0]);
        }
    }
}

#[test]
fn loss_slice_of_19_rows_equals_the_const_size_loss() {
    let net = Wide::seeded(9);
    let (x, y) = sample(9);
    let expected = net.loss::<19>(
        &x.clone().try_into().unwrap(),
        &y.clone().try_into().unwrap(),
    );
    common::assert_close(
        net.loss_slice(&x, &y).unwrap(),
        expected,
        1e-15,
        1e-12,
        "loss_slice",
    );
    // The mean of per-row losses is the batch loss.
    let mean = x
        .iter()
        .zip(&y)
        .map(|(x, y)| net.loss(&[*x], &[*y]))
        .sum::<f64>()
        / 19.0;
    common::assert_close(mean, expected, 1e-15, 1e-12, "mean of per-row losses");
}

// ---------------------------------------------------------------------------
// The expression form.
// ---------------------------------------------------------------------------

#[test]
fn expression_form_equals_item_form_seeded_with_its_seed() {
    let net = backprop::network!(2 -> tanh(4) -> linear(1); loss = mse; seed = 7);
    assert_eq!(net.params(), Small::seeded(7).params());
    assert_ne!(net.params(), Small::seeded(8).params());
    // Without a seed: seed 0.
    let default = backprop::network!(2 -> tanh(4) -> linear(1); loss = mse);
    assert_eq!(default.params(), Small::seeded(0).params());
    // And it behaves the same.
    let x = [[0.5, -0.25], [1.0, 2.0]];
    let y = [[1.0], [0.0]];
    assert_eq!(net.forward(&x), Small::seeded(7).forward(&x));
    assert_eq!(net.loss(&x, &y), Small::seeded(7).loss(&x, &y));
    assert_eq!(
        net.gradients(&x, &y).1.params(),
        Small::seeded(7).gradients(&x, &y).1.params()
    );
}

#[test]
fn expression_form_supports_f64_and_the_network_trait() {
    let mut net =
        backprop::network!(3 -> relu(5) -> sigmoid(2); loss = mse; float = f64; seed = 12);
    assert_eq!(net.params(), Wide::seeded(12).params());
    let (x, y) = sample(12);
    let first = train(&mut net, &x, &y, 1, 0.5);
    let later = train(&mut net, &x, &y, 50, 0.5);
    assert!(later < first, "loss {first} → {later}");
    assert_eq!(Network::params(&net).len(), Wide::PARAMS);
}

// ---------------------------------------------------------------------------
// Several networks in one module, and networks inside functions.
// ---------------------------------------------------------------------------

mod zoo {
    backprop::network! { pub Tiny = 1 -> linear(1); loss = mse }
    backprop::network! {
        pub(crate) Deep = 2 -> relu(3) -> relu(3) -> relu(3) -> sigmoid(1); loss = mse
    }
    backprop::network! {
        /// Documented, and with an attribute of its own.
        #[allow(dead_code)]
        pub Documented = 4 -> tanh(2) -> linear(4); loss = mse; float = f64
    }
    // The same name as a network at the crate root.
    backprop::network! { pub Xor = 2 -> tanh(2) -> sigmoid(1); loss = mse; float = f64 }
}

#[test]
fn several_networks_in_one_module_are_distinct_types() {
    assert_eq!(zoo::Tiny::PARAMS, 2);
    assert_eq!(zoo::Deep::PARAMS, 9 + 12 + 12 + 4);
    assert_eq!(zoo::Deep::LAYERS, 4);
    assert_eq!(zoo::Documented::PARAMS, 10 + 12);
    assert_eq!((zoo::Documented::INPUTS, zoo::Documented::OUTPUTS), (4, 4));
    assert_eq!(zoo::Xor::PARAMS, 9);
    assert_eq!(Xor::PARAMS, 13);
    let tiny = zoo::Tiny::seeded(1);
    let out: [[f32; 1]; 2] = tiny.forward(&[[1.0], [2.0]]);
    assert!(
        (out[1][0] - 2.0 * out[0][0]).abs() < 1e-6,
        "zero bias: linear in x"
    );
    let out: [[f64; 1]; 1] = zoo::Xor::seeded(1).forward(&[[0.0, 1.0]]);
    assert!(out[0][0] > 0.0 && out[0][0] < 1.0);
}

#[test]
fn networks_can_be_defined_inside_functions() {
    backprop::network! { Local = 2 -> sigmoid(4) -> linear(1); loss = mse; float = f64 }
    backprop::network! { Other = 1 -> linear(2); loss = mse }

    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = [[0.0], [1.0], [1.0], [0.0]];
    let mut net = Local::seeded(3);
    let mut sgd = Sgd::new(0.5);
    let initial = net.loss(&x, &y);
    for _ in 0..200 {
        net.train_step(&x, &y, &mut sgd);
    }
    assert!(net.loss(&x, &y) < initial);
    assert_eq!(Other::PARAMS, 4);
    assert_eq!(Other::zeros().forward(&[[3.0]]), [[0.0, 0.0]]);
}

/// Names generated code must not pick up from the user's scope.
mod shadowing {
    #![allow(dead_code, non_camel_case_types, clippy::upper_case_acronyms)]

    pub(crate) struct Option;
    pub(crate) struct Some;
    pub(crate) struct None;
    pub(crate) struct Result;
    pub(crate) struct Sized;
    pub(crate) struct usize;
    pub(crate) struct f32;
    pub(crate) struct f64;
    pub(crate) mod core {}
    pub(crate) mod backprop {}

    ::backprop::network! { pub Shadowed = 2 -> relu(3) -> tanh(1); loss = mse }
}

#[test]
fn generated_code_ignores_names_in_the_users_scope() {
    let net = shadowing::Shadowed::seeded(1);
    let (loss, grad) = net.gradients(&[[1.0, -1.0]], &[[0.5]]);
    assert!(loss >= 0.0);
    assert_eq!(grad.params().len(), shadowing::Shadowed::PARAMS);
    let mut out = [[0.0; 1]; 3];
    net.forward_slice(&[[0.0, 0.0]; 3], &mut out).unwrap();
}

// ---------------------------------------------------------------------------
// Generic code over `backprop::Network`.
// ---------------------------------------------------------------------------

/// Trains any network with SGD on a run-time-size batch; returns the final loss.
fn train<N: Network>(
    net: &mut N,
    x: &[N::Input],
    y: &[N::Target],
    steps: usize,
    learning_rate: f64,
) -> N::Float {
    let mut sgd = Sgd::new(learning_rate);
    for _ in 0..steps {
        net.train_step_slice(x, y, &mut sgd).expect("a valid batch");
    }
    net.loss_slice(x, y).expect("a valid batch")
}

/// Trains any network with any optimizer on a const-size batch.
fn train_const<N: Network, O: Optimizer<N::Float>, const B: usize>(
    net: &mut N,
    x: &[N::Input; B],
    y: &[N::Target; B],
    optimizer: &mut O,
    steps: usize,
) -> N::Float {
    for _ in 0..steps {
        net.train_step(x, y, optimizer);
    }
    net.loss(x, y)
}

/// The trait's constants, for any network.
fn shape<N: Network>() -> [usize; 4] {
    [N::INPUTS, N::OUTPUTS, N::PARAMS, N::LAYERS]
}

#[test]
fn generic_code_over_the_network_trait_works_for_every_network() {
    assert_eq!(shape::<Xor>(), [2, 1, 13, 2]);
    assert_eq!(
        shape::<Wide>(),
        [Wide::INPUTS, Wide::OUTPUTS, Wide::PARAMS, Wide::LAYERS]
    );
    assert_eq!(shape::<zoo::Deep>(), [2, 1, 37, 4]);

    // XOR in f32, through the generic const-size trainer.
    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = [[0.0], [1.0], [1.0], [0.0]];
    let mut xor = Xor::seeded(1);
    let loss: f32 = train_const(&mut xor, &x, &y, &mut Sgd::new(0.5), 4000);
    assert!(loss < 0.01, "XOR loss {loss}");

    // Linear regression in f64, through the generic slice trainer:
    // y = 2·x₀ − x₁ + 0.5 is learnt exactly.
    backprop::network! { Line = 2 -> linear(1); loss = mse; float = f64 }
    let (inputs, _) = common::batch::<Line, 19>(21);
    let targets: Vec<[f64; 1]> = inputs.iter().map(|x| [2.0 * x[0] - x[1] + 0.5]).collect();
    let mut line = Line::zeros();
    let loss = train(&mut line, &inputs, &targets, 2000, 0.3);
    assert!(loss < 1e-12, "regression loss {loss}");
    common::assert_all_close(line.params(), &[2.0, -1.0, 0.5], 1e-6, 1e-6, "learnt line");

    // Through a trait object for the optimizer.
    let mut wide = Wide::seeded(2);
    let (x, y) = sample(2);
    let before = wide.loss_slice(&x, &y).unwrap();
    let optimizer: &mut dyn Optimizer<f64> = &mut Sgd::new(0.5);
    for _ in 0..20 {
        wide.train_step_slice(&x, &y, optimizer).unwrap();
    }
    assert!(wide.loss_slice(&x, &y).unwrap() < before);
}
