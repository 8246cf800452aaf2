//! Learning-rate schedules against `torch.optim.lr_scheduler`: sequences
//! recorded by `tools/schedule_fixtures.py` in `tests/fixtures/schedules/`,
//! both PyTorch's closed forms and the rates its recursive steps leave in
//! the optimizer, which must agree with backprop's to 1e-12 relative.
//!
//! `cargo test --test schedules -- --nocapture` prints the worst relative
//! error of every case.

use backprop::schedule::{Cosine, Linear, Schedule, Step, WarmUp};
use serde::Deserialize;

/// Largest relative difference allowed between backprop and PyTorch.
const TOLERANCE: f64 = 1e-12;

/// One fixture file.
#[derive(Deserialize)]
struct Fixture {
    base: f64,
    schedule: Description,
    recursive: Vec<f64>,
    closed_form: Vec<f64>,
}

/// A schedule as the fixture names it, with PyTorch's argument names.
#[derive(Clone, Deserialize)]
#[serde(tag = "kind")]
enum Description {
    Step {
        step_size: usize,
        gamma: f64,
    },
    Linear {
        start_factor: f64,
        end_factor: f64,
        total_iters: usize,
    },
    Cosine {
        eta_min: f64,
        t_max: usize,
    },
    WarmUp {
        steps: usize,
        start_factor: f64,
        then: Box<Description>,
    },
}

/// Any of the schedules, chosen at run time: a user's own type
/// implementing [`Schedule`] by handing each step to the one it holds.
enum AnySchedule {
    Step(Step),
    Linear(Linear),
    Cosine(Cosine),
    WarmUp(Box<WarmUp<AnySchedule>>),
}

impl Schedule for AnySchedule {
    fn learning_rate(&self, step: usize) -> f64 {
        match self {
            Self::Step(s) => s.learning_rate(step),
            Self::Linear(s) => s.learning_rate(step),
            Self::Cosine(s) => s.learning_rate(step),
            Self::WarmUp(s) => s.learning_rate(step),
        }
    }
}

fn build(description: &Description, base: f64) -> AnySchedule {
    match *description {
        Description::Step { step_size, gamma } => AnySchedule::Step(Step {
            base,
            step_size,
            gamma,
        }),
        Description::Linear {
            start_factor,
            end_factor,
            total_iters,
        } => AnySchedule::Linear(Linear {
            base,
            start_factor,
            end_factor,
            total_iters,
        }),
        Description::Cosine { eta_min, t_max } => AnySchedule::Cosine(Cosine {
            base,
            eta_min,
            t_max,
        }),
        Description::WarmUp {
            steps,
            start_factor,
            ref then,
        } => AnySchedule::WarmUp(Box::new(WarmUp {
            steps,
            start_factor,
            then: build(then, base),
        })),
    }
}

/// Every fixture under `tests/fixtures/schedules`.
const CASES: [&str; 11] = [
    "step",
    "step_default_gamma",
    "linear_warm_up",
    "linear_anneal",
    "linear_defaults",
    "cosine",
    "cosine_to_zero",
    "warm_up_cosine",
    "warm_up_step",
    "warm_up_linear",
    "warm_up_linear_below_one",
];

fn fixture_dir() -> String {
    format!("{}/tests/fixtures/schedules", env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str) -> Fixture {
    let path = format!("{}/{name}.json", fixture_dir());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `|a − b| / max(|a|, |b|)`, with rates below `10⁻¹⁵·base` counted as
/// zero: where the closed form is exactly 0 (a cosine's minimum of 0, a
/// linear anneal's end), PyTorch's recursive steps may leave 10⁻²⁰.
fn relative_error(ours: f64, theirs: f64, base: f64) -> f64 {
    let scale = ours.abs().max(theirs.abs());
    if scale <= 1e-15 * base {
        0.0
    } else {
        (ours - theirs).abs() / scale
    }
}

/// The worst relative error of `schedule` over `expected`, asserting each
/// step is within the tolerance.
fn worst_error(name: &str, schedule: &dyn Schedule, expected: &[f64], base: f64) -> f64 {
    let mut worst = 0.0_f64;
    for (step, &theirs) in expected.iter().enumerate() {
        let ours = schedule.learning_rate(step);
        let error = relative_error(ours, theirs, base);
        assert!(
            error <= TOLERANCE,
            "{name}, step {step}: {ours:e}, PyTorch {theirs:e} ({error:.1e})"
        );
        worst = worst.max(error);
    }
    worst
}

/// Every case against one of the sequences PyTorch recorded.
fn check_every_case(sequence: fn(&Fixture) -> &[f64], what: &str) {
    for name in CASES {
        let fixture = load(name);
        let schedule = build(&fixture.schedule, fixture.base);
        // Where backprop differs from PyTorch on purpose, see below.
        let from = warm_up_differs(&fixture.schedule);
        let worst = worst_error(
            name,
            &Shifted(&schedule, from),
            &sequence(&fixture)[from..],
            fixture.base,
        );
        println!("{name}: {what} within {worst:.1e}");
    }
}

#[test]
fn every_schedule_matches_pytorchs_closed_form() {
    check_every_case(|fixture| &fixture.closed_form, "closed form");
}

#[test]
fn every_schedule_matches_pytorchs_recursive_steps() {
    check_every_case(|fixture| &fixture.recursive, "recursive steps");
}

/// `schedule` from step `from` on.
struct Shifted<'a>(&'a dyn Schedule, usize);

impl Schedule for Shifted<'_> {
    fn learning_rate(&self, step: usize) -> f64 {
        self.0.learning_rate(step + self.1)
    }
}

/// The steps of a warm-up into a `Linear` that starts below 1, where
/// PyTorch ramps up to the base rate and drops at the milestone while
/// `WarmUp` ramps up to where the `Linear` starts; 0 for every other case.
fn warm_up_differs(description: &Description) -> usize {
    match description {
        Description::WarmUp { steps, then, .. } => match **then {
            Description::Linear { start_factor, .. } if start_factor < 1.0 => *steps,
            _ => 0,
        },
        _ => 0,
    }
}

/// The documented difference, exactly: during the warm-up backprop's rate
/// is PyTorch's times the inner `Linear`'s start factor, so it meets the
/// inner schedule without a jump; after it, the two are the same.
#[test]
fn a_warm_up_into_a_linear_below_one_ramps_to_where_it_starts() {
    let fixture = load("warm_up_linear_below_one");
    let Description::WarmUp {
        steps, ref then, ..
    } = fixture.schedule
    else {
        panic!("a warm-up")
    };
    let Description::Linear { start_factor, .. } = **then else {
        panic!("into a Linear")
    };
    let schedule = build(&fixture.schedule, fixture.base);
    for step in 0..steps {
        let theirs = fixture.closed_form[step] * start_factor;
        let error = relative_error(schedule.learning_rate(step), theirs, fixture.base);
        assert!(error <= TOLERANCE, "step {step}: {error:e}");
    }
    // PyTorch's jump at the milestone, which backprop avoids.
    let (before, at) = (fixture.recursive[steps - 1], fixture.recursive[steps]);
    assert!(before > at * 1.5, "PyTorch drops from {before} to {at}");
    let (before, at) = (
        schedule.learning_rate(steps - 1),
        schedule.learning_rate(steps),
    );
    assert!(before < at, "backprop rises from {before} to {at}");
}

/// The fixtures go past the end of every decay, where the formulas change.
#[test]
fn the_fixtures_reach_past_total_iters_and_t_max() {
    for name in CASES {
        let fixture = load(name);
        let steps = fixture.closed_form.len();
        assert_eq!(steps, fixture.recursive.len(), "{name}");
        let end = match &fixture.schedule {
            Description::Step { step_size, .. } => 3 * step_size,
            Description::Linear { total_iters, .. } => *total_iters,
            Description::Cosine { t_max, .. } => *t_max,
            Description::WarmUp { steps, then, .. } => {
                steps
                    + match **then {
                        Description::Step { step_size, .. } => 3 * step_size,
                        Description::Linear { total_iters, .. } => total_iters,
                        Description::Cosine { t_max, .. } => t_max,
                        Description::WarmUp { .. } => unreachable!("one warm-up"),
                    }
            }
        };
        assert!(
            steps > end + 5,
            "{name}: {steps} steps, the decay ends at {end}"
        );
    }
}

#[test]
fn cosine_climbs_back_after_t_max_as_pytorchs_does() {
    let fixture = load("cosine");
    let cosine = build(&fixture.schedule, fixture.base);
    // t_max = 20: the minimum at 20, the base again at 40.
    assert!((cosine.learning_rate(20) - 0.001).abs() < 1e-15);
    assert!((cosine.learning_rate(40) - 0.1).abs() < 1e-15);
    assert!((fixture.recursive[40] - 0.1).abs() < 1e-15);
}

#[test]
fn every_fixture_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("the fixture directory exists")
        .map(|entry| {
            let path = entry.expect("a readable entry").path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    found.sort_unstable();
    let mut checked: Vec<String> = CASES.iter().map(|&name| name.to_owned()).collect();
    checked.sort_unstable();
    assert_eq!(found, checked);
}

#[test]
fn a_warm_up_of_no_steps_is_the_schedule_after_it() {
    let cosine = Cosine {
        base: 0.1,
        eta_min: 0.0,
        t_max: 10,
    };
    let none = WarmUp {
        steps: 0,
        start_factor: 0.1,
        then: cosine,
    };
    for step in 0..30 {
        assert_eq!(
            none.learning_rate(step).to_bits(),
            cosine.learning_rate(step).to_bits()
        );
    }
}

#[test]
#[should_panic(expected = "Step's step_size must be at least 1")]
fn a_step_of_size_zero_panics() {
    let _ = Step {
        base: 0.1,
        step_size: 0,
        gamma: 0.5,
    }
    .learning_rate(3);
}

#[test]
#[should_panic(expected = "Linear's total_iters must be at least 1")]
fn a_linear_of_no_steps_panics() {
    let _ = Linear {
        base: 0.1,
        start_factor: 0.5,
        end_factor: 1.0,
        total_iters: 0,
    }
    .learning_rate(0);
}

#[test]
#[should_panic(expected = "Cosine's t_max must be at least 1")]
fn a_cosine_of_no_steps_panics() {
    let _ = Cosine {
        base: 0.1,
        eta_min: 0.0,
        t_max: 0,
    }
    .learning_rate(0);
}
