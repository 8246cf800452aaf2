//! Networks declared with `loss = none`: trained only from a gradient of the
//! caller's own loss, they have the forward and backward passes, equations,
//! diagrams and weight files of any other network, and no built-in loss
//! (calling one is refused at compile time: `macros/tests/ui/`).

use backprop::{Adam, BatchError, Network, Optimizer};

backprop::network! {
    /// An actor as DDPG trains it: `−∂Q/∂a` is its only gradient.
    Actor = 3 -> relu(8) -> tanh(2); loss = none; float = f64
}

backprop::network! {
    /// The same layers with a built-in loss, for comparison.
    WithLoss = 3 -> relu(8) -> tanh(2); loss = mse; float = f64
}

fn inputs<const B: usize>() -> [[f64; 3]; B] {
    core::array::from_fn(|r| core::array::from_fn(|c| (0.7 * (3 * r + c) as f64 + 0.2).sin()))
}

/// `L = Σ (ŷ − t)⁴ / 4` with fixed `t`, a loss no DSL has: `∂L/∂Ŷ = (ŷ − t)³`.
fn quartic<const B: usize>(output: &[[f64; 2]; B]) -> (f64, [[f64; 2]; B]) {
    let mut grad = [[0.0; 2]; B];
    let mut loss = 0.0;
    for (r, row) in output.iter().enumerate() {
        for (c, &value) in row.iter().enumerate() {
            let d = value - (0.3 * r as f64 - 0.2 * c as f64);
            loss += d.powi(4) / 4.0;
            grad[r][c] = d.powi(3);
        }
    }
    (loss, grad)
}

#[test]
fn a_network_without_a_loss_says_so() {
    assert_eq!(Actor::LOSS, None);
    assert!(WithLoss::LOSS.is_some());
    let equations = Actor::EQUATIONS;
    assert!(
        equations.contains("Backward, from a supplied ∂L/∂Ŷ (backward, Trace):"),
        "{equations}"
    );
    assert!(
        equations.contains("Δ² = ∂L/∂Ŷ ⊙ (1 − H² ⊙ H²)"),
        "{equations}"
    );
    assert!(!equations.contains("L = "), "{equations}");
    let dot = backprop::diagram::Diagram::new(&Actor::seeded(1)).to_string();
    assert!(dot.contains("L\\nyour own"), "{dot}");
}

#[test]
fn backward_is_the_gradient_of_the_callers_loss() {
    let actor = Actor::seeded(4);
    let x = inputs::<5>();
    let (_, grad_output) = quartic(&actor.forward(&x));
    let (grad, grad_x) = actor.backward(&x, &grad_output);
    let h = 1e-6;
    for index in 0..Actor::PARAMS {
        let (mut up, mut down) = (actor.clone(), actor.clone());
        up.params_mut()[index] += h;
        down.params_mut()[index] -= h;
        let numeric = (quartic(&up.forward(&x)).0 - quartic(&down.forward(&x)).0) / (2.0 * h);
        let analytic = grad.params()[index];
        assert!(
            (numeric - analytic).abs() <= 1e-6 * numeric.abs().max(analytic.abs()).max(1e-3),
            "parameter {index}: analytic {analytic}, numeric {numeric}"
        );
    }
    // The same parameters in a network with a loss backpropagate the same.
    let mut twin = WithLoss::zeros();
    twin.params_mut().copy_from_slice(actor.params());
    let (twin_grad, twin_grad_x) = twin.backward(&x, &grad_output);
    assert_eq!(grad.params(), twin_grad.params());
    assert_eq!(grad_x, twin_grad_x);
    // And run-time batches the same as compile-time ones.
    let mut sliced = Actor::zeros();
    let mut sliced_x = [[0.0; 3]; 5];
    actor
        .backward_slice(&x, &grad_output, &mut sliced, Some(&mut sliced_x))
        .expect("a valid batch");
    for (a, b) in sliced.params().iter().zip(grad.params()) {
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
    }
}

#[test]
fn it_trains_on_its_own_loss() {
    let mut actor = Actor::seeded(2);
    let mut adam = Adam::new(0.01);
    let x = inputs::<8>();
    let mut grad = Actor::zeros();
    let first = quartic(&actor.forward(&x)).0;
    for _ in 0..300 {
        grad.params_mut().fill(0.0);
        let trace = actor.trace(&x);
        let (_, grad_output) = quartic(trace.output());
        trace.backward_into(&grad_output, &mut grad, None);
        adam.step(actor.params_mut(), grad.params());
    }
    let last = quartic(&actor.forward(&x)).0;
    assert!(last < first / 10.0, "loss {first} → {last}");
}

#[test]
fn the_slice_methods_that_need_targets_refuse_an_empty_batch() {
    let actor = Actor::seeded(0);
    assert_eq!(actor.loss_slice(&[], &[]), Err(BatchError::Empty));
}

#[test]
fn its_weight_file_records_that_it_has_no_loss() {
    let actor = Actor::seeded(5);
    let bytes = backprop::io::to_bytes(&actor);
    let header = String::from_utf8_lossy(&bytes);
    assert!(header.contains("loss = none"), "{header}");
    let mut restored = Actor::zeros();
    backprop::io::load_bytes(&mut restored, &bytes).expect("its own file");
    assert_eq!(restored.params(), actor.params());
    let mut other = WithLoss::zeros();
    let error = backprop::io::load_bytes(&mut other, &bytes).expect_err("another architecture");
    assert!(error.to_string().contains("loss = none"), "{error}");
    assert!(other.params().iter().all(|&p| p == 0.0), "nothing written");
}
