//! W2, control: 8 → tanh(32) → tanh(32) → linear(2), mse: one SGD step on a
//! batch of 32, and the forward pass of one sample.

mod baselines;

use std::hint::black_box;

use backprop::Network;
use backprop::Sgd;
use baselines::contest::Contest;
use baselines::expert::{Mlp3, Mse, Tanh};
use baselines::ndarray_gemm::{Activation, Loss, Mlp};
use baselines::{LR, add_run_time_shaped, dynamic, inputs, matrix};
use criterion::{Criterion, criterion_group, criterion_main};

backprop::network! {
    /// The control network.
    pub Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse
}

const WIDTHS: [usize; 4] = [8, 32, 32, 2];
const ACTIVATIONS: [Activation; 3] = [Activation::Tanh, Activation::Tanh, Activation::Linear];

fn train_step(c: &mut Criterion) {
    const B: usize = 32;
    let (x, y) = (inputs::<B, 8>(1), inputs::<B, 2>(2));
    let (x, y) = (&*x, &*y);
    let mut contest = Contest::new("W2 control train_step batch 32");
    let start = Control::seeded(1);

    let mut network = start.clone();
    let mut sgd = Sgd::new(f64::from(LR));
    contest.add("generated", move || {
        network.train_step(black_box(x), black_box(y), &mut sgd)
    });

    let mut expert = Mlp3::<Tanh, Mse, B, 8, 32, 32, 2>::from_params(start.params());
    contest.add("expert", move || {
        expert.train_step(black_box(x), black_box(y), LR)
    });

    add_run_time_shaped(
        &mut contest,
        &WIDTHS,
        &ACTIVATIONS,
        Loss::Mse,
        start.params(),
        (x, y),
    );
    contest.run(c, |_| {});
}

fn forward_one(c: &mut Criterion) {
    let x = &*inputs::<1, 8>(3);
    let mut contest = Contest::new("W2 control forward 1 sample");
    let network = Control::seeded(1);
    let params = network.params().to_vec();
    contest.add("generated", move || network.forward(black_box(x)));

    let mut expert = Mlp3::<Tanh, Mse, 1, 8, 32, 32, 2>::from_params(&params);
    let mut out = [[0.0; 2]];
    contest.add("expert", move || {
        expert.forward(black_box(x), &mut out);
        out
    });

    let mut gemm = Mlp::new(&WIDTHS, &ACTIVATIONS, Loss::Mse, &params, 1);
    let xm = matrix(x);
    contest.add("ndarray", move || {
        gemm.forward(black_box(xm.view()))[[0, 0]]
    });

    let mut plain = dynamic::Mlp::new(&WIDTHS, &ACTIVATIONS, Loss::Mse, &params, 1);
    let xf = x.as_flattened();
    contest.add("dynamic", move || plain.forward(black_box(xf))[0]);
    contest.run(c, |_| {});
}

criterion_group! {
    name = w2;
    config = baselines::criterion();
    targets = train_step, forward_one
}
criterion_main!(w2);
