//! An optimizer's state, read out and restored into a new optimizer, gives
//! the same next steps, bit for bit, as the optimizer it came from; a state
//! that does not fit is refused and leaves the optimizer as it was.

#![allow(clippy::float_cmp)]

use backprop::runtime::{Resume, StateError};
use backprop::{Adam, AdamW, Optimizer, Sgd};

/// Gradients that change from step to step.
fn gradient(step: usize) -> [f64; 3] {
    let s = step as f64;
    [0.5 - 0.1 * s, (0.3 * s).sin(), -0.25 + 0.05 * s * s]
}

/// The state of `optimizer`, copied.
fn state<O: Resume<f64>>(optimizer: &O) -> (u64, Vec<(&'static str, Vec<f64>)>) {
    let mut buffers = Vec::new();
    optimizer.buffers(&mut |name, values| buffers.push((name, values.to_vec())));
    (optimizer.steps(), buffers)
}

fn restore<O: Resume<f64>>(
    optimizer: &mut O,
    state: &(u64, Vec<(&str, Vec<f64>)>),
) -> Result<(), StateError> {
    let views: Vec<&[f64]> = state.1.iter().map(|(_, values)| &values[..]).collect();
    optimizer.restore(state.0, &views)
}

/// Five steps of `original`, then its state restored into `fresh`; both
/// take five more steps from the same parameters and must agree exactly,
/// and with an optimizer that took all ten.
fn check_resumes<O: Optimizer<f64> + Resume<f64> + Clone>(make: impl Fn() -> O, names: &[&str]) {
    let mut straight = make();
    let mut params = [1.0, -0.5, 0.25];
    for step in 0..5 {
        straight.step(&mut params, &gradient(step));
    }
    let saved = state(&straight);
    assert_eq!(
        saved.1.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        names
    );

    let mut resumed = make();
    restore(&mut resumed, &saved).expect("the state fits");
    assert_eq!(state(&resumed), saved);
    let mut resumed_params = params;
    for step in 5..10 {
        straight.step(&mut params, &gradient(step));
        resumed.step(&mut resumed_params, &gradient(step));
    }
    assert_eq!(params, resumed_params);

    // A new optimizer from the same parameters, without the state, steps
    // elsewhere: the comparison above can fail.
    let mut forgetful = make();
    let mut forgetful_params = resumed_params_at_five(&make);
    for step in 5..10 {
        forgetful.step(&mut forgetful_params, &gradient(step));
    }
    assert_ne!(forgetful_params, params);
}

/// The parameters after five steps of a new optimizer.
fn resumed_params_at_five<O: Optimizer<f64>>(make: &impl Fn() -> O) -> [f64; 3] {
    let mut optimizer = make();
    let mut params = [1.0, -0.5, 0.25];
    for step in 0..5 {
        optimizer.step(&mut params, &gradient(step));
    }
    params
}

#[test]
fn adam_resumes_exactly() {
    check_resumes(|| Adam::new(0.05), &["exp_avg", "exp_avg_sq"]);
    check_resumes(
        || Adam::new(0.05).weight_decay(0.1).amsgrad(Vec::new()),
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    );
}

#[test]
fn adamw_resumes_exactly() {
    check_resumes(|| AdamW::new(0.05), &["exp_avg", "exp_avg_sq"]);
    check_resumes(
        || AdamW::new(0.05).amsgrad(Vec::new()),
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    );
}

#[test]
fn sgd_with_momentum_resumes_exactly() {
    check_resumes(|| Sgd::new(0.05).momentum(0.9), &["momentum_buffer"]);
    check_resumes(
        || {
            Sgd::new(0.05)
                .momentum(0.9)
                .nesterov(true)
                .weight_decay(0.01)
        },
        &["momentum_buffer"],
    );
}

#[test]
fn state_in_arrays_resumes_exactly() {
    check_resumes(
        || Adam::with_state(0.05, [0.0; 3], [0.0; 3]),
        &["exp_avg", "exp_avg_sq"],
    );
    check_resumes(
        || Sgd::with_state(0.05, [0.0; 3]).momentum(0.5),
        &["momentum_buffer"],
    );
}

#[test]
fn an_optimizer_before_its_first_step_has_no_state_and_restores_to_none() {
    let adam = Adam::<Vec<f64>>::new(0.1);
    assert_eq!(state(&adam), (0, vec![]));
    assert_eq!(adam.kind(), "Adam");
    let mut stepped = Adam::new(0.1);
    stepped.step(&mut [1.0_f64], &[1.0]);
    // A state of no steps restores a fresh optimizer's first step.
    restore(&mut stepped, &(0, vec![])).expect("no state fits");
    let (mut a, mut b) = ([1.0], [1.0]);
    stepped.step(&mut a, &[2.0]);
    Adam::new(0.1).step(&mut b, &[2.0]);
    assert_eq!(a, b);

    // The same with amsgrad, whose running maximum starts again from zero.
    let mut stepped = Adam::new(0.1).amsgrad(Vec::new());
    stepped.step(&mut [1.0_f64], &[10.0]);
    restore(&mut stepped, &(0, vec![])).expect("no state fits");
    let (mut a, mut b) = ([1.0], [1.0]);
    for g in [0.5, 0.25] {
        stepped.step(&mut a, &[g]);
    }
    let mut fresh = Adam::new(0.1).amsgrad(Vec::new());
    for g in [0.5, 0.25] {
        fresh.step(&mut b, &[g]);
    }
    assert_eq!(a, b);

    let sgd = Sgd::<Vec<f64>>::new(0.1).momentum(0.9);
    assert_eq!((sgd.kind(), state(&sgd)), ("SGD", (0, vec![])));
    assert_eq!(Sgd::<Vec<f64>>::new(0.1).buffer_names(), [] as [&str; 0]);
}

#[test]
fn a_state_that_does_not_fit_is_refused_and_the_optimizer_is_unchanged() {
    let mut adam = Adam::new(0.1).amsgrad(Vec::new());
    let mut params = [1.0_f64, 2.0];
    adam.step(&mut params, &[0.5, -0.5]);
    let before = adam.clone();
    let two = [0.1, 0.2];
    let three = [0.1, 0.2, 0.3];

    // Two buffers for amsgrad's three.
    let error = adam.restore(3, &[&two, &two]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Adam with these options keeps 3 state buffers (`exp_avg`, `exp_avg_sq`, \
         `max_exp_avg_sq`); the state given has 2"
    );
    // Buffers of another length than the optimizer's storage holds.
    let error = adam.restore(3, &[&three, &three, &three]).unwrap_err();
    assert_eq!(
        error,
        StateError::Length {
            name: "exp_avg",
            expected: 2,
            found: 3
        }
    );
    // Buffers of unequal lengths.
    let mut fresh = Adam::new(0.1);
    let error = Resume::<f64>::restore(&mut fresh, 1, &[&two, &three]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the state buffer `exp_avg_sq` holds 3 values; the optimizer needs 2"
    );
    assert_eq!(Resume::<f64>::steps(&fresh), 0);
    // Moments without a step, a step without moments.
    assert!(matches!(
        adam.restore(0, &[&two, &two, &two]),
        Err(StateError::Steps { .. })
    ));
    assert!(matches!(
        adam.restore(2, &[]),
        Err(StateError::Steps { .. })
    ));
    assert_eq!(adam, before);

    // SGD keeps no step count, and plain SGD no buffer.
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    assert!(matches!(
        sgd.restore(1, &[&two]),
        Err(StateError::Steps { .. })
    ));
    let mut plain = Sgd::new(0.1);
    assert!(matches!(
        plain.restore(0, &[&two]),
        Err(StateError::Buffers { found: 1, .. })
    ));
    let mut arrays = Sgd::with_state(0.1, [0.0_f64; 2]).momentum(0.9);
    assert!(matches!(
        arrays.restore(0, &[&three]),
        Err(StateError::Length { expected: 2, .. })
    ));
}
