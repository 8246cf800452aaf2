//! Batches with enough work run on several threads (feature `parallel`),
//! and the number of threads changes nothing but the time: training steps
//! give the same bits with 1, 2, 3 and 4 threads, at every batch size and
//! for every entry point; their gradients equal the plain reference MLP's;
//! a parallel forward pass equals the single-threaded one row by row; and
//! small batches are left alone.

// Bit-for-bit equality is what these tests check.
#![allow(clippy::float_cmp)]

mod common;

use std::sync::Mutex;

use backprop::parallel::{self, PARALLEL_MULTIPLY_ADDS, worth_splitting};
use backprop::{Adam, Network, Sgd};
use common::{Spec, mlp};

backprop::network! {
    /// Wide enough that a few hundred rows are worth splitting.
    pub Wide = 64 -> tanh(64) -> linear(10); loss = mse
}

backprop::network! {
    /// The same network in `f64`, for the reference comparison.
    pub Wide64 = 64 -> tanh(64) -> linear(10); loss = mse; float = f64
}

const SPEC: Spec = Spec {
    inputs: 64,
    layers: &[("tanh", 64), ("linear", 10)],
};

/// The thread count is global: tests that set it take turns.
static THREADS: Mutex<()> = Mutex::new(());

fn rows<const N: usize>(count: usize, seed: usize) -> Vec<[f32; N]> {
    (0..count)
        .map(|r| core::array::from_fn(|c| ((r * 31 + c * 17 + seed) % 23) as f32 / 23.0 - 0.5))
        .collect()
}

/// Runs `work` once with each thread count and returns the results.
fn with_each_thread_count<R>(mut work: impl FnMut() -> R) -> Vec<(usize, R)> {
    let _turn = THREADS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let results = [1, 2, 3, 4]
        .into_iter()
        .map(|threads| {
            parallel::set_threads(threads);
            (threads, work())
        })
        .collect();
    parallel::set_threads(1);
    results
}

#[test]
fn the_batches_of_this_file_are_worth_splitting_and_small_ones_are_not() {
    assert!(worth_splitting::<Wide>(450));
    assert!(!worth_splitting::<Wide>(64));
    assert_eq!(Wide::MACS, 64 * 64 + 64 * 10);
    const { assert!(450 * Wide::MACS >= PARALLEL_MULTIPLY_ADDS) };
}

#[test]
fn training_steps_give_the_same_bits_with_any_number_of_threads() {
    // 450 rows: shards of 64 and a last, short one; 1000: eight shards.
    for batch in [450, 1000] {
        let (x, y) = (rows::<64>(batch, 1), rows::<10>(batch, 2));
        let results = with_each_thread_count(|| {
            let mut net = Wide::seeded(7);
            let mut adam = Adam::new(1e-3);
            let losses: Vec<f32> = (0..3)
                .map(|_| net.train_step_slice(&x, &y, &mut adam).unwrap())
                .collect();
            (net, losses)
        });
        let (_, (first, first_losses)) = &results[0];
        for (threads, (net, losses)) in &results[1..] {
            assert_eq!(
                losses, first_losses,
                "losses, batch {batch}, {threads} threads"
            );
            assert_eq!(net, first, "parameters, batch {batch}, {threads} threads");
        }
    }
}

#[test]
fn every_entry_point_of_a_large_batch_takes_the_same_split() {
    const B: usize = 512;
    let (x, y) = (rows::<64>(B, 3), rows::<10>(B, 4));
    let x_array: &[[f32; 64]; B] = x.as_slice().try_into().unwrap();
    let y_array: &[[f32; 10]; B] = y.as_slice().try_into().unwrap();
    let results = with_each_thread_count(|| {
        let net = Wide::seeded(5);
        let (loss, grad) = net.gradients(x_array, y_array);
        let mut grad_slice = Wide::zeros();
        let loss_slice = net.gradients_slice(&x, &y, &mut grad_slice).unwrap();
        assert_eq!((loss, &grad), (loss_slice, &grad_slice));

        let mut stepped = net.clone();
        let mut checked = net.clone();
        let mut sliced = net.clone();
        stepped.train_step(x_array, y_array, &mut Sgd::new(0.1));
        checked
            .train_step_checked(x_array, y_array, &mut Sgd::new(0.1))
            .unwrap();
        sliced.train_step_slice(&x, &y, &mut Sgd::new(0.1)).unwrap();
        assert_eq!(stepped, sliced);
        assert_eq!(checked, sliced);
        (loss, grad)
    });
    for (threads, result) in &results[1..] {
        assert_eq!(result, &results[0].1, "{threads} threads");
    }
}

#[test]
fn the_gradient_of_a_split_batch_is_the_reference_mlps() {
    let batch = 700;
    let x64: Vec<[f64; 64]> = rows::<64>(batch, 5)
        .iter()
        .map(|row| row.map(f64::from))
        .collect();
    let y64: Vec<[f64; 10]> = rows::<10>(batch, 6)
        .iter()
        .map(|row| row.map(f64::from))
        .collect();
    assert!(worth_splitting::<Wide64>(batch));
    let net = Wide64::seeded(9);
    let reference = mlp::evaluate(
        &SPEC.architecture(),
        net.params(),
        &common::to_vecs(&x64),
        &common::to_vecs(&y64),
    );
    for (_, (loss, grad)) in with_each_thread_count(|| {
        let mut grad = Wide64::zeros();
        let loss = net.gradients_slice(&x64, &y64, &mut grad).unwrap();
        (loss, grad)
    }) {
        common::assert_close(loss, reference.loss, 1e-14, 1e-12, "loss");
        common::assert_all_close(
            grad.params(),
            &reference.param_gradients,
            1e-14,
            1e-10,
            "∂L/∂θ",
        );
    }
}

#[test]
fn a_parallel_forward_pass_equals_the_single_threaded_one() {
    let x = rows::<64>(1_000, 7);
    let net = Wide::seeded(2);
    // 40 rows at a time are too few to split.
    assert!(!worth_splitting::<Wide>(40));
    let mut serial = vec![[0.0; 10]; x.len()];
    for (x, out) in x.chunks(40).zip(serial.chunks_mut(40)) {
        net.forward_slice(x, out).unwrap();
    }
    for (threads, out) in with_each_thread_count(|| {
        let mut out = vec![[0.0; 10]; x.len()];
        net.forward_slice(&x, &mut out).unwrap();
        out
    }) {
        assert_eq!(out, serial, "{threads} threads");
    }
}

#[test]
fn a_bad_large_batch_is_refused_and_changes_nothing() {
    let (mut x, y) = (rows::<64>(600, 8), rows::<10>(600, 9));
    let mut net = Wide::seeded(4);
    let before = net.clone();
    assert!(
        net.train_step_slice(&x, &y[..599], &mut Sgd::new(0.1))
            .is_err()
    );
    x[517][3] = f32::NAN;
    let error = net
        .train_step_slice_checked(&x, &y, &mut Sgd::new(0.1))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "input row 517, column 3 is NaN or infinite; use finite values"
    );
    assert_eq!(net, before);
}

#[test]
fn the_thread_count_comes_from_the_environment() {
    // The variable is read once per process, so a child process reads it.
    if let Ok(expected) = std::env::var("BACKPROP_TEST_EXPECTED_THREADS") {
        assert_eq!(parallel::threads().to_string(), expected);
        return;
    }
    for (value, expected) in [("3", "3".to_owned()), ("0", cores()), ("many", cores())] {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "the_thread_count_comes_from_the_environment"])
            .env("BACKPROP_THREADS", value)
            .env("BACKPROP_TEST_EXPECTED_THREADS", &expected)
            .status()
            .unwrap();
        assert!(status.success(), "BACKPROP_THREADS={value}");
    }
}

fn cores() -> String {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .to_string()
}
