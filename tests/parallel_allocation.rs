//! A training step split across threads allocates only on its first call:
//! the shards' gradient buffers are kept, and the threads are a pool built
//! once. On one thread nothing is allocated after that; handing a step to
//! the pool takes one block of rayon's job queue (1.5 kB) every 63 calls,
//! whatever the network. A counting global allocator proves it.
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

/// Calls in the measured window: 20 rounds of three.
const CALLS: usize = 3 * 20;

#[test]
fn split_steps_and_forward_passes_allocate_only_the_first_time() {
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
            for _ in 0..20 {
                net.train_step_slice(&x, &y, &mut adam).unwrap();
                net.train_step(x_array, y_array, &mut sgd);
                net.forward_slice(&x, &mut out).unwrap();
            }
            change = Some(region.change());
        }
        let change = change.unwrap();
        // Rayon's queue takes a block per 63 hand-overs: at most one here.
        let blocks = if threads == 1 { 0 } else { CALLS.div_ceil(63) };
        assert!(
            change.allocations <= blocks
                && change.reallocations == 0
                && change.bytes_allocated <= blocks * 2048,
            "{threads} threads, {CALLS} calls: {change:?}"
        );
    }
}
