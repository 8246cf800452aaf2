//! The baselines every benchmark compares the generated networks with, run
//! in the same process (`benches/tests/baselines.rs` checks that they
//! compute the same losses and gradients), and the benchmarks' shared set-up.

// Each benchmark uses some of the shared set-up; batches are boxed on
// purpose (MNIST's input is 401 KB).
#![allow(dead_code, clippy::unnecessary_box_returns)]

pub(crate) mod contest;
pub(crate) mod dynamic;
pub(crate) mod expert;
pub(crate) mod ndarray_gemm;
pub(crate) mod recurrent;

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use ndarray::Array2;

use contest::Contest;

use ndarray_gemm::{Activation, Loss};

/// Learning rate of every workload's SGD step.
pub(crate) const LR: f32 = 0.01;

/// Short warm-up and measurement: the three implementations of a workload
/// run one after the other in one process, so their ratio holds even on a
/// busy machine.
#[must_use]
pub(crate) fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
}

/// A batch of `B` rows of `N` inputs in `[0, 1)`, on the heap: MNIST's is 401 KB.
#[must_use]
pub(crate) fn inputs<const B: usize, const N: usize>(seed: usize) -> Box<[[f32; N]; B]> {
    let rows: Vec<[f32; N]> = (0..B)
        .map(|r| core::array::from_fn(|c| ((r * 31 + c * 7 + seed) % 97) as f32 / 97.0))
        .collect();
    rows.into_boxed_slice().try_into().expect("B rows")
}

/// One-hot targets of `B` rows, class `row % N`.
#[must_use]
pub(crate) fn classes<const B: usize, const N: usize>() -> Box<[[f32; N]; B]> {
    let rows: Vec<[f32; N]> = (0..B).map(|r| backprop::one_hot(r % N)).collect();
    rows.into_boxed_slice().try_into().expect("B rows")
}

/// The same rows as an `ndarray` matrix.
#[must_use]
pub(crate) fn matrix<const N: usize>(rows: &[[f32; N]]) -> Array2<f32> {
    Array2::from_shape_vec((rows.len(), N), rows.as_flattened().to_vec()).expect("rows × N")
}

/// Adds the train steps of the two baselines shaped at run time to
/// `contest`: `ndarray` (on `matrixmultiply`) and `dynamic`, both starting
/// from `params` (the generated network's) on the batch `x`, `y`.
pub(crate) fn add_run_time_shaped<const I: usize, const O: usize>(
    contest: &mut Contest<'_>,
    widths: &[usize],
    activations: &[Activation],
    loss: Loss,
    params: &[f32],
    (x, y): (&[[f32; I]], &[[f32; O]]),
) {
    let rows = x.len();
    let mut gemm = ndarray_gemm::Mlp::new(widths, activations, loss, params, rows);
    let (xm, ym) = (matrix(x), matrix(y));
    contest.add("ndarray", move || {
        gemm.train_step(black_box(xm.view()), black_box(ym.view()), LR)
    });

    let mut plain = dynamic::Mlp::new(widths, activations, loss, params, rows);
    let (xf, yf) = (x.as_flattened().to_vec(), y.as_flattened().to_vec());
    contest.add("dynamic", move || {
        plain.train_step(black_box(&xf), black_box(&yf), LR)
    });
}
