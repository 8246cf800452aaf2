//! W1, the seed: 2 → sigmoid(3) → linear(1), mse, one SGD step on a batch
//! of 4 (XOR) and of 1.

mod baselines;

use std::hint::black_box;

use backprop::Network;
use backprop::Sgd;
use baselines::contest::Contest;
use baselines::expert::{Mlp2, Mse, Sigmoid};
use baselines::ndarray_gemm::{Activation, Loss};
use baselines::{LR, add_run_time_shaped};
use criterion::{Criterion, criterion_group, criterion_main};

backprop::network! {
    /// The seed network.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

const X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const Y: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

fn train_step<const B: usize>(c: &mut Criterion, name: &str, x: &[[f32; 2]; B], y: &[[f32; 1]; B]) {
    let mut contest = Contest::new(name);
    let start = Xor::seeded(1);

    let mut network = start.clone();
    let mut sgd = Sgd::new(f64::from(LR));
    contest.add("generated", move || {
        network.train_step(black_box(x), black_box(y), &mut sgd)
    });

    let mut expert = Mlp2::<Sigmoid, Mse, B, 2, 3, 1>::from_params(start.params());
    contest.add("expert", move || {
        expert.train_step(black_box(x), black_box(y), LR)
    });

    add_run_time_shaped(
        &mut contest,
        &[2, 3, 1],
        &[Activation::Sigmoid, Activation::Linear],
        Loss::Mse,
        start.params(),
        (x, y),
    );
    contest.run(c, |_| {});
}

fn benches(c: &mut Criterion) {
    train_step(c, "W1 seed train_step batch 4", &X, &Y);
    train_step(c, "W1 seed train_step batch 1", &[X[1]], &[Y[1]]);
}

criterion_group! {
    name = w1;
    config = baselines::criterion();
    targets = benches
}
criterion_main!(w1);
