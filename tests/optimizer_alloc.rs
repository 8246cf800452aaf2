//! No optimizer step allocates after the first: a counting global allocator
//! watches every step. The allocator counts the whole process, so this file
//! holds a single test, and nothing else runs while it measures.

use std::alloc::System;

use backprop::{Adam, AdamW, Network, Optimizer, Sgd};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

backprop::network! {
    /// A small network trained by every optimizer below.
    Control = 4 -> tanh(8) -> linear(2); loss = mse
}

/// Allocations made by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    region.change().allocations
}

/// The fewest allocations of three calls of `f`, a step after the first.
/// The allocator counts every thread, and on a loaded machine the test
/// harness's own thread has been seen to allocate while a step ran; an
/// allocation the step makes is in every call.
fn steady_allocations(mut f: impl FnMut()) -> usize {
    (0..3).map(|_| allocations(&mut f)).min().unwrap_or(0)
}

/// Allocations of the first step and the most of any of the nine after it
/// (three times the fewest of three).
fn steps_allocate(optimizer: &mut dyn Optimizer<f32>) -> (usize, usize) {
    let mut params = vec![0.5_f32; 64];
    let grads: Vec<f32> = (0..64).map(|i| (i as f32 - 32.0) / 16.0).collect();
    let first = allocations(|| optimizer.step(&mut params, &grads));
    let later = (0..3)
        .map(|_| steady_allocations(|| optimizer.step(&mut params, &grads)))
        .max()
        .unwrap_or(0);
    (first, later)
}

#[test]
fn steps_after_the_first_allocate_nothing() {
    // State in `Vec`s: one allocation per buffer, on the first step only.
    let mut sgd = Sgd::new(0.1);
    assert_eq!(steps_allocate(&mut sgd), (0, 0), "plain SGD keeps no state");
    let mut momentum = Sgd::new(0.1)
        .momentum(0.9)
        .nesterov(true)
        .weight_decay(1e-3);
    assert_eq!(steps_allocate(&mut momentum), (1, 0), "SGD with momentum");
    let mut adam = Adam::new(1e-3).weight_decay(1e-2);
    assert_eq!(steps_allocate(&mut adam), (2, 0), "Adam");
    let mut adamw = AdamW::new(1e-3);
    assert_eq!(steps_allocate(&mut adamw), (2, 0), "AdamW");
    let mut amsgrad = AdamW::new(1e-3).amsgrad(Vec::new());
    assert_eq!(steps_allocate(&mut amsgrad), (3, 0), "AdamW with amsgrad");

    // State in arrays: no allocation at all.
    let mut sgd = Sgd::with_state(0.1, [0.0; 64]).momentum(0.9);
    assert_eq!(steps_allocate(&mut sgd), (0, 0), "SGD in an array");
    let mut adam = Adam::with_state(1e-3, [0.0; 64], [0.0; 64]);
    assert_eq!(steps_allocate(&mut adam), (0, 0), "Adam in arrays");

    // Whole training steps of a generated network.
    let mut network = Control::seeded(1);
    let x = [[0.1_f32, -0.2, 0.3, 0.4]; 16];
    let y = [[1.0_f32, -1.0]; 16];
    let mut adam = Adam::new(1e-2);
    let first = allocations(|| {
        network.train_step(&x, &y, &mut adam);
    });
    assert_eq!(first, 2, "Adam's moments, on the first training step");
    for _ in 0..3 {
        let later = steady_allocations(|| {
            network.train_step(&x, &y, &mut adam);
        });
        assert_eq!(later, 0, "a training step after the first");
    }
}
