//! Handwritten digits, 8×8 pixels, with `64 → relu(128) → softmax(10)` and
//! cross-entropy: a training loop written out over shuffled mini-batches,
//! a progress bar, held-out accuracy, the weights saved as safetensors with
//! the inputs' scaling, and a plot of the training and test loss per epoch.
//!
//! Run with `cargo run --release --example digits [OUTPUT_DIRECTORY]`.
//! Reads `data/digits.csv` (see `data/README.md` for its source and licence)
//! and writes `digits.safetensors` and `digits-loss.png` to the directory,
//! `target/digits` by default. The file holds the standardiser's statistics
//! beside the weights: loaded back, they score the raw test pixels exactly
//! as the trained network scored them.

// The batch's hidden layer, 32 rows of 128 units, is a 16 KiB array on the
// stack: fixed sizes known to the compiler are what `network!` is for.
#![allow(clippy::large_stack_arrays)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use backprop::data::{DataSet, Standardiser, Table, accuracy, split};
use backprop::{Adam, Network};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

backprop::network! {
    /// 64 pixels in, one probability per digit out: the W3 workload of the
    /// benchmarks.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

/// The seed of the split, the initial weights and the shuffles.
const SEED: u64 = 7;
/// The fraction of the samples held out for the test.
const TEST_FRACTION: f64 = 0.2;
/// The classes, in the order of the outputs: the digit in the file's last
/// column is its own index.
const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const EPOCHS: u64 = 40;
const BATCH: usize = 32;
/// The test accuracy below which the run fails, so that a check can run it.
const REQUIRED_ACCURACY: f64 = 0.95;

type Pixels = [f32; 64];
type Target = [f32; 10];

fn main() -> Result<(), Box<dyn Error>> {
    let directory = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/digits"), PathBuf::from);
    std::fs::create_dir_all(&directory)?;

    let samples = Table::<f32, 64>::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/digits.csv"),
        "digit",
        Some(&DIGITS),
    )?;
    let targets: Vec<Target> = samples.one_hot()?;
    let parts = split(samples.inputs(), &targets, TEST_FRACTION, SEED)?;
    let (raw_test, y_test) = (parts.test_inputs.clone(), &parts.test_targets[..]);
    println!(
        "{} digits from data/digits.csv: {} for training, {} held out for the test",
        samples.len(),
        parts.train_inputs.len(),
        raw_test.len()
    );

    // Each pixel standardised with the training set's statistics; pixels
    // that are blank in every training image keep scale 1.
    let scaler = Standardiser::fit(&parts.train_inputs)?;
    let (mut x_train, mut x_test) = (parts.train_inputs, parts.test_inputs);
    scaler.apply_all(&mut x_train);
    scaler.apply_all(&mut x_test);
    let (x_train, x_test, y_train) = (&x_train[..], &x_test[..], &parts.train_targets[..]);

    let train = DataSet::new(x_train, y_train)?;
    let mut net = Digits::seeded(SEED);
    let mut adam = Adam::new(1e-3);
    let progress = ProgressBar::new(EPOCHS * train.batches_per_epoch::<BATCH>() as u64);
    progress.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} batches  {msg}",
    )?);

    // The loop, written out: each epoch's batches in a shuffled order, a
    // compile-time-size step for each full batch of 32 and a run-time-size
    // step for the last, partial one.
    let mut history = Vec::new();
    let started = Instant::now();
    for epoch in 0..EPOCHS {
        let mut total = 0.0;
        for batch in train.shuffled::<BATCH>(SEED, epoch) {
            let loss = if let Some((x, y)) = batch.full() {
                net.train_step(x, y, &mut adam)
            } else {
                net.train_step_slice(batch.inputs(), batch.targets(), &mut adam)?
            };
            total += loss * batch.rows() as f32;
            progress.inc(1);
        }
        let train_loss = total / train.len() as f32;
        let test_loss = net.loss_slice(x_test, y_test)?;
        history.push((train_loss, test_loss));
        progress.set_message(format!(
            "epoch {:>2}  training loss {train_loss:.4}  test loss {test_loss:.4}",
            epoch + 1
        ));
    }
    let elapsed = started.elapsed();
    progress.finish();

    let (train_loss, test_loss) = history[history.len() - 1];
    println!(
        "trained {EPOCHS} epochs of batches of {BATCH} in {:.2} s: training loss {train_loss:.4}, test loss {test_loss:.4}",
        elapsed.as_secs_f64()
    );
    println!(
        "training accuracy {:.1}%",
        100.0 * accuracy(&outputs(&net, x_train)?, y_train)?
    );
    let test_accuracy = accuracy(&outputs(&net, x_test)?, y_test)?;
    println!(
        "test accuracy     {:.1}% ({} digits)",
        100.0 * test_accuracy,
        x_test.len()
    );
    if test_accuracy < REQUIRED_ACCURACY {
        return Err(format!("the test accuracy is below {}%", 100.0 * REQUIRED_ACCURACY).into());
    }

    save_and_reload(&directory, &net, &scaler, raw_test, y_test, test_accuracy)?;

    let plot = directory.join("digits-loss.png");
    plot_losses(&plot, &history)?;
    println!(
        "wrote {} ({} bytes)",
        plot.display(),
        std::fs::metadata(&plot)?.len()
    );
    Ok(())
}

/// Saves the weights and the scaling in one file, loads both back and
/// checks that they score the raw test pixels as the trained network did.
fn save_and_reload(
    directory: &Path,
    net: &Digits,
    scaler: &Standardiser<f32, 64>,
    raw_test: Vec<Pixels>,
    y_test: &[Target],
    test_accuracy: f64,
) -> Result<(), Box<dyn Error>> {
    // The weights and the scaling in one file; a program that loads it
    // scales its inputs as training did.
    let weights = directory.join("digits.safetensors");
    backprop::io::save_with_standardiser(net, scaler, &weights)?;
    println!(
        "wrote {} ({} bytes)",
        weights.display(),
        std::fs::metadata(&weights)?.len()
    );
    let (mut reloaded, mut reloaded_scaler) = (Digits::zeros(), Standardiser::identity());
    backprop::io::load_with_standardiser(&mut reloaded, &mut reloaded_scaler, &weights)?;
    let mut scaled = raw_test;
    reloaded_scaler.apply_all(&mut scaled);
    let reloaded_accuracy = accuracy(&outputs(&reloaded, &scaled)?, y_test)?;
    println!(
        "reloaded from the file, the raw test pixels score {:.1}%",
        100.0 * reloaded_accuracy
    );
    if reloaded_accuracy.to_bits() != test_accuracy.to_bits() {
        return Err(format!(
            "the reloaded network scores {reloaded_accuracy}, not {test_accuracy}"
        )
        .into());
    }
    Ok(())
}

/// The network's probabilities for every row of `x`.
fn outputs(net: &Digits, x: &[Pixels]) -> Result<Vec<Target>, backprop::BatchError> {
    let mut outputs = vec![[0.0; 10]; x.len()];
    net.forward_slice(x, &mut outputs)?;
    Ok(outputs)
}

/// The training and test loss per epoch, as a PNG line chart.
fn plot_losses(path: &Path, history: &[(f32, f32)]) -> Result<(), Box<dyn Error>> {
    // The text is drawn with a font compiled into the program, so the plot
    // needs no font installed on the system.
    register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| "the bundled font is not a valid TrueType font")?;
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = history
        .iter()
        .map(|&(a, b)| a.max(b))
        .fold(0.0_f32, f32::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "64 -> relu(128) -> softmax(10) on 8x8 digits, Adam, batches of 32",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1_u64..history.len() as u64, 0.0_f32..top * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cross-entropy loss")
        .label_style(("sans-serif", 16))
        .draw()?;
    let series = [("training loss", 0, BLUE), ("test loss", 1, RED)];
    for (label, column, color) in series {
        let points = (1..)
            .zip(history)
            .map(|(epoch, losses)| (epoch, if column == 0 { losses.0 } else { losses.1 }));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    root.present()?;
    Ok(())
}
