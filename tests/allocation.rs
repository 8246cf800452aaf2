//! Once its buffers exist, a network does not touch the heap: forward
//! passes, gradients into an existing buffer and training steps allocate
//! nothing, for networks on the stack and on the heap alike, and gradient
//! checks of a network on the stack allocate nothing either, and neither do
//! the same calls through the object-safe view `DynNetwork`. A counting
//! global allocator proves it.
//!
//! This file holds one test only: the counter is global, and tests running
//! on parallel threads would count each other's allocations.

use std::alloc::System;

use backprop::loss::{Huber, Loss, Reduction, Terms, cross_entropy_labels};
use backprop::{BatchError, DynNetwork, Network, Sgd};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

backprop::network! {
    /// The seed's network (W1): parameters inline.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

backprop::network! {
    /// The control workload (W2): parameters inline.
    pub Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse
}

backprop::network! {
    /// The digits workload (W3): parameters on the heap.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

/// Allocations (and reallocations) made by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

fn rows<const B: usize, const N: usize>(seed: usize) -> [[f32; N]; B] {
    core::array::from_fn(|r| core::array::from_fn(|c| ((r * 13 + c * 7 + seed) % 11) as f32 / 11.0))
}

/// After one warm-up step (which may allocate a large network's gradient
/// buffer), `forward`, `gradients_slice`, `backward_into`,
/// `backward_slice`, a `Trace`, `train_step` and `train_step_slice` allocate nothing.
fn check<N: Network<Float = f32>, const B: usize>(
    name: &str,
    x: &[N::Input; B],
    y: &[N::Target; B],
    grad_output: &[N::Output; B],
) {
    let mut network = N::zeros();
    let mut grad = N::zeros();
    let mut sgd = Sgd::new(0.01);
    let mut momentum = Sgd::with_state(0.01, vec![0.0_f32; N::PARAMS]).momentum(0.9);
    network.train_step(x, y, &mut sgd);
    network.train_step(x, y, &mut momentum);
    let counted = allocations(|| {
        let out = network.forward(x);
        std::hint::black_box(out);
        let loss = network.loss(x, y);
        std::hint::black_box(loss);
        network
            .gradients_slice(x, y, &mut grad)
            .expect("a valid batch");
        // A gradient the caller supplies, at compile-time and run-time
        // batch sizes.
        network.backward_into(x, grad_output, &mut grad, None);
        let trace = network.trace(x);
        std::hint::black_box(trace.output());
        trace.backward_into(grad_output, &mut grad, None);
        network
            .backward_slice(x, grad_output, &mut grad, None)
            .expect("a valid batch");
        for _ in 0..3 {
            network.train_step(x, y, &mut sgd);
            network.train_step(x, y, &mut momentum);
            network.train_step_checked(x, y, &mut sgd).expect("finite");
            network
                .train_step_slice(x, y, &mut sgd)
                .expect("a valid batch");
        }
    });
    assert_eq!(counted, 0, "{name}: {counted} allocations");
}

/// The same through `&mut dyn DynNetwork` on flat buffers: forward passes,
/// losses, training steps (after a warm-up step) and refused calls, and for
/// a network on the stack `gradients_flat` and `backward_flat`, which a
/// network on the heap gives a new gradient each.
fn check_view<N: Network<Float = f32>>(name: &str, rows: usize) {
    let mut network = N::zeros();
    let view: &mut dyn DynNetwork<f32> = &mut network;
    let x = vec![0.25_f32; rows * N::INPUTS];
    let mut y = vec![0.0_f32; rows * N::OUTPUTS];
    for row in y.chunks_mut(N::OUTPUTS) {
        row[0] = 1.0;
    }
    let mut out = vec![0.0_f32; rows * N::OUTPUTS];
    let mut grad = vec![0.0_f32; N::PARAMS];
    let mut grad_x = vec![0.0_f32; rows * N::INPUTS];
    let mut sgd = Sgd::new(0.01);
    let mut momentum = Sgd::with_state(0.01, vec![0.0_f32; N::PARAMS]).momentum(0.9);
    view.train_step_flat(&x, &y, &mut momentum)
        .expect("a valid batch");
    let on_stack = N::PARAM_BYTES <= 16 * 1024;
    let counted = allocations(|| {
        view.forward_flat(&x, &mut out).expect("a valid batch");
        std::hint::black_box(view.loss_flat(&x, &y).expect("a valid batch"));
        if on_stack {
            std::hint::black_box(
                view.gradients_flat(&x, &y, &mut grad)
                    .expect("a valid batch"),
            );
            view.backward_flat(&x, &out, &mut grad, Some(&mut grad_x))
                .expect("a valid batch");
        }
        for _ in 0..3 {
            view.train_step_flat(&x, &y, &mut sgd)
                .expect("a valid batch");
            view.train_step_flat(&x, &y, &mut momentum)
                .expect("a valid batch");
            view.train_step_flat_checked(&x, &y, &mut momentum)
                .expect("finite");
        }
        let ragged = view.loss_flat(&x[1..], &y);
        assert!(matches!(ragged, Err(BatchError::Ragged { .. })));
        let short = view.gradients_flat(&x, &y, &mut grad[1..]);
        assert!(matches!(short, Err(BatchError::GradientLength { .. })));
    });
    assert_eq!(
        counted, 0,
        "{name} through DynNetwork: {counted} allocations"
    );
}

#[test]
fn training_steps_do_not_allocate_once_buffers_exist() {
    check::<Xor, 4>("Xor", &rows(1), &rows(2), &rows(2));
    check::<Xor, 1>("Xor, batch 1", &rows(1), &rows(2), &rows(2));
    check::<Control, 32>("Control", &rows(3), &rows(4), &rows(4));
    let digits_y: [[f32; 10]; 64] = core::array::from_fn(|r| backprop::one_hot(r % 10));
    check::<Digits, 64>("Digits", &rows(5), &digits_y, &digits_y);
    check_view::<Xor>("Xor", 5);
    check_view::<Control>("Control", 37);
    check_view::<Digits>("Digits", 64);

    // A network on the stack computes its gradient without the heap too.
    let x: [[f32; 8]; 32] = rows(6);
    let y: [[f32; 2]; 32] = rows(7);
    let network = Control::seeded(1);
    let counted = allocations(|| {
        std::hint::black_box(network.gradients(&x, &y));
    });
    assert_eq!(counted, 0, "Control::gradients: {counted} allocations");

    // The batch losses of a loss of your own: a masked, weighted Huber on
    // the taken action and cross-entropy against class labels.
    let q: [[f32; 2]; 32] = rows(8);
    let taken: [[bool; 2]; 32] = core::array::from_fn(|r| [r % 2 == 0, r % 2 == 1]);
    let weights = [0.5_f32; 32];
    let labels: [usize; 32] = core::array::from_fn(|r| r % 2);
    let mut grad_q = [[0.0_f32; 2]; 32];
    let counted = allocations(|| {
        let terms = Terms::new(Reduction::Mean).mask(&taken).weights(&weights);
        let huber = Huber::default().evaluate(&q, &y, terms, Some(&mut grad_q));
        let row_terms = Terms::new(Reduction::Sum);
        let ce = cross_entropy_labels(&q, &labels, 0.1, row_terms, Some(&mut grad_q));
        std::hint::black_box((huber.expect("a valid batch"), ce.expect("a valid batch")));
    });
    assert_eq!(counted, 0, "batch losses: {counted} allocations");

    // Nor do gradient checks of a network on the stack, which perturb a copy.
    let (x, y): ([[f32; 2]; 4], [[f32; 1]; 4]) = (rows(9), rows(10));
    let network = Xor::seeded(2);
    let (_, grad) = network.gradients(&x, &y);
    let counted = allocations(|| {
        std::hint::black_box(backprop::gradcheck::check(&network, &x, &y));
        std::hint::black_box(backprop::gradcheck::check_own_loss(
            &network,
            &x,
            |out, grad| {
                *grad = *out;
                out.as_flattened().iter().map(|o| o * o / 2.0).sum()
            },
        ));
        std::hint::black_box(backprop::gradcheck::check_gradient(
            &network,
            &grad,
            |net| net.loss(&x, &y),
        ));
    });
    assert_eq!(counted, 0, "gradcheck: {counted} allocations");
}
