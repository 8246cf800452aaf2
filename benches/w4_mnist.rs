//! W4, mnist: 784 → relu(128) → softmax(10), `cross_entropy`, one SGD
//! step on a batch of 128; and the single-core f32 GEMM rate of the same
//! machine in the same run (`matrixmultiply`'s `sgemm`, through `ndarray`),
//! with a summary at the end: each implementation's median time in the
//! interleaved rounds, its GFLOP/s and the fraction of the GEMM rate it
//! reaches.

mod baselines;

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

use backprop::Network;
use backprop::Sgd;
use baselines::contest::Contest;
use baselines::expert::{Mlp2, Relu, SoftmaxCrossEntropy};
use baselines::ndarray_gemm::{Activation, Loss};
use baselines::{LR, add_run_time_shaped, classes, inputs};
use criterion::{Criterion, Throughput, criterion_group};
use ndarray::Array2;
use ndarray::linalg::general_mat_mul;

backprop::network! {
    /// The mnist network.
    pub Mnist = 784 -> relu(128) -> softmax(10); loss = cross_entropy
}

const B: usize = 128;
const TRAIN_GROUP: &str = "W4 mnist train_step batch 128";
const GEMM_GROUP: &str = "single-core f32 GEMM";

/// Floating-point operations of one train step: the products `X·W¹`,
/// `Xᵀ·Δ¹` (784 × 128 × 128 each), `H¹·W²`, `H¹ᵀ·Δ²` and `Δ²·W²ᵀ`
/// (128 × 128 × 10 each), two operations per multiply-add. The first
/// layer's input gradient is not needed; element-wise work is not counted.
const TRAIN_FLOP: u64 = 2 * B as u64 * (2 * 784 * 128 + 3 * 128 * 10);

/// The GEMM shapes measured: W4's first-layer product, and a large square
/// one for the machine's peak.
const GEMM_SHAPES: [(usize, usize, usize); 2] = [(128, 784, 128), (1024, 1024, 1024)];

/// Each implementation's median seconds per train step in the interleaved
/// rounds, for the summary.
static INTERLEAVED: OnceLock<Vec<(&'static str, f64)>> = OnceLock::new();

fn gemm_name((m, k, n): (usize, usize, usize)) -> String {
    format!("{m}x{k}x{n}")
}

fn train_step(c: &mut Criterion) {
    let (x, y) = (inputs::<B, 784>(1), classes::<B, 10>());
    let (x, y) = (&*x, &*y);
    let mut contest = Contest::new(TRAIN_GROUP);
    let start = Mnist::seeded(1);

    let mut network = start.clone();
    let mut sgd = Sgd::new(f64::from(LR));
    contest.add("generated", move || {
        network.train_step(black_box(x), black_box(y), &mut sgd)
    });

    let mut expert =
        Mlp2::<Relu, SoftmaxCrossEntropy, B, 784, 128, 10>::from_params(start.params());
    contest.add("expert", move || {
        expert.train_step(black_box(x), black_box(y), LR)
    });

    add_run_time_shaped(
        &mut contest,
        &[784, 128, 10],
        &[Activation::Relu, Activation::Linear],
        Loss::SoftmaxCrossEntropy,
        start.params(),
        (x, y),
    );
    let medians = contest.run(c, |group| {
        group.throughput(Throughput::Elements(TRAIN_FLOP));
    });
    if let Some(medians) = medians {
        INTERLEAVED
            .set(medians)
            .expect("the train steps are timed once");
    }
}

/// `C = A·B` with `matrixmultiply`'s packed `sgemm` (which `ndarray` calls
/// for contiguous `f32` matrices); throughput in floating-point operations.
fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group(GEMM_GROUP);
    for shape @ (m, k, n) in GEMM_SHAPES {
        let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 31 + j * 7) % 97) as f32 / 97.0);
        let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 13 + j * 5) % 89) as f32 / 89.0);
        let mut out = Array2::<f32>::zeros((m, n));
        group.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        if m * k * n > 1 << 24 {
            group.sample_size(10);
        }
        group.bench_function(gemm_name(shape), |bench| {
            bench.iter(|| {
                general_mat_mul(1.0, black_box(&a), black_box(&b), 0.0, &mut out);
                black_box(out[[0, 0]])
            });
        });
    }
    group.finish();
}

/// Where criterion keeps its results: `$CRITERION_HOME`, or `criterion/`
/// in the target directory (the benchmark runs from `target/release/deps/`).
fn criterion_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// The time per iteration (seconds) criterion estimated for `group/name`
/// in this run: the slope of its linear fit, or the mean when it made no
/// fit; `None` when that benchmark did not run since `started`.
fn measured(group: &str, name: &str, started: SystemTime) -> Option<f64> {
    let file = criterion_home()?
        .join(group)
        .join(name)
        .join("new")
        .join("estimates.json");
    if std::fs::metadata(&file).ok()?.modified().ok()? < started {
        return None;
    }
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let nanoseconds = ["slope", "mean"]
        .iter()
        .find_map(|key| estimates[key]["point_estimate"].as_f64())?;
    Some(nanoseconds * 1e-9)
}

/// The table of the run: each W4 implementation's median time in the
/// interleaved rounds, its rate in GFLOP/s and that rate as a fraction of
/// the GEMM rates criterion measured.
fn summary(started: SystemTime) {
    let gflops = |flop: u64, seconds: f64| flop as f64 / seconds * 1e-9;
    let rates: Vec<(String, f64)> = GEMM_SHAPES
        .iter()
        .filter_map(|&shape @ (m, k, n)| {
            let name = gemm_name(shape);
            let seconds = measured(GEMM_GROUP, &name, started)?;
            Some((name, gflops(2 * (m * k * n) as u64, seconds)))
        })
        .collect();
    let Some(medians) = INTERLEAVED.get() else {
        return;
    };
    println!();
    println!(
        "W4 summary ({:.1} MFLOP per step)",
        TRAIN_FLOP as f64 * 1e-6
    );
    for (name, rate) in &rates {
        println!("  sgemm {name:>15}: {rate:6.1} GFLOP/s");
    }
    let ndarray = medians.iter().find(|(name, _)| *name == "ndarray");
    for &(name, seconds) in medians {
        let rate = gflops(TRAIN_FLOP, seconds);
        let versus = ndarray.map_or(String::new(), |(_, base)| {
            format!(", {:.2}× ndarray", seconds / base)
        });
        let mut share = String::new();
        for (gemm, gemm_rate) in &rates {
            let percent = 100.0 * rate / gemm_rate;
            write!(share, ", {percent:.0}% of sgemm {gemm}").expect("a String grows");
        }
        println!(
            "  {name:>9}: {:8.3} ms, {rate:6.1} GFLOP/s{versus}{share}",
            seconds * 1e3
        );
    }
}

criterion_group! {
    name = w4;
    config = baselines::criterion();
    targets = train_step, gemm
}

fn main() {
    let started = SystemTime::now();
    w4();
    Criterion::default().configure_from_args().final_summary();
    summary(started);
}
