//! W7, every core: training steps with 1 and 2 threads (feature
//! `parallel`) in one interleaved run, for W1 and W2 at their batches
//! (below the work threshold, so both must run as before) and W3 and W4 at
//! batches of 128 and 1024; beside them the step that does not split the
//! batch at all (`unsplit`), which is what one thread costs without the
//! feature. Then a forward pass of 100,000 rows of W2 with 1 and 2 threads;
//! an ensemble of 8 W2 networks trained on one batch of 32 with 1 and 2
//! threads, beside 8 networks stepped in a loop; and what fusing the
//! ensemble's first layers into one product would gain: the 8 products
//! `X·W¹ₖ` against one `X·[W¹₁ … W¹₈]`. The printed ratio is the 2-thread
//! time over the 1-thread one's (the fused product's over the separate
//! ones').

mod baselines;

use std::hint::black_box;

use backprop::ensemble::Ensemble;
use backprop::runtime::Store;
use backprop::runtime::kernels;
use backprop::{Network, Optimizer, Sgd, parallel};
use baselines::contest::Contest;
use baselines::{LR, classes, inputs};
use criterion::{Criterion, criterion_group, criterion_main};

backprop::network! {
    /// The seed's network (W1).
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

backprop::network! {
    /// The control network (W2).
    pub Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse
}

backprop::network! {
    /// The digits network (W3).
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

backprop::network! {
    /// The mnist network (W4).
    pub Mnist = 784 -> relu(128) -> softmax(10); loss = cross_entropy
}

/// `train_step::<B>` with 1 and 2 threads, and the unsplit step, each on
/// its own copy of `start`.
fn contest<N: Network<Float = f32>, const B: usize>(
    c: &mut Criterion,
    name: &str,
    start: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
) {
    let mut contest =
        Contest::new(format!("W7 {name} train_step batch {B}")).compare("2 threads", &["1 thread"]);
    for (label, threads) in [("1 thread", 1), ("2 threads", 2)] {
        let (mut network, mut sgd) = (start.clone(), Sgd::new(f64::from(LR)));
        contest.add(label, move || {
            parallel::set_threads(threads);
            network.train_step(black_box(x), black_box(y), &mut sgd)
        });
    }
    let (mut network, mut sgd) = (start.clone(), Sgd::new(f64::from(LR)));
    let mut grad = N::zeros();
    contest.add("unsplit", move || {
        let loss = network.backprop(x, y, B, B, Some((&mut grad, Store::Overwrite)), None);
        sgd.step(network.params_mut(), grad.params());
        loss
    });
    contest.run(c, |_| {});
}

fn train_steps(c: &mut Criterion) {
    let (x, y) = (inputs::<4, 2>(1), inputs::<4, 1>(2));
    contest(c, "W1 seed", &Xor::seeded(1), &x, &y);
    let (x, y) = (inputs::<32, 8>(1), inputs::<32, 2>(2));
    contest(c, "W2 control", &Control::seeded(1), &x, &y);
    let (x, y) = (inputs::<128, 64>(1), classes::<128, 10>());
    contest(c, "W3 digits", &Digits::seeded(1), &x, &y);
    let (x, y) = (inputs::<1024, 64>(1), classes::<1024, 10>());
    contest(c, "W3 digits", &Digits::seeded(1), &x, &y);
    let (x, y) = (inputs::<128, 784>(1), classes::<128, 10>());
    contest(c, "W4 mnist", &Mnist::seeded(1), &x, &y);
    let (x, y) = (inputs::<1024, 784>(1), classes::<1024, 10>());
    contest(c, "W4 mnist", &Mnist::seeded(1), &x, &y);
}

/// Where splitting starts to pay: W3's gradient of 64 to 512 rows, unsplit
/// on one thread and split on two, whatever `PARALLEL_MULTIPLY_ADDS` says.
fn threshold(c: &mut Criterion) {
    let (x, y) = (inputs::<512, 64>(1), classes::<512, 10>());
    let network = Digits::seeded(1);
    for rows in [64, 128, 256, 512] {
        let (x, y, network) = (&x[..rows], &y[..rows], &network);
        let mut contest = Contest::new(format!(
            "W7 threshold: W3 digits gradients_slice {rows} rows ({} multiply-adds)",
            rows * Digits::MACS
        ))
        .compare("split, 2 threads", &["unsplit"]);
        let mut grad = Digits::zeros();
        contest.add("unsplit", move || {
            parallel::set_threads(1);
            let mut sum = 0.0;
            // Below the threshold gradients_slice does not split; above it,
            // halves below it are summed.
            for (x, y) in x.chunks(128).zip(y.chunks(128)) {
                sum += network.gradients_slice(x, y, &mut grad).expect("a batch");
            }
            sum
        });
        let mut grad = Digits::zeros();
        contest.add("split, 2 threads", move || {
            parallel::set_threads(2);
            parallel::gradients_split(network, x, y, &mut grad)
        });
        contest.run(c, |_| {});
    }
}

fn inference(c: &mut Criterion) {
    const ROWS: usize = 100_000;
    let x = inputs::<ROWS, 8>(3);
    let network = Control::seeded(1);
    let mut contest =
        Contest::new("W7 W2 control forward_slice 100000 rows").compare("2 threads", &["1 thread"]);
    for (label, threads) in [("1 thread", 1), ("2 threads", 2)] {
        let (x, network) = (&x, &network);
        let mut out = vec![[0.0; 2]; ROWS];
        contest.add(label, move || {
            parallel::set_threads(threads);
            network
                .forward_slice(black_box(&x[..]), &mut out)
                .map(|()| out[0])
        });
    }
    contest.run(c, |_| {});
}

/// 8 × W2 on one batch of 32: the ensemble with 1 and 2 threads, and 8
/// networks stepped one after the other.
fn ensemble(c: &mut Criterion) {
    const K: usize = 8;
    let (x, y) = (inputs::<32, 8>(1), inputs::<32, 2>(2));
    let (x, y) = (&*x, &*y);
    let mut contest = Contest::new("W7 ensemble: 8 × W2 control train_step batch 32")
        .compare("2 threads", &["1 thread"]);
    for (label, threads) in [("1 thread", 1), ("2 threads", 2)] {
        let mut members = Ensemble::<Control>::seeded(K, 1);
        let mut sgd = vec![Sgd::new(f64::from(LR)); K];
        let mut losses = [0.0; K];
        contest.add(label, move || {
            parallel::set_threads(threads);
            members
                .train_step(x, y, &mut sgd, &mut losses)
                .map(|()| losses[0])
        });
    }
    let mut networks: Vec<Control> = (0..K as u64).map(Control::seeded).collect();
    let mut sgd = Sgd::new(f64::from(LR));
    contest.add("loop", move || {
        networks
            .iter_mut()
            .map(|network| network.train_step(x, y, &mut sgd))
            .sum::<f32>()
    });
    contest.run(c, |_| {});

    // The first layers alone: 8 products of 32 × 8 × 32, or one of 32 × 8 × 256.
    let weights: Vec<[[f32; 32]; 8]> = (0..K)
        .map(|k| {
            core::array::from_fn(|i| core::array::from_fn(|j| ((i * 32 + j + k) % 7) as f32 / 7.0))
        })
        .collect();
    let fused: [[f32; 32 * K]; 8] =
        core::array::from_fn(|i| core::array::from_fn(|j| weights[j / 32][i][j % 32]));
    let mut contest =
        Contest::new("W7 ensemble: 8 × W2 first layers, batch 32").compare("fused", &["separate"]);
    let (bias, mut z) = ([0.0; 32], [[0.0; 32]; 32]);
    contest.add("separate", move || {
        for w in &weights {
            kernels::affine(black_box(x), w, &bias, &mut z);
            black_box(&z);
        }
    });
    let bias = [0.0; 32 * K];
    let mut z: Box<[[f32; 32 * K]; 32]> = vec![[0.0; 32 * K]; 32]
        .into_boxed_slice()
        .try_into()
        .expect("32 rows");
    contest.add("fused", move || {
        kernels::affine(black_box(x), &fused, &bias, &mut z);
        black_box(&z);
    });
    contest.run(c, |_| {});
}

criterion_group! {
    name = w7;
    config = baselines::criterion();
    targets = threshold, train_steps, inference, ensemble
}
criterion_main!(w7);
