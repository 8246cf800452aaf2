//! W8, recurrent layers.
//!
//! Streaming: one sample of one input through a GRU (8, 16, 32 units) or
//! an LSTM (16, 32 units) and a dense head of one output, in `f32`, the
//! state kept for the next sample and the output fed back as the next
//! input, as a real-time audio or control loop runs them. The generated
//! network's `step` runs beside an expert's hand-written step of the same
//! weights (`baselines/recurrent.rs`), interleaved; the table at the end
//! gives nanoseconds per sample, the real-time factor at 48 kHz, and the
//! figures RTNeural's compile-time API measured on a 2-core machine of
//! this kind (best of its xsimd and Eigen back ends).
//!
//! Training: truncated backpropagation through time of the LSTM 16 over
//! windows of T = 2048 steps of B = 16 streams with Adam, in stream-steps
//! (samples) per second.

mod baselines;

use std::hint::black_box;
use std::time::Duration;

use backprop::Adam;
use backprop::sequence::{Recurrent, StepTape, Targets};
use baselines::contest::Contest;
use baselines::recurrent::{Gru, Head, Lstm};
use criterion::{Criterion, criterion_group, criterion_main};

backprop::network! { Gru8 = 1 -> gru(8) -> linear(1); loss = mse }
backprop::network! { Gru16 = 1 -> gru(16) -> linear(1); loss = mse }
backprop::network! { Gru32 = 1 -> gru(32) -> linear(1); loss = mse }
backprop::network! { Lstm16 = 1 -> lstm(16) -> linear(1); loss = mse }
backprop::network! { Lstm32 = 1 -> lstm(32) -> linear(1); loss = mse }

/// Samples per second of the real-time factor.
const SAMPLE_RATE: f64 = 48_000.0;

/// A bounded signal from the output, the next input.
#[inline]
fn feed_back(y: f32) -> f32 {
    0.9 * y.clamp(-1.0, 1.0)
}

/// Nanoseconds per sample of one size: generated and expert, and
/// RTNeural's.
struct Row {
    name: &'static str,
    generated: f64,
    expert: f64,
    rtneural: f64,
}

/// Times `generated` against `expert`, both fed back; `None` when
/// criterion only tests or lists.
fn stream(
    c: &mut Criterion,
    name: &'static str,
    rtneural: f64,
    mut generated: impl FnMut(f32) -> f32,
    mut expert: impl FnMut(f32) -> f32,
) -> Option<Row> {
    let mut contest =
        Contest::new(format!("W8 streaming {name}")).compare("generated", &["expert"]);
    let mut x = 0.25_f32;
    contest.add("generated", move || {
        let y = generated(black_box(x));
        x = feed_back(y);
        y
    });
    let mut x = 0.25_f32;
    contest.add("expert", move || {
        let y = expert(black_box(x));
        x = feed_back(y);
        y
    });
    let medians = contest.run(c, |group| {
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
    })?;
    let nanoseconds = |entry: &str| {
        medians
            .iter()
            .find(|(name, _)| *name == entry)
            .map_or(f64::NAN, |(_, seconds)| seconds * 1e9)
    };
    Some(Row {
        name,
        generated: nanoseconds("generated"),
        expert: nanoseconds("expert"),
        rtneural,
    })
}

/// Streams a generated network and the expert's step of its weights.
macro_rules! streams {
    ($c:ident: $($name:literal: $net:ident, $view:ident, $head:ident, $bias:ident, $expert:ident, $rtneural:literal;)*) => {
        vec![$({
            let net = $net::seeded(1);
            let head = Head {
                w: net.$head().map(|row| row[0]),
                b: net.$bias()[0],
            };
            let mut expert = $expert::new(&net.$view(), head);
            let mut state = <$net as Recurrent>::State::default();
            stream(
                $c,
                $name,
                $rtneural,
                move |x| net.step(&mut state, &[x])[0],
                move |x| expert.step(x),
            )
        }),*]
    };
}

fn streaming(c: &mut Criterion) {
    let rows: Vec<Row> = streams! { c:
        "GRU 8": Gru8, gru1, w2, b2, Gru, 105.0;
        "GRU 16": Gru16, gru1, w2, b2, Gru, 197.0;
        "GRU 32": Gru32, gru1, w2, b2, Gru, 513.0;
        "LSTM 16": Lstm16, lstm1, w2, b2, Lstm, 268.0;
        "LSTM 32": Lstm32, lstm1, w2, b2, Lstm, 691.0;
    }
    .into_iter()
    .flatten()
    .collect();
    if rows.is_empty() {
        return;
    }
    println!("W8 streaming step, input 1, head 1, f32: ns per sample (real-time factor at 48 kHz)");
    println!(
        "| layer | generated | expert | generated ÷ expert | RTNeural | generated ÷ RTNeural |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for row in &rows {
        let rtf = |ns: f64| ns * 1e-9 * SAMPLE_RATE;
        println!(
            "| {} | {:.0} ({:.4}) | {:.0} ({:.4}) | {:.2} | {:.0} | {:.2} |",
            row.name,
            row.generated,
            rtf(row.generated),
            row.expert,
            rtf(row.expert),
            row.generated / row.expert,
            row.rtneural,
            row.generated / row.rtneural,
        );
    }
}

/// Streams of the training window.
const STREAMS: usize = 16;

/// Steps of the training window.
const WINDOW: usize = 2048;

fn training(c: &mut Criterion) {
    // A soft-clipped, delayed copy of a chirp: something to learn, whose
    // loss stays finite at this learning rate.
    let xs: Vec<[[f32; 1]; STREAMS]> = (0..WINDOW)
        .map(|t| core::array::from_fn(|s| [(0.01 * (t * (s + 1)) as f32).sin() * 0.5]))
        .collect();
    let ys: Vec<[[f32; 1]; STREAMS]> = (0..WINDOW)
        .map(|t| core::array::from_fn(|s| [(2.0 * xs[t.saturating_sub(3)][s][0]).tanh()]))
        .collect();
    let mut net = Lstm16::seeded(2);
    let mut adam = Adam::new(1e-4);
    let mut tape = vec![StepTape::<Lstm16, STREAMS>::ZERO; WINDOW];
    let mut states = [<Lstm16 as Recurrent>::State::default(); STREAMS];
    let mut contest = Contest::new(format!(
        "W8 training LSTM 16, B {STREAMS}, T {WINDOW}, Adam"
    ))
    .compare("generated", &[]);
    contest.add("generated", move || {
        net.train_window(
            &mut states,
            &xs,
            Targets::EveryStep(&ys),
            &mut tape,
            &mut adam,
        )
        .expect("a finite window")
    });
    let Some(medians) = contest.run(c, |group| {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
    }) else {
        return;
    };
    let seconds = medians[0].1;
    #[allow(clippy::cast_precision_loss)] // 32,768 samples
    let samples = (STREAMS * WINDOW) as f64;
    println!(
        "W8 training LSTM 16: {:.2} million samples per second through BPTT ({:.1} ms per window of {STREAMS} × {WINDOW})",
        samples / seconds / 1e6,
        seconds * 1e3
    );
}

criterion_group! {
    name = w8;
    config = Criterion::default();
    targets = streaming, training
}
criterion_main!(w8);
