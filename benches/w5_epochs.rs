//! W5, whole epochs: the training loop with the batch size fixed at compile
//! time (`Trainer::<B>`) against the same loop with it chosen at run time
//! (`DynamicTrainer`), which trains through the `*_slice` methods. One
//! epoch of Adam, shuffled, on the control network (W2's shape) in batches
//! of 8, 16, 32 and 100 and on the digits network (W3's) in batches of 64.

mod baselines;

use std::num::NonZeroUsize;

use backprop::data::{DataSet, DynamicTrainer, Trainer};
use backprop::{Adam, Network};
use baselines::contest::Contest;
use baselines::{classes, inputs};
use criterion::{Criterion, criterion_group, criterion_main};

backprop::network! {
    /// The control network.
    pub Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse
}

backprop::network! {
    /// The digits network.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

/// One epoch of `Trainer::<B>` and of a `DynamicTrainer` of `B` rows, each
/// on its own copy of `start` and its own Adam, so every call trains on.
fn contest<N: Network + Clone, const B: usize>(
    c: &mut Criterion,
    name: &str,
    start: &N,
    data: &DataSet<'_, N::Input, N::Target>,
) {
    let mut contest =
        Contest::new(format!("{name} epoch batch {B}")).compare("run-time", &["compile-time"]);
    let (mut fixed, mut fixed_adam) = (start.clone(), Adam::new(1e-3));
    let mut epoch = 0;
    contest.add("compile-time", move || {
        epoch += 1;
        Trainer::<B>::new(1)
            .seed(epoch)
            .run(&mut fixed, &mut fixed_adam, data)
    });
    let (mut dynamic, mut dynamic_adam) = (start.clone(), Adam::new(1e-3));
    let batch = NonZeroUsize::new(B).expect("a batch has rows");
    let mut epoch = 0;
    contest.add("run-time", move || {
        epoch += 1;
        DynamicTrainer::new(1, batch)
            .seed(epoch)
            .run(&mut dynamic, &mut dynamic_adam, data)
    });
    contest.run(c, |_| {});
}

fn epochs(c: &mut Criterion) {
    let (x, y) = (inputs::<2048, 8>(1), inputs::<2048, 2>(2));
    let control = DataSet::new(&x[..], &y[..]).expect("finite rows");
    contest::<_, 8>(c, "W5 control", &Control::seeded(1), &control);
    contest::<_, 16>(c, "W5 control", &Control::seeded(1), &control);
    contest::<_, 32>(c, "W5 control", &Control::seeded(1), &control);
    contest::<_, 100>(c, "W5 control", &Control::seeded(1), &control);

    let (x, y) = (inputs::<1024, 64>(1), classes::<1024, 10>());
    let digits = DataSet::new(&x[..], &y[..]).expect("finite rows");
    contest::<_, 64>(c, "W5 digits", &Digits::seeded(1), &digits);
}

criterion_group! {
    name = w5;
    config = baselines::criterion();
    targets = epochs
}
criterion_main!(w5);
