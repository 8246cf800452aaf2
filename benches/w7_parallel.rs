//! W7, every core: training steps with 1 and 2 threads (feature
//! `parallel`) in one interleaved run, for W1 and W2 at their batches
//! (below the work threshold, so both must run as before) and W3 and W4 at
//! batches of 128 and 1024; beside them the step that does not split the
//! batch at all (`unsplit`), which is what one thread costs without the
//! feature. Then a forward pass of 100,000 rows of W2 with 1 and 2 threads.
//! The printed ratio is the 2-thread step's time over the 1-thread one's.

mod baselines;

use std::hint::black_box;

use backprop::runtime::Store;
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

criterion_group! {
    name = w7;
    config = baselines::criterion();
    targets = train_steps, inference
}
criterion_main!(w7);
