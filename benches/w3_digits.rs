//! W3, digits: 64 → relu(128) → softmax(10), `cross_entropy`, one SGD
//! step on a batch of 64.

mod baselines;

use std::hint::black_box;

use backprop::Network;
use backprop::Sgd;
use baselines::contest::Contest;
use baselines::expert::{Mlp2, Relu, SoftmaxCrossEntropy};
use baselines::ndarray_gemm::{Activation, Loss};
use baselines::{LR, add_run_time_shaped, classes, inputs};
use criterion::{Criterion, criterion_group, criterion_main};

backprop::network! {
    /// The digits network.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

fn train_step(c: &mut Criterion) {
    const B: usize = 64;
    let (x, y) = (inputs::<B, 64>(1), classes::<B, 10>());
    let (x, y) = (&*x, &*y);
    let mut contest = Contest::new("W3 digits train_step batch 64");
    let start = Digits::seeded(1);

    let mut network = start.clone();
    let mut sgd = Sgd::new(f64::from(LR));
    contest.add("generated", move || {
        network.train_step(black_box(x), black_box(y), &mut sgd)
    });

    let mut expert = Mlp2::<Relu, SoftmaxCrossEntropy, B, 64, 128, 10>::from_params(start.params());
    contest.add("expert", move || {
        expert.train_step(black_box(x), black_box(y), LR)
    });

    add_run_time_shaped(
        &mut contest,
        &[64, 128, 10],
        &[Activation::Relu, Activation::Linear],
        Loss::SoftmaxCrossEntropy,
        start.params(),
        (x, y),
    );
    contest.run(c, |_| {});
}

criterion_group! {
    name = w3;
    config = baselines::criterion();
    targets = train_step
}
criterion_main!(w3);
