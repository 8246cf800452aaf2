//! Training in batches whose size is chosen at run time allocates only
//! when a run starts: the gather buffers of `shuffled_batches` are reused
//! from batch to batch and, through `restart`, from epoch to epoch, and
//! `DynamicTrainer` allocates as much for one batch per epoch as for one
//! per sample. A counting global allocator proves it.
//!
//! This file holds one test only: the counter is global, and tests running
//! on parallel threads would count each other's allocations.

use std::alloc::System;
use std::num::NonZeroUsize;

use backprop::data::{DataSet, DynamicTrainer, OnNonFinite};
use backprop::{Adam, Network};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

backprop::network! {
    /// The control workload: parameters inline.
    pub Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse
}

backprop::network! {
    /// The digits workload: parameters on the heap.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

/// Allocations (and reallocations) made by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

/// `n` rows of `N` values in `[0, 1)`.
fn rows<const N: usize>(n: usize, seed: usize) -> Vec<[f32; N]> {
    (0..n)
        .map(|r| core::array::from_fn(|c| ((r * 13 + c * 7 + seed) % 11) as f32 / 11.0))
        .collect()
}

/// Once the batches, the network's gradient buffer and Adam's state exist,
/// whole epochs of `restart`, `next_batch` and `train_step_slice` allocate
/// nothing; and a `DynamicTrainer` run's allocations do not depend on how
/// many steps it takes.
fn check<N: Network<Float = f32>>(name: &str, x: &[N::Input], y: &[N::Target]) {
    let data = DataSet::new(x, y).unwrap();
    let mut network = N::zeros();
    let mut adam = Adam::new(0.001);
    let mut batches = data.shuffled_batches(NonZeroUsize::new(16).unwrap(), 3, 0);
    // One warm-up epoch: the gradient buffer and Adam's moments.
    while let Some((x, y)) = batches.next_batch() {
        network.train_step_slice(x, y, &mut adam).unwrap();
    }
    let counted = allocations(|| {
        for epoch in 1..4 {
            batches.restart(3, epoch);
            while let Some((x, y)) = batches.next_batch() {
                let loss = network.train_step_slice(x, y, &mut adam).unwrap();
                std::hint::black_box(loss);
                let loss = network.train_step_slice_checked(x, y, &mut adam).unwrap();
                std::hint::black_box(loss);
            }
        }
    });
    assert_eq!(
        counted, 0,
        "{name}: epochs of run-time batches allocated {counted} times"
    );

    // A run of one epoch: one step of every sample, or one step of all.
    let run = |batch_size: usize, network: &mut N, adam: &mut Adam<Vec<f32>>| {
        let trainer = DynamicTrainer::new(1, NonZeroUsize::new(batch_size).unwrap());
        allocations(|| {
            let losses = trainer.run(network, adam, &data);
            std::hint::black_box(losses);
        })
    };
    let one_per_sample = run(1, &mut network, &mut adam);
    let one_for_all = run(x.len(), &mut network, &mut adam);
    assert_eq!(
        one_per_sample,
        one_for_all,
        "{name}: {} steps allocated {one_per_sample} times, one step {one_for_all}",
        x.len()
    );
    // The order, the two gather buffers and the losses; a heap network
    // may take a gradient buffer.
    assert!(
        one_per_sample <= 5,
        "{name}: a run allocated {one_per_sample} times"
    );
    let checked = allocations(|| {
        let trainer = DynamicTrainer::new(1, NonZeroUsize::new(1).unwrap());
        let training = trainer.run_checked(&mut network, &mut adam, &data, OnNonFinite::Skip);
        std::hint::black_box(training.unwrap());
    });
    assert!(
        checked <= 6,
        "{name}: a checked run of {} steps allocated {checked} times",
        x.len()
    );
}

#[test]
fn run_time_batches_allocate_only_when_a_run_starts() {
    check::<Control>("Control", &rows::<8>(100, 0), &rows::<2>(100, 5));
    check::<Digits>("Digits", &rows::<64>(100, 0), &rows::<10>(100, 5));
}
