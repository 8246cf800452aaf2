//! `DynNetwork`, the object-safe view of a network: a collection of
//! different networks behind `Box<dyn DynNetwork<T>>` computes, through
//! flat buffers, exactly what each network's run-time-size methods compute,
//! trains exactly as they train, and refuses malformed buffers without
//! changing anything.

use backprop::{
    Adam, BatchError, DynNetwork, Float, LossKind, Network, Optimizer, Row, Sgd, TrainError,
    one_hot,
};

backprop::network! {
    /// Two outputs, mean squared error.
    Regressor = 3 -> tanh(8) -> linear(2); loss = mse
}

backprop::network! {
    /// Three classes, cross-entropy fused with softmax.
    Classifier = 4 -> relu(16) -> gelu(8) -> softmax(3); loss = cross_entropy
}

backprop::network! {
    /// One probability, binary cross-entropy fused with sigmoid.
    Binary = 2 -> leaky_relu(5, slope = 0.2) -> sigmoid(1); loss = bce
}

backprop::network! {
    /// Parameters on the heap (8 578 of them, above 16 KiB).
    Wide = 64 -> relu(128) -> linear(2); loss = huber(delta = 0.5)
}

backprop::network! {
    /// No built-in loss: trained from a gradient of the caller's loss.
    Actor = 3 -> tanh(6) -> tanh(2); loss = none
}

backprop::network! {
    /// The element type `f64`.
    Critic = 2 -> elu(4) -> linear(1); loss = huber(delta = 0.5); float = f64
}

/// A value no computation here produces, to see that a buffer is untouched.
const UNTOUCHED: f32 = -12345.0;

/// `len` values between −0.5 and 0.5, different for each `seed`.
fn flat<T: Float>(len: usize, seed: usize) -> Vec<T> {
    (0..len)
        .map(|i| T::from_f64(((i * 37 + seed * 11) % 23) as f64 / 23.0 - 0.5))
        .collect()
}

/// Targets the network's loss takes: one-hot rows for cross-entropy,
/// zeros and ones for binary cross-entropy, any values otherwise.
fn targets<N: Network>(rows: usize, seed: usize) -> Vec<N::Float> {
    match N::LOSS {
        Some(LossKind::CrossEntropy) => (0..rows)
            .flat_map(|r| one_hot::<N::Float, 3>((r + seed) % 3))
            .collect(),
        Some(LossKind::Bce) => (0..rows * N::OUTPUTS)
            .map(|i| N::Float::from_usize((i * 7 + seed) % 2))
            .collect(),
        _ => flat(rows * N::OUTPUTS, seed),
    }
}

/// Each value's bits, so that comparisons are bit for bit.
fn bits<T: Float>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.to_f64().to_bits()).collect()
}

/// Flat values cut into rows by copying: the slice methods' own input,
/// made without the view.
fn to_rows<T: Float, R: Row<T>>(values: &[T]) -> Vec<R> {
    assert_eq!(values.len() % R::LEN, 0);
    values
        .chunks(R::LEN)
        .map(|chunk| {
            let mut row = R::ZERO;
            row.as_mut().copy_from_slice(chunk);
            row
        })
        .collect()
}

fn flatten<T: Float, R: Row<T>>(rows: &[R]) -> Vec<T> {
    rows.iter().flat_map(|row| row.as_ref().to_vec()).collect()
}

/// Every call through `&dyn DynNetwork` returns what the slice method it
/// stands for returns on the same rows, bit for bit.
fn agrees_with_slice_methods<N: Network>(net: &N, rows: usize) {
    let view: &dyn DynNetwork<N::Float> = net;
    let x = flat::<N::Float>(rows * N::INPUTS, 1);
    let y = targets::<N>(rows, 2);
    let (x_rows, y_rows) = (to_rows::<_, N::Input>(&x), to_rows::<_, N::Target>(&y));

    let mut out = vec![N::Float::from_f64(f64::NAN); rows * N::OUTPUTS];
    view.forward_flat(&x, &mut out).expect("a valid batch");
    let mut expected = vec![N::Output::ZERO; rows];
    net.forward_slice(&x_rows, &mut expected)
        .expect("a valid batch");
    assert_eq!(
        bits(&out),
        bits(&flatten(&expected)),
        "forward, {rows} rows"
    );
    // The first eight rows as a batch of a compile-time size.
    let first: [N::Input; 8] = core::array::from_fn(|r| x_rows[r]);
    assert_eq!(
        bits(&out[..8 * N::OUTPUTS]),
        bits(&flatten(&net.forward(&first)))
    );

    let loss = view.loss_flat(&x, &y).expect("a valid batch");
    let expected_loss = net.loss_slice(&x_rows, &y_rows).expect("a valid batch");
    assert_eq!(loss.to_f64().to_bits(), expected_loss.to_f64().to_bits());
    assert!(loss.to_f64() > 0.0);

    let mut grad = vec![N::Float::from_f64(f64::NAN); N::PARAMS];
    let loss = view
        .gradients_flat(&x, &y, &mut grad)
        .expect("a valid batch");
    let mut expected_grad = N::zeros();
    let expected_loss = net
        .gradients_slice(&x_rows, &y_rows, &mut expected_grad)
        .expect("a valid batch");
    assert_eq!(loss.to_f64().to_bits(), expected_loss.to_f64().to_bits());
    assert_eq!(bits(&grad), bits(expected_grad.params()), "gradients");
    assert!(grad.iter().any(|g| g.to_f64() != 0.0));

    // `backward_flat` adds into what `grad` holds, as `backward_slice` does.
    let grad_output = flat::<N::Float>(rows * N::OUTPUTS, 3);
    let start = flat::<N::Float>(N::PARAMS, 4);
    let mut grad = start.clone();
    let mut grad_x = vec![N::Float::from_f64(f64::NAN); rows * N::INPUTS];
    view.backward_flat(&x, &grad_output, &mut grad, Some(&mut grad_x))
        .expect("a valid batch");
    let mut expected_grad = N::zeros();
    expected_grad.params_mut().copy_from_slice(&start);
    let mut expected_grad_x = vec![N::Input::ZERO; rows];
    net.backward_slice(
        &x_rows,
        &to_rows::<_, N::Output>(&grad_output),
        &mut expected_grad,
        Some(&mut expected_grad_x),
    )
    .expect("a valid batch");
    assert_eq!(bits(&grad), bits(expected_grad.params()), "backward");
    assert_eq!(bits(&grad_x), bits(&flatten(&expected_grad_x)));
    assert_ne!(bits(&grad), bits(&start));

    let mut without_grad_x = start.clone();
    view.backward_flat(&x, &grad_output, &mut without_grad_x, None)
        .expect("a valid batch");
    assert_eq!(bits(&without_grad_x), bits(&grad));
}

#[test]
fn a_collection_of_different_networks_describes_each_one() {
    let networks: Vec<Box<dyn DynNetwork<f32>>> = vec![
        Box::new(Regressor::seeded(1)),
        Box::new(Classifier::seeded(2)),
        Box::new(Binary::seeded(3)),
        Box::new(Actor::seeded(4)),
    ];
    let shapes: Vec<(usize, usize, usize)> = networks
        .iter()
        .map(|net| (net.inputs(), net.outputs(), net.param_count()))
        .collect();
    assert_eq!(
        shapes,
        [
            (3, 2, Regressor::PARAMS),
            (4, 3, Classifier::PARAMS),
            (2, 1, Binary::PARAMS),
            (3, 2, Actor::PARAMS),
        ]
    );
    let architectures: Vec<String> = networks
        .iter()
        .map(|net| net.architecture().to_string())
        .collect();
    assert_eq!(
        architectures,
        [
            "3 -> tanh(8) -> linear(2); loss = mse; float = f32",
            "4 -> relu(16) -> gelu(8) -> softmax(3); loss = cross_entropy; float = f32",
            "2 -> leaky_relu(5, slope = 0.2) -> sigmoid(1); loss = bce; float = f32",
            "3 -> tanh(6) -> tanh(2); loss = none; float = f32",
        ]
    );
    assert_eq!(networks[1].architecture().widths(), Classifier::WIDTHS);
    assert_eq!(
        networks[2].architecture().activations(),
        Binary::ACTIVATIONS
    );
    assert_eq!(networks[3].architecture().loss(), None);
    assert_eq!(networks[0].parameters(), Regressor::seeded(1).params());
    assert_eq!(
        format!("{:?}", networks[0]),
        "DynNetwork { architecture: 3 -> tanh(8) -> linear(2); loss = mse; float = f32, .. }"
    );
}

#[test]
fn every_call_through_the_view_equals_the_slice_method_bit_for_bit() {
    // 37 rows: one chunk of 32, then 5 padded to 8; 8 rows: one chunk.
    for rows in [37, 8] {
        agrees_with_slice_methods(&Regressor::seeded(1), rows);
        agrees_with_slice_methods(&Classifier::seeded(2), rows);
        agrees_with_slice_methods(&Binary::seeded(3), rows);
        agrees_with_slice_methods(&Wide::seeded(4), rows);
        agrees_with_slice_methods(&Critic::seeded(5), rows);
    }
}

/// Ten steps of training `net` directly with `train_step_slice` (or its
/// checked form), with the batch changing each step.
fn train_directly<N: Network<Float = f32>, O: Optimizer<f32>>(
    mut net: N,
    optimizer: &mut O,
    checked: bool,
) -> (N, Vec<u64>) {
    let mut losses = Vec::new();
    for step in 0..10 {
        let rows = 3 + 4 * step;
        let x = to_rows::<_, N::Input>(&flat(rows * N::INPUTS, step));
        let y = to_rows::<_, N::Target>(&targets::<N>(rows, step + 1));
        let loss = if checked {
            net.train_step_slice_checked(&x, &y, optimizer)
                .expect("a valid batch")
        } else {
            net.train_step_slice(&x, &y, optimizer)
                .expect("a valid batch")
        };
        losses.push(u64::from(loss.to_bits()));
    }
    (net, losses)
}

#[test]
fn training_a_collection_through_the_view_equals_training_each_network_directly() {
    for checked in [false, true] {
        let mut networks: Vec<Box<dyn DynNetwork<f32>>> = vec![
            Box::new(Regressor::seeded(1)),
            Box::new(Classifier::seeded(2)),
            Box::new(Binary::seeded(3)),
            Box::new(Wide::seeded(4)),
        ];
        let mut optimizers: Vec<Box<dyn Optimizer<f32>>> = vec![
            Box::new(Adam::new(0.01)),
            Box::new(Sgd::new(0.1).momentum(0.9)),
            Box::new(Sgd::new(0.5)),
            Box::new(Adam::new(0.001).weight_decay(0.01)),
        ];
        let initial: Vec<Vec<f32>> = networks.iter().map(|n| n.parameters().to_vec()).collect();
        let mut losses = vec![Vec::new(); networks.len()];
        for step in 0..10 {
            let rows = 3 + 4 * step;
            for ((net, optimizer), losses) in
                networks.iter_mut().zip(&mut optimizers).zip(&mut losses)
            {
                let x = flat(rows * net.inputs(), step);
                // The targets each network's loss takes, built as the direct
                // training builds them.
                let y = match net.architecture().loss() {
                    Some(LossKind::CrossEntropy) => targets::<Classifier>(rows, step + 1),
                    Some(LossKind::Bce) => targets::<Binary>(rows, step + 1),
                    _ => flat(rows * net.outputs(), step + 1),
                };
                let loss = if checked {
                    net.train_step_flat_checked(&x, &y, &mut **optimizer)
                        .expect("a valid batch")
                } else {
                    net.train_step_flat(&x, &y, &mut **optimizer)
                        .expect("a valid batch")
                };
                losses.push(u64::from(loss.to_bits()));
            }
        }

        let direct = [
            {
                let (net, losses) =
                    train_directly(Regressor::seeded(1), &mut Adam::new(0.01), checked);
                (net.params().to_vec(), losses)
            },
            {
                let mut sgd = Sgd::new(0.1).momentum(0.9);
                let (net, losses) = train_directly(Classifier::seeded(2), &mut sgd, checked);
                (net.params().to_vec(), losses)
            },
            {
                let (net, losses) = train_directly(Binary::seeded(3), &mut Sgd::new(0.5), checked);
                (net.params().to_vec(), losses)
            },
            {
                let mut adam = Adam::new(0.001).weight_decay(0.01);
                let (net, losses) = train_directly(Wide::seeded(4), &mut adam, checked);
                (net.params().to_vec(), losses)
            },
        ];
        for (i, (params, direct_losses)) in direct.iter().enumerate() {
            let name = networks[i].architecture();
            assert_eq!(bits(networks[i].parameters()), bits(params), "{name}");
            assert_eq!(losses[i], *direct_losses, "{name}");
            assert_ne!(networks[i].parameters(), initial[i], "{name} did not train");
        }
    }
}

/// A network behind the view and its momentum optimizer after one step
/// (so that the optimizer has state), with the batch of that step.
struct TrainedOnce {
    net: Box<dyn DynNetwork<f32>>,
    sgd: Sgd<Vec<f32>>,
    x: Vec<f32>,
    y: Vec<f32>,
}

fn trained_once() -> TrainedOnce {
    let mut net: Box<dyn DynNetwork<f32>> = Box::new(Regressor::seeded(5));
    let (x, y) = (flat::<f32>(2 * 3, 1), flat::<f32>(2 * 2, 2));
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    net.train_step_flat(&x, &y, &mut sgd)
        .expect("a valid batch");
    TrainedOnce { net, sgd, x, y }
}

fn ragged(what: &'static str, len: usize, width: usize) -> BatchError {
    BatchError::Ragged { what, len, width }
}

fn mismatch(what: &'static str, inputs: usize, rows: usize) -> BatchError {
    BatchError::RowMismatch { what, inputs, rows }
}

fn untouched(len: usize) -> Vec<f32> {
    vec![UNTOUCHED; len]
}

#[test]
fn refused_forward_passes_losses_gradients_and_steps_change_nothing() {
    let TrainedOnce {
        mut net,
        mut sgd,
        x,
        y,
    } = trained_once();
    let (params, optimizer) = (net.parameters().to_vec(), sgd.clone());

    // Outputs: a ragged input or output, or one row too many.
    for (x, out_len, error) in [
        (flat(7, 1), 4, ragged("input", 7, 3)),
        (x.clone(), 5, ragged("output", 5, 2)),
        (x.clone(), 6, mismatch("output", 2, 3)),
    ] {
        let mut out = untouched(out_len);
        assert_eq!(net.forward_flat(&x, &mut out), Err(error));
        assert_eq!(out, untouched(out_len));
    }

    // Losses, gradients and steps: ragged inputs or targets, rows that do
    // not match, no rows.
    for (x, y, error) in [
        (flat(7, 1), y.clone(), ragged("input", 7, 3)),
        (x.clone(), flat(5, 2), ragged("target", 5, 2)),
        (x.clone(), flat(6, 2), mismatch("target", 2, 3)),
        (Vec::new(), Vec::new(), BatchError::Empty),
    ] {
        assert_eq!(net.loss_flat(&x, &y), Err(error));
        let mut grad = untouched(Regressor::PARAMS);
        assert_eq!(net.gradients_flat(&x, &y, &mut grad), Err(error));
        assert_eq!(grad, untouched(Regressor::PARAMS));
        assert_eq!(net.train_step_flat(&x, &y, &mut sgd), Err(error));
        assert_eq!(
            net.train_step_flat_checked(&x, &y, &mut sgd),
            Err(TrainError::Batch(error))
        );
    }
    // A gradient buffer one value short.
    let mut short = untouched(Regressor::PARAMS - 1);
    assert_eq!(
        net.gradients_flat(&x, &y, &mut short),
        Err(BatchError::GradientLength {
            params: Regressor::PARAMS,
            len: Regressor::PARAMS - 1,
        })
    );
    assert_eq!(short, untouched(Regressor::PARAMS - 1));

    assert_eq!(bits(net.parameters()), bits(&params));
    assert_eq!(sgd, optimizer);
}

#[test]
fn refused_backward_passes_change_nothing() {
    const P: usize = Regressor::PARAMS;
    let TrainedOnce { net, x, .. } = trained_once();
    let params = net.parameters().to_vec();
    let grad_output = flat::<f32>(2 * 2, 3);
    // A ragged or mismatched `∂L/∂Ŷ` or `∂L/∂X`, no rows, a gradient buffer
    // of the wrong length.
    for (x, grad_output, grad_len, grad_x_len, error) in [
        (
            x.clone(),
            grad_output.clone(),
            25,
            6,
            BatchError::GradientLength { params: P, len: 25 },
        ),
        (flat(7, 1), grad_output.clone(), P, 6, ragged("input", 7, 3)),
        (x.clone(), flat(5, 3), P, 6, ragged("output-gradient", 5, 2)),
        (
            x.clone(),
            grad_output.clone(),
            P,
            5,
            ragged("input-gradient", 5, 3),
        ),
        (
            x.clone(),
            flat(6, 3),
            P,
            6,
            mismatch("output-gradient", 2, 3),
        ),
        (
            x.clone(),
            grad_output.clone(),
            P,
            9,
            mismatch("input-gradient", 2, 3),
        ),
        (Vec::new(), Vec::new(), P, 0, BatchError::Empty),
    ] {
        let (mut grad, mut grad_x) = (untouched(grad_len), untouched(grad_x_len));
        assert_eq!(
            net.backward_flat(&x, &grad_output, &mut grad, Some(&mut grad_x)),
            Err(error)
        );
        assert_eq!((grad, grad_x), (untouched(grad_len), untouched(grad_x_len)));
    }
    assert_eq!(bits(net.parameters()), bits(&params));
}

#[test]
fn a_refused_checked_step_names_the_bad_value_and_training_goes_on_as_before() {
    let TrainedOnce {
        mut net,
        mut sgd,
        x,
        y,
    } = trained_once();
    let (params, optimizer) = (net.parameters().to_vec(), sgd.clone());
    let mut nan_x = x.clone();
    nan_x[4] = f32::NAN;
    let mut infinite_y = y.clone();
    infinite_y[3] = f32::INFINITY;
    for (x, y, what) in [(&nan_x, &y, "input"), (&x, &infinite_y, "target")] {
        let error = BatchError::NonFinite {
            what,
            row: 1,
            column: 1,
        };
        assert_eq!(
            net.train_step_flat_checked(x, y, &mut sgd),
            Err(TrainError::Batch(error))
        );
    }
    assert_eq!(bits(net.parameters()), bits(&params));
    assert_eq!(sgd, optimizer);

    // The next valid step is the one that followed the first directly.
    let mut direct = Regressor::seeded(5);
    let mut direct_sgd = Sgd::new(0.1).momentum(0.9);
    let (x_rows, y_rows) = (to_rows::<_, [f32; 3]>(&x), to_rows::<_, [f32; 2]>(&y));
    for _ in 0..2 {
        direct
            .train_step_slice(&x_rows, &y_rows, &mut direct_sgd)
            .expect("a valid batch");
    }
    net.train_step_flat(&x, &y, &mut sgd)
        .expect("a valid batch");
    assert_eq!(bits(net.parameters()), bits(direct.params()));
}
#[test]
fn the_new_batch_errors_say_what_is_wrong() {
    let messages = [
        BatchError::Ragged {
            what: "input",
            len: 7,
            width: 3,
        }
        .to_string(),
        BatchError::GradientLength {
            params: 54,
            len: 25,
        }
        .to_string(),
        BatchError::NoLoss.to_string(),
    ];
    assert_eq!(
        messages,
        [
            "the input buffer holds 7 values, not a whole number of rows of 3",
            "the gradient buffer holds 25 values but the network has 54 parameters",
            "the network is declared with `loss = none`; give a backward pass its ∂L/∂Ŷ instead",
        ]
    );
}

#[test]
fn a_network_without_a_loss_runs_forward_and_backward_and_refuses_a_loss() {
    let mut actor: Box<dyn DynNetwork<f32>> = Box::new(Actor::seeded(6));
    let before = actor.parameters().to_vec();
    let (x, y) = (flat::<f32>(5 * 3, 1), flat::<f32>(5 * 2, 2));
    let mut adam = Adam::new(0.01);
    assert_eq!(actor.loss_flat(&x, &y), Err(BatchError::NoLoss));
    let mut grad = vec![UNTOUCHED; Actor::PARAMS];
    assert_eq!(
        actor.gradients_flat(&x, &y, &mut grad),
        Err(BatchError::NoLoss)
    );
    assert_eq!(grad, vec![UNTOUCHED; Actor::PARAMS]);
    assert_eq!(
        actor.train_step_flat(&x, &y, &mut adam),
        Err(BatchError::NoLoss)
    );
    assert_eq!(
        actor.train_step_flat_checked(&x, &y, &mut adam),
        Err(TrainError::Batch(BatchError::NoLoss))
    );
    assert_eq!(actor.parameters(), before);
    assert_eq!(adam, Adam::new(0.01));

    agrees_with_slice_methods_without_loss(&Actor::seeded(6));

    // Training from the caller's gradient, `∂L/∂Ŷ = Ŷ` (L = ‖Ŷ‖²/2),
    // through the view and directly.
    let mut direct = Actor::seeded(6);
    let mut direct_adam = Adam::new(0.01);
    let x_rows = to_rows::<_, [f32; 3]>(&x);
    for _ in 0..5 {
        let mut out = vec![0.0; 5 * 2];
        actor.forward_flat(&x, &mut out).expect("a valid batch");
        let mut grad = vec![0.0; Actor::PARAMS];
        actor
            .backward_flat(&x, &out, &mut grad, None)
            .expect("a valid batch");
        adam.step(actor.parameters_mut(), &grad);

        let mut out = [[0.0; 2]; 5];
        direct
            .forward_slice(&x_rows, &mut out)
            .expect("a valid batch");
        let mut grad = Actor::zeros();
        direct
            .backward_slice(&x_rows, &out, &mut grad, None)
            .expect("a valid batch");
        direct_adam.step(direct.params_mut(), grad.params());
    }
    assert_eq!(bits(actor.parameters()), bits(direct.params()));
    assert_ne!(actor.parameters(), before);
}

/// [`agrees_with_slice_methods`] for the passes a `loss = none` network has.
fn agrees_with_slice_methods_without_loss(net: &Actor) {
    let view: &dyn DynNetwork<f32> = net;
    let x = flat::<f32>(11 * 3, 7);
    let x_rows = to_rows::<_, [f32; 3]>(&x);
    let mut out = vec![f32::NAN; 11 * 2];
    view.forward_flat(&x, &mut out).expect("a valid batch");
    let mut expected = [[0.0; 2]; 11];
    net.forward_slice(&x_rows, &mut expected)
        .expect("a valid batch");
    assert_eq!(bits(&out), bits(expected.as_flattened()));

    let grad_output = flat::<f32>(11 * 2, 8);
    let mut grad = vec![0.0; Actor::PARAMS];
    let mut grad_x = vec![f32::NAN; 11 * 3];
    view.backward_flat(&x, &grad_output, &mut grad, Some(&mut grad_x))
        .expect("a valid batch");
    let mut expected_grad = Actor::zeros();
    let mut expected_grad_x = [[0.0; 3]; 11];
    net.backward_slice(
        &x_rows,
        &to_rows::<_, [f32; 2]>(&grad_output),
        &mut expected_grad,
        Some(&mut expected_grad_x),
    )
    .expect("a valid batch");
    assert_eq!(bits(&grad), bits(expected_grad.params()));
    assert_eq!(bits(&grad_x), bits(expected_grad_x.as_flattened()));
}

#[test]
fn a_boxed_network_clones_into_an_independent_copy() {
    let networks: Vec<Box<dyn DynNetwork<f32>>> =
        vec![Box::new(Regressor::seeded(1)), Box::new(Wide::seeded(2))];
    let mut copies = networks.clone();
    for (net, copy) in networks.iter().zip(&mut copies) {
        assert_eq!(copy.architecture(), net.architecture());
        assert_eq!(bits(copy.parameters()), bits(net.parameters()));
        copy.parameters_mut()[0] += 1.0;
        assert_ne!(bits(copy.parameters()), bits(net.parameters()));
    }
    // The copy of a network on the heap trains as the original.
    let (x, y) = (flat::<f32>(4 * 64, 1), flat::<f32>(4 * 2, 2));
    let mut original = networks[1].clone();
    let mut copy = original.clone();
    for net in [&mut original, &mut copy] {
        net.train_step_flat(&x, &y, &mut Sgd::new(0.1))
            .expect("a valid batch");
    }
    assert_eq!(bits(original.parameters()), bits(copy.parameters()));
}

#[test]
fn a_collection_of_f64_networks_works_as_one_of_f32() {
    let mut networks: Vec<Box<dyn DynNetwork<f64>>> = vec![Box::new(Critic::seeded(1))];
    let (x, y) = (flat::<f64>(6 * 2, 1), flat::<f64>(6, 2));
    let before = networks[0].loss_flat(&x, &y).expect("a valid batch");
    for _ in 0..50 {
        networks[0]
            .train_step_flat(&x, &y, &mut Sgd::new(0.1))
            .expect("a valid batch");
    }
    assert!(networks[0].loss_flat(&x, &y).expect("a valid batch") < before);
    assert_eq!(networks[0].architecture().float(), "f64");
}
