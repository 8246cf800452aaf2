//! W6, one-sample latency: the forward pass of one sample through W2's
//! shape, `8 → A(32) → A(32) → linear(2)`, for every activation `A`, in
//! `f32` and `f64`, and with each output fed back as the next input (the
//! latency a control loop or a recurrent use sees, not the throughput of
//! independent calls). Beside them, in the same rounds, the machine's
//! floor: the network's 1,344 multiply-adds as independent AVX2 FMAs.
//!
//! The table at the end gives each time as a multiple of that floor, and
//! each `f32` network's time as a multiple of the linear one's and each
//! `f64` network's as a multiple of its `f32` twin's: a row function that
//! does not vectorise shows there.

mod baselines;

use std::hint::black_box;
use std::time::Duration;

use backprop::Network;
use baselines::contest::Contest;
use criterion::{Criterion, criterion_group, criterion_main};

/// Declares the `f32` and the `f64` network of one activation.
macro_rules! shapes {
    ($($name:literal: $f32:ident, $f64:ident = $layer:ident($($parameters:tt)*);)*) => {
        $(
            backprop::network! {
                $f32 = 8 -> $layer(32 $($parameters)*) -> $layer(32 $($parameters)*) -> linear(2);
                loss = mse
            }
            backprop::network! {
                $f64 = 8 -> $layer(32 $($parameters)*) -> $layer(32 $($parameters)*) -> linear(2);
                loss = mse; float = f64
            }
        )*

        /// Every activation's name and its three timings, in nanoseconds.
        fn every_activation(c: &mut Criterion) -> Vec<(&'static str, Timings)> {
            vec![$(($name, latencies(c, $name, &$f32::seeded(1), &$f64::seeded(1)))),*]
        }
    };
}

shapes! {
    "linear": Linear32, Linear64 = linear();
    "relu": Relu32, Relu64 = relu();
    "leaky_relu": LeakyRelu32, LeakyRelu64 = leaky_relu();
    "tanh": Tanh32, Tanh64 = tanh();
    "sigmoid": Sigmoid32, Sigmoid64 = sigmoid();
    "elu": Elu32, Elu64 = elu();
    "silu": Silu32, Silu64 = silu();
    "gelu": Gelu32, Gelu64 = gelu();
    "gelu (tanh)": GeluTanh32, GeluTanh64 = gelu(, approximate = tanh);
    "softplus": Softplus32, Softplus64 = softplus();
}

/// The multiply-adds of one sample through the shape.
const MULTIPLY_ADDS: usize = 8 * 32 + 32 * 32 + 32 * 2;

/// Nanoseconds of one sample: `f32`, `f64`, `f32` fed back, and the floor
/// timed in the same rounds.
#[derive(Clone, Copy)]
struct Timings {
    single: f64,
    double: f64,
    fed_back: f64,
    floor: Option<f64>,
}

/// One sample's forward pass through `single` and `double`, independent
/// calls and fed back, against the FMA floor.
fn latencies<S, D>(c: &mut Criterion, name: &str, single: &S, double: &D) -> Timings
where
    S: Network<Float = f32, Input = [f32; 8], Output = [f32; 2]>,
    D: Network<Float = f64, Input = [f64; 8], Output = [f64; 2]>,
{
    let mut contest = Contest::new(format!("W6 latency {name}")).compare("f32", &["fma floor"]);
    let x: [[f32; 8]; 1] = [core::array::from_fn(|k| 0.1 * k as f32 - 0.3)];
    let x64: [[f64; 8]; 1] = [x[0].map(f64::from)];
    let (single_copy, double_copy) = (single.clone(), double.clone());
    contest.add("f32", move || single_copy.forward(black_box(&x)));
    contest.add("f64", move || double_copy.forward(black_box(&x64)));
    let fed = single.clone();
    let mut state = x;
    contest.add("f32 fed back", move || {
        let y = fed.forward(&state);
        // Bounded, so that the loop settles on normal numbers.
        state[0][0] = y[0][0].clamp(-4.0, 4.0);
        state[0][1] = y[0][1].clamp(-4.0, 4.0);
        y
    });
    if let Some(floor) = floor::multiply_adds() {
        contest.add("fma floor", floor);
    }
    let Some(medians) = contest.run(c, |group| {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(600));
    }) else {
        return Timings {
            single: f64::NAN,
            double: f64::NAN,
            fed_back: f64::NAN,
            floor: None,
        };
    };
    let nanoseconds = |entry: &str| {
        medians
            .iter()
            .find(|(name, _)| *name == entry)
            .map(|(_, seconds)| seconds * 1e9)
    };
    Timings {
        single: nanoseconds("f32").expect("timed"),
        double: nanoseconds("f64").expect("timed"),
        fed_back: nanoseconds("f32 fed back").expect("timed"),
        floor: nanoseconds("fma floor"),
    }
}

fn latency(c: &mut Criterion) {
    let rows = every_activation(c);
    if rows.iter().all(|(_, timings)| timings.single.is_nan()) {
        return;
    }
    // The first row is `linear`'s: an activation far above it, or `f64`
    // far above `f32`, is a row function the compiler did not vectorise.
    let linear = rows[0].1.single;
    println!("W6 one-sample forward, 8 → A(32) → A(32) → linear(2), ns (÷ FMA floor):");
    println!("| A | f32 | f64 | f32 fed back | f32 ÷ linear | f64 ÷ f32 |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for &(name, t) in &rows {
        let cell = |ns: f64| match t.floor {
            Some(floor) => format!("{ns:.0} ({:.1}×)", ns / floor),
            None => format!("{ns:.0}"),
        };
        println!(
            "| {name} | {} | {} | {} | {:.2} | {:.2} |",
            cell(t.single),
            cell(t.double),
            cell(t.fed_back),
            t.single / linear,
            t.double / t.single
        );
    }
    if let Some(floor) = rows.iter().find_map(|(_, timings)| timings.floor) {
        println!("FMA floor: {MULTIPLY_ADDS} multiply-adds in {floor:.1} ns (first contest)");
    }
}

/// The machine's multiply-add throughput, where it has AVX2 and FMA.
mod floor {
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::{__m256, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps};
    use std::hint::black_box;

    /// Independent accumulators: more than FMA's latency times its ports,
    /// so that the loop is bound by throughput.
    #[cfg(target_arch = "x86_64")]
    const CHAINS: usize = 12;

    /// A call that does [`super::MULTIPLY_ADDS`] multiply-adds, eight at a
    /// time in independent chains; `None` without AVX2 and FMA.
    pub(crate) fn multiply_adds() -> Option<fn() -> f32> {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Some(|| {
                // SAFETY: the CPU has AVX2 and FMA, checked above.
                #[allow(unsafe_code)]
                unsafe {
                    fused(black_box(0.999), black_box(1e-3))
                }
            });
        }
        None
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn fused(a: f32, b: f32) -> f32 {
        // Each chain starts from its own value: from equal starts the
        // compiler finds the chains equal and computes only one of them.
        let mut chains: [__m256; CHAINS] =
            std::array::from_fn(|chain| _mm256_set1_ps(b + chain as f32));
        let (a, b) = (_mm256_set1_ps(a), _mm256_set1_ps(b));
        for _ in 0..super::MULTIPLY_ADDS / (8 * CHAINS) {
            for chain in &mut chains {
                *chain = _mm256_fmadd_ps(*chain, a, b);
            }
        }
        let mut lanes = [0.0_f32; 8];
        let sum = chains.iter().fold(_mm256_set1_ps(0.0), |sum, &chain| {
            std::arch::x86_64::_mm256_add_ps(sum, chain)
        });
        // SAFETY: `lanes` holds eight floats.
        #[allow(unsafe_code)]
        unsafe {
            _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
        }
        lanes.iter().sum()
    }
}

criterion_group! {
    name = w6;
    config = Criterion::default();
    targets = latency
}
criterion_main!(w6);
