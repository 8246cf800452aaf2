//! A guitar-amp model: `1 → lstm(16) → linear(1)` learns a distortion
//! effect from audio, then runs it sample by sample as an audio plug-in
//! would.
//!
//! The example makes its own audio: 10 s of plucked strings at 48 kHz
//! (Karplus–Strong, with random pitch, velocity, brightness and decay),
//! and the effect to learn, written out here: a high-pass at 120 Hz, an
//! asymmetric soft clipper `tanh(5u + 0.2) − tanh(0.2)`, a low-pass at
//! 5 kHz. The filters give the effect memory, so the model must be
//! recurrent. The first 8 s train it by truncated backpropagation through
//! time (16 streams, windows of 256 samples, the state carried from one
//! window to the next, Adam on a cosine schedule); the last 2 s are held
//! out. The trained model streams them one sample at a time with
//! `step`, and the run reports the error-to-signal ratio
//! `ESR = Σ(y − ŷ)² / Σy²` and the real-time factor (the time taken to
//! stream the audio over its duration). It fails if the ESR is 1% or more.
//!
//! Run with `cargo run --release --example amp [OUTPUT_DIRECTORY]`.
//! Writes the held-out audio as `amp-input.wav`, `amp-target.wav` (the
//! effect) and `amp-output.wav` (the model), 48 kHz mono 32-bit float, and
//! `amp-fit.png` (20 ms of the three signals and the training ESR per
//! epoch) to the directory, `target/amp` by default.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backprop::Optimizer;
use backprop::schedule::{Cosine, Schedule};
use backprop::sequence::{Recurrent, StepTape, Targets};
use backprop::{Adam, network};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

network! {
    /// One guitar sample in, one sample through the amp out: an LSTM of 16
    /// units and a linear read-out, 1233 parameters.
    pub Amp = 1 -> lstm(16) -> linear(1); loss = mse
}

const SAMPLE_RATE: u32 = 48_000;
/// Seconds of audio for training and held out for the test.
const TRAIN_SECONDS: usize = 8;
const TEST_SECONDS: usize = 2;
/// The seed of the audio, and that of the initial weights.
const AUDIO_SEED: u64 = 2024;
const WEIGHT_SEED: u64 = 1;

/// Parallel streams of training audio, `B`.
const STREAMS: usize = 16;
/// Steps of one window of truncated BPTT, `T`.
const WINDOW: usize = 256;
/// Steps run from the zero state before the first window of an epoch, so
/// that no loss is taken on a state the model would never be in.
const WARM_UP: usize = 256;
const EPOCHS: usize = 40;
/// Adam's learning rate, from `BASE_RATE` down to `MIN_RATE` along half a
/// cosine over the whole run.
const BASE_RATE: f64 = 5e-3;
const MIN_RATE: f64 = 5e-5;
/// The held-out ESR at or above which the run fails.
const MAX_ESR: f32 = 0.01;
/// Milliseconds of held-out audio in the plot.
const PLOT_MS: usize = 20;

/// One sample of one stream, as the network takes it.
type Sample = [f32; 1];
/// One time step of every training stream, `xs[t][b]`.
type Step = [Sample; STREAMS];

fn main() -> Result<(), Box<dyn Error>> {
    let directory = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/amp"), PathBuf::from);
    std::fs::create_dir_all(&directory)?;

    // One performance, run through the effect from start to end; the last
    // 2 s are held out.
    let rate = SAMPLE_RATE as usize;
    let (input, onsets) = pluck_strings((TRAIN_SECONDS + TEST_SECONDS) * rate, AUDIO_SEED);
    let target = Effect::new().run(&input);
    let split = TRAIN_SECONDS * rate;
    println!(
        "{} s of plucked strings at {SAMPLE_RATE} Hz, {} notes: {TRAIN_SECONDS} s to train on, {TEST_SECONDS} s held out",
        TRAIN_SECONDS + TEST_SECONDS,
        onsets.len()
    );

    let mut net = Amp::seeded(WEIGHT_SEED);
    let started = Instant::now();
    let history = train(&mut net, &input[..split], &target[..split])?;
    println!(
        "trained {EPOCHS} epochs of {STREAMS} streams × windows of {WINDOW} steps in {:.1} s: training ESR {:.2}%",
        started.elapsed().as_secs_f64(),
        100.0 * history[history.len() - 1]
    );

    // The held-out audio, streamed one sample at a time from the state
    // that the samples just before it leave, as a plug-in would run.
    let mut state = AmpState::default();
    for &x in &input[split - WARM_UP..split] {
        let _ = net.step(&mut state, &[x]);
    }
    let (test_input, test_target) = (&input[split..], &target[split..]);
    let (output, elapsed) = stream(&net, &mut state, test_input);
    let esr = error_to_signal(test_target, &output);
    let seconds = test_input.len() as f64 / f64::from(SAMPLE_RATE);
    let real_time_factor = elapsed.as_secs_f64() / seconds;

    for (name, samples) in [
        ("amp-input.wav", test_input),
        ("amp-target.wav", test_target),
        ("amp-output.wav", &output),
    ] {
        let path = directory.join(name);
        write_wav(&path, samples)?;
        println!("wrote {}", path.display());
    }
    // 20 ms from just before the first note that starts in the held-out
    // audio after its first 0.1 s.
    let from = onsets
        .iter()
        .find(|&&onset| onset >= split + rate / 10)
        .map_or(rate / 10, |&onset| onset - split - rate / 500);
    let shown = from..from + PLOT_MS * rate / 1000;
    let plot = directory.join("amp-fit.png");
    plot_fit(
        &plot,
        from,
        &test_input[shown.clone()],
        &test_target[shown.clone()],
        &output[shown],
        &history,
    )?;
    println!(
        "wrote {} ({} bytes)",
        plot.display(),
        std::fs::metadata(&plot)?.len()
    );

    // A NaN fails too.
    if esr.is_nan() || esr >= MAX_ESR {
        return Err(format!(
            "the held-out ESR is {:.2}%, not below {}%",
            100.0 * esr,
            100.0 * MAX_ESR
        )
        .into());
    }
    println!(
        "ESR {:.2}% on {seconds:.1} s of held-out audio, real-time factor {real_time_factor:.4} ({:.0}× faster than real time)",
        100.0 * esr,
        1.0 / real_time_factor
    );
    Ok(())
}

/// Trains `net` to map `input` to `target` by truncated BPTT; returns the
/// training ESR of every epoch.
fn train(net: &mut Amp, input: &[f32], target: &[f32]) -> Result<Vec<f32>, Box<dyn Error>> {
    // The audio cut into 16 consecutive stretches, one per stream, laid out
    // time-major as the network takes them.
    let (xs, ys) = (interleave(input), interleave(target));
    let windows = (xs.len() - WARM_UP) / WINDOW;
    let trained = WARM_UP..WARM_UP + windows * WINDOW;
    // The mean of y² over the trained samples turns the mean squared
    // error into the ESR.
    let energy = ys[trained.clone()]
        .iter()
        .flatten()
        .map(|[y]| y * y)
        .sum::<f32>()
        / (trained.len() * STREAMS) as f32;

    let schedule = Cosine {
        base: BASE_RATE,
        eta_min: MIN_RATE,
        t_max: EPOCHS * windows - 1,
    };
    let mut adam = Adam::new(BASE_RATE);
    let mut tape = vec![StepTape::<Amp, STREAMS>::ZERO; WINDOW];
    let mut warm_up_outputs = vec![[[0.0]; STREAMS]; WARM_UP];
    let progress = ProgressBar::new((EPOCHS * windows) as u64);
    progress.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} windows  {msg}",
    )?);
    let mut history = Vec::with_capacity(EPOCHS);
    for epoch in 0..EPOCHS {
        // Every epoch starts from the zero state, runs it forward without a
        // loss, then carries it from one window to the next.
        let mut states = [AmpState::default(); STREAMS];
        net.forward_sequence(&mut states, &xs[..WARM_UP], &mut warm_up_outputs)?;
        let mut total = 0.0;
        for w in 0..windows {
            adam.set_learning_rate(schedule.learning_rate(epoch * windows + w));
            let steps = WARM_UP + w * WINDOW..WARM_UP + (w + 1) * WINDOW;
            total += net.train_window(
                &mut states,
                &xs[steps.clone()],
                Targets::EveryStep(&ys[steps]),
                &mut tape,
                &mut adam,
            )?;
            progress.inc(1);
        }
        let esr = total / windows as f32 / energy;
        history.push(esr);
        progress.set_message(format!(
            "epoch {:>2}/{EPOCHS}  training ESR {:.2}%  lr {:.1e}",
            epoch + 1,
            100.0 * esr,
            adam.learning_rate()
        ));
    }
    progress.finish();
    Ok(history)
}

/// `samples` cut into [`STREAMS`] stretches of equal length (dropping the
/// remainder), as `xs[t][b]`: step `t` of stretch `b`.
fn interleave(samples: &[f32]) -> Vec<Step> {
    let length = samples.len() / STREAMS;
    (0..length)
        .map(|t| core::array::from_fn(|b| [samples[b * length + t]]))
        .collect()
}

/// The network's output for every sample of `input`, one `step` at a
/// time, and the time that took.
fn stream(net: &Amp, state: &mut AmpState, input: &[f32]) -> (Vec<f32>, Duration) {
    let mut output = Vec::with_capacity(input.len());
    let started = Instant::now();
    output.extend(input.iter().map(|&x| net.step(state, &[x])[0]));
    (output, started.elapsed())
}

/// `Σ(y − ŷ)² / Σy²`.
fn error_to_signal(target: &[f32], output: &[f32]) -> f32 {
    let error: f32 = target
        .iter()
        .zip(output)
        .map(|(y, y_hat)| (y - y_hat) * (y - y_hat))
        .sum();
    error / target.iter().map(|y| y * y).sum::<f32>()
}

/// The effect the model learns: a one-pole high-pass at 120 Hz (the
/// amp's input coupling), an asymmetric soft clipper with drive, a
/// one-pole low-pass at 5 kHz (the speaker's roll-off).
struct Effect {
    high_pass: f32,
    low_pass: f32,
    /// The high-pass filter's last input and output, and the low-pass
    /// filter's last output.
    previous_input: f32,
    high: f32,
    low: f32,
}

impl Effect {
    const DRIVE: f32 = 5.0;
    /// The clipper's offset: it clips the negative half-waves harder, as
    /// a biased valve does, which adds even harmonics.
    const BIAS: f32 = 0.2;

    fn new() -> Self {
        let dt = 1.0 / SAMPLE_RATE as f32;
        let time_constant = |hertz: f32| 1.0 / (2.0 * core::f32::consts::PI * hertz);
        Self {
            high_pass: time_constant(120.0) / (time_constant(120.0) + dt),
            low_pass: dt / (time_constant(5_000.0) + dt),
            previous_input: 0.0,
            high: 0.0,
            low: 0.0,
        }
    }

    /// The effect on `input`, from silence.
    fn run(mut self, input: &[f32]) -> Vec<f32> {
        input.iter().map(|&x| self.process(x)).collect()
    }

    fn process(&mut self, x: f32) -> f32 {
        self.high = self.high_pass * (self.high + x - self.previous_input);
        self.previous_input = x;
        let clipped = (Self::DRIVE * self.high + Self::BIAS).tanh() - Self::BIAS.tanh();
        self.low += self.low_pass * (clipped - self.low);
        self.low
    }
}

/// `samples` of plucked strings, and the sample at which each note
/// starts: three strings played in turn, so that notes ring on under the
/// next ones, each pluck of random pitch (E2 to E5), velocity,
/// brightness and decay.
fn pluck_strings(samples: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = SplitMix(seed);
    let mut strings: [KarplusStrong; 3] = Default::default();
    let mut audio = Vec::with_capacity(samples);
    let mut onsets = Vec::new();
    let mut next_note = 0;
    for n in 0..samples {
        if n == next_note {
            let semitone = rng.uniform(0.0, 36.0).floor();
            let hertz = 82.41 * (semitone / 12.0).exp2();
            let (velocity, decay) = (rng.uniform(0.2, 1.0), rng.uniform(0.985, 0.999));
            strings[onsets.len() % 3].pluck(&mut rng, SAMPLE_RATE as f32 / hertz, velocity, decay);
            onsets.push(n);
            // 80 to 500 ms to the next note.
            next_note = n + whole(rng.uniform(0.08, 0.5) * SAMPLE_RATE as f32);
        }
        audio.push(0.3 * strings.iter_mut().map(KarplusStrong::next).sum::<f32>());
    }
    (audio, onsets)
}

/// A plucked string: a delay line one period long, filled with a burst of
/// noise, and averaged with a loss on every trip round it.
#[derive(Default)]
struct KarplusStrong {
    delay: Vec<f32>,
    position: usize,
    decay: f32,
}

impl KarplusStrong {
    /// Plucks the string for a period of `period` samples, a burst of
    /// amplitude `velocity` that loses `1 − decay` of itself every period.
    fn pluck(&mut self, rng: &mut SplitMix, period: f32, velocity: f32, decay: f32) {
        // Softer plucks sound duller: the noise smoothed by a one-pole
        // low-pass, the more so the lower the velocity.
        let smoothing = rng.uniform(0.1, 0.5) * (1.2 - velocity);
        let mut smoothed = 0.0;
        self.delay = (0..whole(period).max(2))
            .map(|_| {
                smoothed += (1.0 - smoothing) * (rng.uniform(-1.0, 1.0) - smoothed);
                smoothed
            })
            .collect();
        // No DC: the string would hold it forever, and the high-pass
        // would remove it anyway.
        let mean = self.delay.iter().sum::<f32>() / self.delay.len() as f32;
        let peak = self
            .delay
            .iter()
            .fold(0.0_f32, |peak, &value| peak.max((value - mean).abs()));
        for value in &mut self.delay {
            *value = velocity * (*value - mean) / peak;
        }
        self.position = 0;
        self.decay = decay;
    }

    fn next(&mut self) -> f32 {
        if self.delay.is_empty() {
            return 0.0;
        }
        let length = self.delay.len();
        let out = self.delay[self.position];
        let following = self.delay[(self.position + 1) % length];
        self.delay[self.position] = self.decay * 0.5 * (out + following);
        self.position = (self.position + 1) % length;
        out
    }
}

/// `SplitMix64`, enough randomness for a performance and the same on every
/// platform.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[low, high)`, from the top 24 bits.
    fn uniform(&mut self, low: f32, high: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1_u32 << 24) as f32;
        low + (high - low) * unit
    }
}

/// `x` rounded to a whole number of samples.
// Only ever a few seconds' worth of samples, never negative.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(x: f32) -> usize {
    x.round() as usize
}

/// 48 kHz mono 32-bit float.
fn write_wav(path: &Path, samples: &[f32]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &sample in samples {
        writer.write_sample(sample)?;
    }
    writer.finalize()
}

/// A stretch of the held-out input, target and output from sample `from`,
/// above the training ESR of every epoch, as a PNG chart.
fn plot_fit(
    path: &Path,
    from: usize,
    input: &[f32],
    target: &[f32],
    output: &[f32],
    history: &[f32],
) -> Result<(), Box<dyn Error>> {
    // The text is drawn with a font compiled into the program, so the plot
    // needs no font installed on the system.
    register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| "the bundled font is not a valid TrueType font")?;
    let root = BitMapBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(500);

    let milliseconds = |i: usize| 1000.0 * (from + i) as f32 / SAMPLE_RATE as f32;
    let (low, high) = input
        .iter()
        .chain(target)
        .chain(output)
        .fold((0.0_f32, 0.0_f32), |(low, high), &v| {
            (low.min(v), high.max(v))
        });
    let mut chart = ChartBuilder::on(&top)
        .caption(
            "1 -> lstm(16) -> linear(1) streaming held-out audio",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(
            milliseconds(0)..milliseconds(input.len()),
            // Room below the audio for the legend.
            low - 0.4..high + 0.1,
        )?;
    chart
        .configure_mesh()
        .x_desc("time in the held-out audio (ms)")
        .label_style(("sans-serif", 16))
        .draw()?;
    let series = [
        (
            "input (plucked strings)",
            input,
            BLUE.mix(0.6).stroke_width(1),
        ),
        (
            "target (the effect)",
            target,
            BLACK.mix(0.3).stroke_width(4),
        ),
        ("output (the model)", output, RED.stroke_width(1)),
    ];
    for (label, samples, style) in series {
        // Segment by segment: plotters joins the segments of a wide line
        // with mitres, which spike far out where the audio turns sharply.
        let points: Vec<(f32, f32)> = (0..)
            .zip(samples)
            .map(|(i, &v)| (milliseconds(i), v))
            .collect();
        let segments = points
            .windows(2)
            .map(|pair| PathElement::new(pair.to_vec(), style));
        chart
            .draw_series(segments)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;

    // The ESR in percent, on a log scale.
    let percent: Vec<f32> = history.iter().map(|esr| 100.0 * esr).collect();
    let (least, most) = percent
        .iter()
        .fold((f32::MAX, f32::MIN), |(least, most), &p| {
            (least.min(p), most.max(p))
        });
    let mut chart = ChartBuilder::on(&bottom)
        .caption("training ESR per epoch", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1..percent.len(), (least / 1.5..most * 1.5).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("ESR (%)")
        .label_style(("sans-serif", 16))
        .draw()?;
    chart.draw_series(LineSeries::new(
        (1..).zip(percent.iter().copied()),
        RED.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}
