//! The implementations of one workload, timed twice: by criterion, one after
//! the other, and then against each other in interleaved rounds.
//!
//! On a shared machine the load drifts over the seconds criterion spends on
//! each implementation, which moves their ratio. Interleaved rounds (each
//! implementation timed for a few milliseconds in turn, many times) see the
//! same drift, so the median of the per-round ratios is the steadier figure.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

/// Time of one implementation in one round.
const ROUND: Duration = Duration::from_millis(8);

/// Interleaved rounds.
const ROUNDS: usize = 41;

/// One implementation: a name and a call that runs one step.
type Entry<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Named implementations of one workload; by default `generated` is
/// compared with the best of `expert` and `ndarray`, the bar the generated
/// code is held to.
pub(crate) struct Contest<'a> {
    name: String,
    entries: Vec<Entry<'a>>,
    /// The implementation whose ratio is printed.
    subject: &'static str,
    /// What it is compared with: the fastest of these in each round.
    bars: &'static [&'static str],
}

impl<'a> Contest<'a> {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            entries: Vec::new(),
            subject: "generated",
            bars: &["expert", "ndarray"],
        }
    }

    /// Compares `subject` with the best of `bars` instead.
    pub(crate) fn compare(self, subject: &'static str, bars: &'static [&'static str]) -> Self {
        Self {
            subject,
            bars,
            ..self
        }
    }

    /// Adds an implementation: `step` runs it once and returns what it
    /// computed, which is kept from the optimizer.
    pub(crate) fn add<R>(&mut self, name: &'static str, mut step: impl FnMut() -> R + 'a) {
        self.entries.push((
            name,
            Box::new(move || {
                black_box(step());
            }),
        ));
    }

    /// Times every implementation with criterion in a group of the
    /// contest's name, then in interleaved rounds, which it prints; returns
    /// each implementation's median seconds per step in those rounds (none
    /// when criterion only tests or lists the benchmarks).
    pub(crate) fn run(
        mut self,
        c: &mut Criterion,
        configure: impl FnOnce(&mut BenchmarkGroup<'_, WallTime>),
    ) -> Option<Vec<(&'static str, f64)>> {
        let mut group = c.benchmark_group(&self.name);
        configure(&mut group);
        for (name, step) in &mut self.entries {
            group.bench_function(*name, |b| b.iter(&mut *step));
        }
        group.finish();
        (timing_requested() && selected(&self.name)).then(|| self.interleaved())
    }

    /// `ROUNDS` rounds, each timing every implementation for about `ROUND`,
    /// in alternating order;
    /// prints the median time of each and the median per-round ratio of
    /// the subject to the best of its bars, and returns the medians.
    fn interleaved(&mut self) -> Vec<(&'static str, f64)> {
        let calls: Vec<u32> = self
            .entries
            .iter_mut()
            .map(|(_, step)| calls_per_round(step))
            .collect();
        let mut times = vec![Vec::with_capacity(ROUNDS); self.entries.len()];
        for round in 0..ROUNDS {
            // Forwards in even rounds, backwards in odd ones, so that no
            // implementation always follows the same other one (whose data
            // it finds in the caches).
            let mut order: Vec<usize> = (0..self.entries.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for entry in order {
                let step = &mut self.entries[entry].1;
                let start = Instant::now();
                for _ in 0..calls[entry] {
                    step();
                }
                times[entry].push(start.elapsed().as_secs_f64() / f64::from(calls[entry]));
            }
        }
        let index = |name: &str| self.entries.iter().position(|(entry, _)| *entry == name);
        let medians: Vec<(&'static str, f64)> = self
            .entries
            .iter()
            .zip(&times)
            .map(|((name, _), times)| (*name, median(times.clone())))
            .collect();
        let shown: Vec<String> = medians
            .iter()
            .map(|(name, seconds)| format!("{name} {}", duration(*seconds)))
            .collect();
        println!("{}, interleaved ({ROUNDS} rounds):", self.name);
        println!("  median per step: {}", shown.join(", "));
        let bars: Vec<usize> = self.bars.iter().filter_map(|bar| index(bar)).collect();
        let (Some(subject), false) = (index(self.subject), bars.is_empty()) else {
            return medians;
        };
        let ratios: Vec<f64> = (0..ROUNDS)
            .map(|round| {
                let best = bars
                    .iter()
                    .map(|&bar| times[bar][round])
                    .fold(f64::INFINITY, f64::min);
                times[subject][round] / best
            })
            .collect();
        let mut sorted = ratios;
        sorted.sort_by(f64::total_cmp);
        println!(
            "  {} / best of {}: {:.3} (quartiles {:.3}–{:.3})",
            self.subject,
            self.bars.join(" and "),
            sorted[ROUNDS / 2],
            sorted[ROUNDS / 4],
            sorted[3 * ROUNDS / 4]
        );
        medians
    }
}

/// Whether the benchmark runs to be timed: `cargo bench` passes `--bench`;
/// `cargo test --benches` does not (criterion then runs each benchmark once
/// as a test, in an unoptimised build), and `--list` and `--profile-time`
/// ask for something else.
/// Whether the contest's name contains the filter given on the command
/// line, if any (`cargo bench --bench w7_parallel -- W4`), as criterion
/// selects its benchmarks.
fn selected(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .all(|filter| name.contains(&filter))
}

fn timing_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|arg| arg == "--bench")
        && !args
            .iter()
            .any(|arg| arg == "--test" || arg == "--list" || arg == "--profile-time")
}

/// How many calls of `step` take about `ROUND`: doubled until they take a
/// quarter of it, then scaled to the whole.
fn calls_per_round(step: &mut dyn FnMut()) -> u32 {
    let mut calls = 1_u32;
    loop {
        let start = Instant::now();
        for _ in 0..calls {
            step();
        }
        let elapsed = start.elapsed();
        if elapsed >= ROUND / 4 || calls >= 1 << 24 {
            let scaled = u128::from(calls) * ROUND.as_nanos() / elapsed.as_nanos().max(1);
            return u32::try_from(scaled).unwrap_or(u32::MAX).max(1);
        }
        calls *= 2;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Seconds as ns, µs or ms, as criterion shows them.
fn duration(seconds: f64) -> String {
    if seconds < 1e-6 {
        format!("{:.1} ns", seconds * 1e9)
    } else if seconds < 1e-3 {
        format!("{:.2} µs", seconds * 1e6)
    } else {
        format!("{:.3} ms", seconds * 1e3)
    }
}
