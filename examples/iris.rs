//! A softmax classifier for Fisher's iris flowers, `4 → tanh(8) → softmax(3)`
//! with cross-entropy, trained in shuffled mini-batches and tested on
//! flowers it never saw.
//!
//! Run with `cargo run --release --example iris`. Reads `data/iris.csv`
//! (see `data/README.md` for its source and licence) with the data helpers:
//! `Table` reads the file, `split_stratified` holds out a fifth of each
//! species, `Standardiser` scales the measurements, and `accuracy` and
//! `ConfusionMatrix` score the test.

use std::error::Error;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use backprop::data::{
    ConfusionMatrix, DataSet, Standardiser, Table, Trainer, accuracy, argmax, split_stratified,
};
use backprop::{Adam, Network};

backprop::network! {
    /// Four measurements in, one probability per species out.
    pub Iris = 4 -> tanh(8) -> softmax(3); loss = cross_entropy
}

const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];
/// The seed of the split, the initial weights and the shuffles.
const SEED: u64 = 2024;
/// The fraction of each species held out for the test: 10 flowers of 50.
const TEST_FRACTION: f64 = 0.2;
const EPOCHS: u64 = 100;
const BATCH: usize = 16;
/// The test accuracy below which the run fails, so that a check can run it.
const REQUIRED_ACCURACY: f64 = 0.95;

fn main() -> Result<(), Box<dyn Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv");
    let flowers = Table::<f32, 4>::read(&path, "species", Some(&SPECIES))?;
    println!("{} flowers from data/iris.csv", flowers.len());

    // A stratified split from a fixed seed: a fifth of each species for the
    // test, the rest for training.
    let targets: Vec<[f32; 3]> = flowers.one_hot()?;
    let parts = split_stratified(
        flowers.inputs(),
        &targets,
        flowers.labels(),
        TEST_FRACTION,
        SEED,
    )?;
    let (mut x_train, y_train) = (parts.train_inputs, parts.train_targets);
    let (mut x_test, y_test) = (parts.test_inputs, parts.test_targets);

    // Standardise each measurement with the training set's mean and spread.
    let scaler = Standardiser::fit(&x_train)?;
    scaler.apply_all(&mut x_train);
    scaler.apply_all(&mut x_test);
    println!(
        "{} for training, {} held out for the test\n",
        x_train.len(),
        x_test.len()
    );

    let mut net = Iris::seeded(SEED);
    let mut adam = Adam::new(0.01);
    let data = DataSet::new(&x_train, &y_train)?;
    let started = Instant::now();
    Trainer::<BATCH>::new(EPOCHS)
        .seed(SEED)
        .run_with(&mut net, &mut adam, &data, |end| {
            if (end.epoch + 1) % 20 == 0 {
                let test_loss = end
                    .network
                    .loss_slice(&x_test, &y_test)
                    .expect("a non-empty test set");
                println!(
                    "epoch {:>3}  training loss {:.4}  test loss {test_loss:.4}",
                    end.epoch + 1,
                    end.mean_loss
                );
            }
            ControlFlow::Continue(())
        });
    let elapsed = started.elapsed();

    let train_outputs = outputs(&net, &x_train)?;
    let test_outputs = outputs(&net, &x_test)?;
    let train_accuracy = accuracy(&train_outputs, &y_train)?;
    let test_accuracy = accuracy(&test_outputs, &y_test)?;
    println!(
        "\ntrained {EPOCHS} epochs of batches of {BATCH} in {:.1} ms",
        elapsed.as_secs_f64() * 1e3
    );
    println!("training accuracy {:.1}%", 100.0 * train_accuracy);
    println!(
        "test accuracy     {:.1}% ({} flowers)",
        100.0 * test_accuracy,
        x_test.len()
    );
    println!(
        "\n{}",
        ConfusionMatrix::from_rows(&test_outputs, &y_test)?.labelled(&SPECIES)
    );
    if test_accuracy < REQUIRED_ACCURACY {
        return Err(format!("the test accuracy is below {}%", 100.0 * REQUIRED_ACCURACY).into());
    }

    let probabilities = net.forward(&[x_test[0]]);
    let truth = argmax(&y_test[0]);
    println!(
        "first test flower, a {}: {}",
        SPECIES[truth],
        SPECIES
            .iter()
            .zip(probabilities[0])
            .map(|(name, p)| format!("{name} {p:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The network's probabilities for every row of `x`.
fn outputs(net: &Iris, x: &[[f32; 4]]) -> Result<Vec<[f32; 3]>, backprop::BatchError> {
    let mut outputs = vec![[0.0; 3]; x.len()];
    net.forward_slice(x, &mut outputs)?;
    Ok(outputs)
}
