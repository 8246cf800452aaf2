//! Recurrent networks do not touch the heap once their tape exists:
//! streaming steps (one stream and `B`), windows of the forward pass,
//! truncated-BPTT training steps (plain SGD and Adam with its state),
//! gradients into an existing buffer and the backward pass from supplied
//! output gradients allocate nothing, for a network whose parameters are
//! inline and for one whose parameters live on the heap. A counting global
//! allocator proves it.
//!
//! One test only: the counter is global, and tests on parallel threads
//! would count each other's allocations.

use std::alloc::System;

use backprop::sequence::{Recurrent, StepTape, Targets};
use backprop::{Adam, Row, Sgd};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

backprop::network! {
    /// The reference audio size: one LSTM of 16 units.
    pub Amp = 1 -> lstm(16) -> linear(1); loss = mse
}

backprop::network! {
    /// Two recurrent layers of 32: parameters on the heap.
    pub Deep = 2 -> gru(32) -> lstm(32) -> tanh(8) -> linear(2); loss = mse
}

fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

fn steps<R: Row<f32>, const B: usize>(count: usize, seed: usize) -> Vec<[R; B]> {
    (0..count)
        .map(|t| {
            std::array::from_fn(|b| {
                let mut row = R::ZERO;
                for (i, v) in row.as_mut().iter_mut().enumerate() {
                    *v = ((t * 7 + b * 5 + i * 3 + seed) % 13) as f32 / 13.0 - 0.5;
                }
                row
            })
        })
        .collect()
}

fn check<N: Recurrent<Float = f32> + Seeded>(name: &str) {
    const B: usize = 4;
    const T: usize = 64;
    let xs = steps::<N::Input, B>(T, 1);
    let ys = steps::<N::Target, B>(T, 2);
    let grad_ys = steps::<N::Output, B>(T, 3);
    let mut outputs = vec![[N::Output::ZERO; B]; T];
    let mut tape = vec![StepTape::<N, B>::ZERO; T];
    let mut grad_xs = vec![[N::Input::ZERO; B]; T];
    let mut network = N::seeded_network();
    let mut grad = N::zeros();
    let mut sgd = Sgd::new(0.01);
    let mut adam = Adam::new(1e-3);
    let mut states = [N::State::default(); B];
    // Warm-up: a network on the heap keeps its gradient buffer after its
    // first step; Adam's moments are made at its first.
    network
        .train_window(
            &mut states,
            &xs,
            Targets::EveryStep(&ys),
            &mut tape,
            &mut sgd,
        )
        .unwrap();
    network
        .train_window(
            &mut states,
            &xs,
            Targets::EveryStep(&ys),
            &mut tape,
            &mut adam,
        )
        .unwrap();

    let count = allocations(|| {
        let mut state = N::State::default();
        for x in &xs {
            std::hint::black_box(network.step(&mut state, &x[0]));
            std::hint::black_box(network.step_batch(&mut states, x));
        }
        network
            .forward_sequence(&mut states, &xs, &mut outputs)
            .unwrap();
        for _ in 0..3 {
            network
                .train_window(
                    &mut states,
                    &xs,
                    Targets::EveryStep(&ys),
                    &mut tape,
                    &mut sgd,
                )
                .unwrap();
            network
                .train_window(
                    &mut states,
                    &xs,
                    Targets::LastStep(&ys[T - 1]),
                    &mut tape,
                    &mut adam,
                )
                .unwrap();
        }
        network
            .sequence_gradients(
                &mut states,
                &xs,
                Targets::EveryStep(&ys),
                &mut tape,
                &mut grad,
            )
            .unwrap();
        network
            .sequence_forward(&mut states, &xs, &mut outputs, &mut tape)
            .unwrap();
        let mut grad_states = [N::State::default(); B];
        network
            .sequence_backward(
                &xs,
                &tape,
                &grad_ys,
                &mut grad_states,
                &mut grad,
                Some(&mut grad_xs),
            )
            .unwrap();
    });
    assert_eq!(count, 0, "{name}: {count} allocations after the warm-up");
}

/// `seeded(1)` through the trait, for the generic check.
trait Seeded {
    fn seeded_network() -> Self;
}

impl Seeded for Amp {
    fn seeded_network() -> Self {
        Self::seeded(1)
    }
}

impl Seeded for Deep {
    fn seeded_network() -> Self {
        Self::seeded(1)
    }
}

#[test]
fn recurrent_networks_do_not_allocate_once_their_tape_exists() {
    check::<Amp>("Amp");
    check::<Deep>("Deep");
}
