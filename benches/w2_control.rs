//! W2, control: 8 → tanh(32) → tanh(32) → linear(2), mse: one SGD step on a
//! batch of 32, and the forward pass of one sample.

mod baselines;

use std::hint::black_box;

use backprop::Sgd;
use baselines::expert::{Mlp3, Mse, Tanh};
use baselines::ndarray_gemm::{Activation, Loss, Mlp};
use baselines::{LR, bench_run_time_shaped, dynamic, inputs, matrix};
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
    let mut group = c.benchmark_group("W2 control train_step batch 32");
    let start = Control::seeded(1);

    let mut network = start.clone();
    let mut sgd = Sgd::new(f64::from(LR));
    group.bench_function("generated", |b| {
        b.iter(|| black_box(network.train_step(black_box(&x), black_box(&y), &mut sgd)));
    });

    let mut expert = Mlp3::<Tanh, Mse, B, 8, 32, 32, 2>::from_params(start.params());
    group.bench_function("expert", |b| {
        b.iter(|| black_box(expert.train_step(black_box(&x), black_box(&y), LR)));
    });

    bench_run_time_shaped(
        &mut group,
        &WIDTHS,
        &ACTIVATIONS,
        Loss::Mse,
        start.params(),
        (&*x, &*y),
    );
    group.finish();
}

fn forward_one(c: &mut Criterion) {
    let x = inputs::<1, 8>(3);
    let mut group = c.benchmark_group("W2 control forward 1 sample");
    let network = Control::seeded(1);
    group.bench_function("generated", |b| {
        b.iter(|| black_box(network.forward(black_box(&x))));
    });

    let mut expert = Mlp3::<Tanh, Mse, 1, 8, 32, 32, 2>::from_params(network.params());
    let mut out = [[0.0; 2]];
    group.bench_function("expert", |b| {
        b.iter(|| {
            expert.forward(black_box(&x), &mut out);
            black_box(out)
        });
    });

    let mut gemm = Mlp::new(&WIDTHS, &ACTIVATIONS, Loss::Mse, network.params(), 1);
    let xm = matrix(&*x);
    group.bench_function("ndarray", |b| {
        b.iter(|| black_box(gemm.forward(black_box(xm.view()))[[0, 0]]));
    });

    let mut plain = dynamic::Mlp::new(&WIDTHS, &ACTIVATIONS, Loss::Mse, network.params(), 1);
    let xf = x.as_flattened();
    group.bench_function("dynamic", |b| {
        b.iter(|| black_box(plain.forward(black_box(xf))[0]));
    });
    group.finish();
}

criterion_group! {
    name = w2;
    config = baselines::criterion();
    targets = train_step, forward_one
}
criterion_main!(w2);
