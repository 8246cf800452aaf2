//! Regression: `1 → tanh(16) → tanh(16) → linear(1)` learns `sin x` on
//! `[−π, π]` from 32 samples, and a plot compares its fit with the truth,
//! inside the training range and outside it, where it does not extrapolate.
//!
//! Run with `cargo run --release --example sine [OUTPUT_DIRECTORY]`. Writes
//! `sine-fit.png` to the directory, `target/sine` by default.

use std::error::Error;
use std::f32::consts::PI;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use backprop::Adam;
use backprop::Network;
use backprop::data::{DataSet, Trainer};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

backprop::network! {
    /// `x` in, an estimate of `sin x` out.
    pub Sine = 1 -> tanh(16) -> tanh(16) -> linear(1); loss = mse
}

const SEED: u64 = 3;
const SAMPLES: usize = 32;
const EPOCHS: u64 = 2000;
const BATCH: usize = 16;

fn main() -> Result<(), Box<dyn Error>> {
    let directory = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/sine"), PathBuf::from);
    std::fs::create_dir_all(&directory)?;

    // Training samples evenly spaced over [−π, π]; the test points lie
    // halfway between them, so they are never seen in training.
    let grid = |i: f32| -PI + 2.0 * PI * i / (SAMPLES - 1) as f32;
    let x_train: Vec<[f32; 1]> = (0..SAMPLES).map(|i| [grid(i as f32)]).collect();
    let x_test: Vec<[f32; 1]> = (0..SAMPLES - 1).map(|i| [grid(i as f32 + 0.5)]).collect();
    let truth = |x: &[[f32; 1]]| -> Vec<[f32; 1]> { x.iter().map(|[x]| [x.sin()]).collect() };
    let (y_train, y_test) = (truth(&x_train), truth(&x_test));

    let mut net = Sine::seeded(SEED);
    let mut adam = Adam::new(0.01);
    let data = DataSet::new(&x_train, &y_train)?;
    let started = Instant::now();
    Trainer::<BATCH>::new(EPOCHS)
        .seed(SEED)
        .run_with(&mut net, &mut adam, &data, |end| {
            if (end.epoch + 1) % 400 == 0 {
                println!(
                    "epoch {:>4}  training loss {:.2e}",
                    end.epoch + 1,
                    end.mean_loss
                );
            }
            if end.epoch + 1 == EPOCHS / 2 {
                end.optimizer.learning_rate /= 10.0; // finer steps for the second half
            }
            ControlFlow::Continue(())
        });
    let elapsed = started.elapsed();

    let mut fit = vec![[0.0]; x_test.len()];
    net.forward_slice(&x_test, &mut fit)?;
    let worst = fit
        .iter()
        .zip(&y_test)
        .map(|(f, y)| (f[0] - y[0]).abs())
        .fold(0.0, f32::max);
    println!(
        "trained {EPOCHS} epochs of batches of {BATCH} in {:.2} s",
        elapsed.as_secs_f64()
    );
    println!(
        "test loss (mean squared error) {:.2e}, largest error {worst:.4}",
        net.loss_slice(&x_test, &y_test)?
    );

    let plot = directory.join("sine-fit.png");
    plot_fit(&plot, &net, &x_train, &y_train)?;
    println!(
        "wrote {} ({} bytes)",
        plot.display(),
        std::fs::metadata(&plot)?.len()
    );
    Ok(())
}

/// `sin x`, the network's fit and the training samples, as a PNG chart.
fn plot_fit(path: &Path, net: &Sine, x: &[[f32; 1]], y: &[[f32; 1]]) -> Result<(), Box<dyn Error>> {
    // The text is drawn with a font compiled into the program, so the plot
    // needs no font installed on the system.
    register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| "the bundled font is not a valid TrueType font")?;
    let dense: Vec<f32> = (0..=800)
        .map(|i| -2.0 * PI + 4.0 * PI * i as f32 / 800.0)
        .collect();
    let rows: Vec<[f32; 1]> = dense.iter().map(|&x| [x]).collect();
    let mut fit = vec![[0.0]; rows.len()];
    net.forward_slice(&rows, &mut fit)?;
    let (low, high) = fit.iter().fold((-1.0_f32, 1.0_f32), |(low, high), [f]| {
        (low.min(*f), high.max(*f))
    });
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "1 -> tanh(16) -> tanh(16) -> linear(1) trained on sin x in [-pi, pi]",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-2.0 * PI..2.0 * PI, low - 0.2..high + 0.2)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .label_style(("sans-serif", 16))
        .draw()?;

    let truth = dense.iter().map(|&x| (x, x.sin()));
    chart
        .draw_series(LineSeries::new(truth, BLACK.mix(0.35).stroke_width(6)))?
        .label("sin x")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.35).stroke_width(6)));
    let fitted = dense.iter().zip(&fit).map(|(&x, f)| (x, f[0]));
    chart
        .draw_series(LineSeries::new(fitted, RED.stroke_width(2)))?
        .label("network")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    let samples = x
        .iter()
        .zip(y)
        .map(|([x], [y])| Circle::new((*x, *y), 3, BLUE.filled()));
    chart
        .draw_series(samples)?
        .label("training samples")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerMiddle)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    root.present()?;
    Ok(())
}
