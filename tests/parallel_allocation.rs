//! A training step split across threads allocates nothing that grows with
//! the network or the batch after its first call: the shards' gradient
//! buffers are kept, and the threads are a pool built once. On one thread
//! nothing is allocated after that. With more, a split step hands each
//! helper thread two small rayon jobs (the shards, then their sum) and a
//! split forward pass one, each allocated and freed within the call, and
//! handing jobs to the pool takes one block of rayon's job queue (1.5 kB)
//! every 63 jobs. A counting global allocator proves it.
//!
//! This file holds one test only: the counter is global.

use std::alloc::System;

use backprop::{Adam, Network, Sgd, parallel};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

backprop::network! {
    /// Wide enough that a few hundred rows are split.
    pub Wide = 64 -> relu(64) -> softmax(10); loss = cross_entropy
}

/// Rounds of three calls (two split steps and a forward pass) in the
/// measured window.
const ROUNDS: usize = 20;

/// Most bytes of one helper's job: a closure of two references.
const JOB_BYTES: usize = 64;

#[test]
fn split_steps_allocate_nothing_that_grows_after_the_first() {
    const B: usize = 512;
    assert!(parallel::worth_splitting::<Wide>(B));
    let x: Vec<[f32; 64]> = (0..B)
        .map(|r| core::array::from_fn(|c| ((r * 7 + c) % 13) as f32 / 13.0))
        .collect();
    let y: Vec<[f32; 10]> = (0..B).map(|r| backprop::one_hot(r % 10)).collect();
    let x_array: &[[f32; 64]; B] = x.as_slice().try_into().unwrap();
    let y_array: &[[f32; 10]; B] = y.as_slice().try_into().unwrap();
    let mut out = vec![[0.0; 10]; B];
    for threads in [1, 2] {
        parallel::set_threads(threads);
        let mut net = Wide::seeded(1);
        let mut adam = Adam::new(1e-3);
        let mut sgd = Sgd::new(0.01);
        // Warm-up: the pool, the shards, Adam's moments.
        net.train_step_slice(&x, &y, &mut adam).unwrap();
        net.train_step(x_array, y_array, &mut sgd);
        net.forward_slice(&x, &mut out).unwrap();
        // Two windows: anything rayon's threads set up once falls in the first.
        let mut change = None;
        for _ in 0..2 {
            let region = Region::new(GLOBAL);
            for _ in 0..ROUNDS {
                net.train_step_slice(&x, &y, &mut adam).unwrap();
                net.train_step(x_array, y_array, &mut sgd);
                net.forward_slice(&x, &mut out).unwrap();
            }
            change = Some(region.change());
        }
        let change = change.unwrap();
        // Per helper, two jobs for each of the two steps and one for the
        // forward pass; the queue takes a block per 63 jobs.
        let jobs = (2 * 2 + 1) * ROUNDS * (threads - 1);
        let blocks = jobs.div_ceil(63);
        assert!(
            change.allocations <= jobs + blocks
                && change.reallocations == 0
                && change.bytes_allocated <= jobs * JOB_BYTES + blocks * 2048,
            "{threads} threads, {ROUNDS} rounds: {change:?}"
        );
    }
}
