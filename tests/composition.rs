//! Networks chained through the backward pass of a supplied gradient: a
//! downstream network's `∂L/∂X` is the upstream network's `∂L/∂Ŷ`. An
//! encoder under a head computes what the same layers written as one
//! network compute; a trunk under two heads gets the sum of what they push
//! back; an actor under a critic gets DDPG's `∂Q/∂θ`; and a chained pair
//! trains.

use approx::relative_eq;
use backprop::gradcheck::{self, FiniteDifferences};
use backprop::{Adam, Network, Optimizer};

/// Inputs that differ from entry to entry.
fn inputs<const B: usize, const N: usize>(phase: f64) -> [[f64; N]; B] {
    let mut x = [[0.0; N]; B];
    for (i, row) in x.iter_mut().enumerate() {
        for (j, value) in row.iter_mut().enumerate() {
            *value = (0.77 * (i * N + j) as f64 + phase).sin();
        }
    }
    x
}

/// Equal to rounding: within `10⁻¹²` relative (and `10⁻¹⁵` absolute, for
/// entries that are zero in both).
#[track_caller]
fn assert_equal_to_rounding(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (index, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(
            relative_eq!(a, b, epsilon = 1e-15, max_relative = 1e-12),
            "{what}[{index}]: {a:e} vs {b:e}"
        );
    }
}

// ---------------------------------------------------------------------------
// (a) An encoder under a head is the network of both's layers.
// ---------------------------------------------------------------------------

backprop::network! {
    /// Features of the input, trained only through the head.
    Encoder = 3 -> tanh(5) -> sigmoid(4); loss = none; float = f64
}
backprop::network! {
    /// Regression on the features.
    Head = 4 -> elu(6) -> linear(2); loss = mse; float = f64
}
backprop::network! {
    /// The encoder's layers, then the head's, in one network.
    Whole = 3 -> tanh(5) -> sigmoid(4) -> elu(6) -> linear(2); loss = mse; float = f64
}

/// An encoder and a head, and the network of their layers with the same
/// parameters: the flat layout is layer by layer, so the whole network's
/// parameters are the encoder's followed by the head's.
fn encoder_head_and_whole(seed: u64) -> (Encoder, Head, Whole) {
    let (encoder, head) = (Encoder::seeded(seed), Head::seeded(seed + 100));
    let mut whole = Whole::zeros();
    let (front, back) = whole.params_mut().split_at_mut(Encoder::PARAMS);
    front.copy_from_slice(encoder.params());
    back.copy_from_slice(head.params());
    (encoder, head, whole)
}

/// `∂L/∂θ` of the head's loss, through the head's `∂L/∂X` into the encoder
/// (`input_gradients`, then `backward`), and the input gradient beneath,
/// equal the whole network's `gradients` and `input_gradients`.
#[test]
fn an_encoder_under_a_head_gets_the_gradient_of_the_whole_network() {
    for seed in [1, 2] {
        let (encoder, head, whole) = encoder_head_and_whole(seed);
        let (x, y) = (inputs::<5, 3>(0.3), inputs::<5, 2>(1.1));
        let features = encoder.forward(&x);
        let (head_loss, head_grad) = head.gradients(&features, &y);
        let (_, grad_features) = head.input_gradients(&features, &y);
        let (encoder_grad, grad_x) = encoder.backward(&x, &grad_features);

        let (loss, whole_grad) = whole.gradients(&x, &y);
        let (_, whole_grad_x) = whole.input_gradients(&x, &y);
        assert_equal_to_rounding(&[head_loss], &[loss], "loss");
        let (front, back) = whole_grad.params().split_at(Encoder::PARAMS);
        assert_equal_to_rounding(encoder_grad.params(), front, "encoder ∂L/∂θ");
        assert_equal_to_rounding(head_grad.params(), back, "head ∂L/∂θ");
        assert_equal_to_rounding(grad_x.as_flattened(), whole_grad_x.as_flattened(), "∂L/∂X");
    }
}

/// The same through the head's `backward` from its loss's `∂L/∂Ŷ`
/// (mean squared error, `2(Ŷ − Y) / (B·n)`, written out), and the
/// encoder's kept forward pass (`trace`), for a run-time batch through
/// `backward_slice` too.
#[test]
fn a_head_backward_from_its_loss_gradient_feeds_the_encoder_as_the_whole_network() {
    let (encoder, head, whole) = encoder_head_and_whole(3);
    let (x, y) = (inputs::<7, 3>(0.5), inputs::<7, 2>(2.0));
    let trace = encoder.trace(&x);
    let features = *trace.output();
    let output = head.forward(&features);
    let mut grad_output = [[0.0; 2]; 7];
    for ((g, o), t) in grad_output
        .as_flattened_mut()
        .iter_mut()
        .zip(output.as_flattened())
        .zip(y.as_flattened())
    {
        *g = 2.0 * (o - t) / 14.0;
    }
    let (head_grad, grad_features) = head.backward(&features, &grad_output);
    let mut encoder_grad = Encoder::zeros();
    let mut grad_x = [[0.0; 3]; 7];
    trace.backward_into(&grad_features, &mut encoder_grad, Some(&mut grad_x));

    let (_, whole_grad) = whole.gradients(&x, &y);
    let (_, whole_grad_x) = whole.input_gradients(&x, &y);
    let (front, back) = whole_grad.params().split_at(Encoder::PARAMS);
    assert_equal_to_rounding(encoder_grad.params(), front, "encoder ∂L/∂θ");
    assert_equal_to_rounding(head_grad.params(), back, "head ∂L/∂θ");
    assert_equal_to_rounding(grad_x.as_flattened(), whole_grad_x.as_flattened(), "∂L/∂X");

    let mut slice_grad = Encoder::zeros();
    let mut slice_grad_x = [[f64::NAN; 3]; 7];
    encoder
        .backward_slice(&x, &grad_features, &mut slice_grad, Some(&mut slice_grad_x))
        .expect("as many rows of ∂L/∂Ŷ as of inputs");
    assert_equal_to_rounding(slice_grad.params(), front, "backward_slice ∂L/∂θ");
    assert_equal_to_rounding(
        slice_grad_x.as_flattened(),
        whole_grad_x.as_flattened(),
        "backward_slice ∂L/∂X",
    );
}

// ---------------------------------------------------------------------------
// (b) One trunk, two heads: an actor and a critic.
// ---------------------------------------------------------------------------

backprop::network! {
    /// Features of the state, shared by both heads, trained only through them.
    Trunk = 4 -> tanh(8) -> tanh(6); loss = none; float = f64
}
backprop::network! {
    /// Logits of three actions, trained with a policy-gradient loss of our own.
    ActorHead = 6 -> linear(3); loss = none; float = f64
}
backprop::network! {
    /// The state's value, trained with its own mean squared error.
    CriticHead = 6 -> silu(5) -> linear(1); loss = mse; float = f64
}

const STATES: usize = 6;
/// The action taken in each state, its advantage and its return.
const ACTIONS: [usize; STATES] = [0, 2, 1, 1, 0, 2];
const ADVANTAGES: [f64; STATES] = [0.5, -1.0, 2.0, 0.25, -0.5, 1.5];
const RETURNS: [[f64; 1]; STATES] = [[1.0], [-0.5], [2.0], [0.0], [0.75], [-1.25]];
/// The critic's share of the summed loss.
const VALUE_WEIGHT: f64 = 0.5;

/// The policy-gradient loss `−(1/B) Σ_b A_b · log softmax(z_b)[a_b]` of the
/// actor's logits, and its `∂L/∂z = −(A_b / B)(onehot(a_b) − softmax(z_b))`.
fn policy_loss(logits: &[[f64; 3]; STATES], grad: &mut [[f64; 3]; STATES]) -> f64 {
    let batch = STATES as f64;
    let mut loss = 0.0;
    for (b, (z, g)) in logits.iter().zip(grad).enumerate() {
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
        let log_pi = z[ACTIONS[b]] - max - sum.ln();
        loss -= ADVANTAGES[b] * log_pi / batch;
        for (k, g) in g.iter_mut().enumerate() {
            let pi = (z[k] - max).exp() / sum;
            let taken = if k == ACTIONS[b] { 1.0 } else { 0.0 };
            *g = -ADVANTAGES[b] * (taken - pi) / batch;
        }
    }
    loss
}

/// `L_actor + ½·L_critic`, as a function of every network's parameters.
fn summed_loss(
    trunk: &Trunk,
    actor: &ActorHead,
    critic: &CriticHead,
    x: &[[f64; 4]; STATES],
) -> f64 {
    let features = trunk.forward(x);
    let actor_loss = policy_loss(&actor.forward(&features), &mut [[0.0; 3]; STATES]);
    actor_loss + VALUE_WEIGHT * critic.loss(&features, &RETURNS)
}

/// The trunk's gradient is the sum of what both heads push back, added
/// into one gradient with `backward_into`: it equals the central
/// differences of the summed loss in the trunk's parameters, and what one
/// backward pass from the summed `∂L/∂H` gives. Each head's own gradient
/// is checked against the same differences in its parameters.
#[test]
fn a_trunk_under_two_heads_gets_the_sum_of_their_gradients() {
    let (trunk, actor, critic) = (
        Trunk::seeded(1),
        ActorHead::seeded(2),
        CriticHead::seeded(3),
    );
    let x = inputs::<STATES, 4>(0.2);
    let features = trunk.forward(&x);

    let actor_trace = actor.trace(&features);
    let mut grad_logits = [[0.0; 3]; STATES];
    policy_loss(actor_trace.output(), &mut grad_logits);
    let mut actor_grad = ActorHead::zeros();
    let mut actor_pushes = [[0.0; 6]; STATES];
    actor_trace.backward_into(&grad_logits, &mut actor_grad, Some(&mut actor_pushes));
    let (_, mut critic_grad) = critic.gradients(&features, &RETURNS);
    for g in critic_grad.params_mut() {
        *g *= VALUE_WEIGHT;
    }
    let (_, mut critic_pushes) = critic.input_gradients(&features, &RETURNS);
    for g in critic_pushes.as_flattened_mut() {
        *g *= VALUE_WEIGHT;
    }

    let mut trunk_grad = Trunk::zeros();
    trunk.backward_into(&x, &actor_pushes, &mut trunk_grad, None);
    trunk.backward_into(&x, &critic_pushes, &mut trunk_grad, None);

    let check = gradcheck::check_gradient(&trunk, &trunk_grad, |trunk| {
        summed_loss(trunk, &actor, &critic, &x)
    });
    assert!(check.worst_relative_error < 1e-6, "trunk: {check}");
    let check = gradcheck::check_gradient(&actor, &actor_grad, |actor| {
        summed_loss(&trunk, actor, &critic, &x)
    });
    assert!(check.worst_relative_error < 1e-6, "actor head: {check}");
    let check = gradcheck::check_gradient(&critic, &critic_grad, |critic| {
        summed_loss(&trunk, &actor, critic, &x)
    });
    assert!(check.worst_relative_error < 1e-6, "critic head: {check}");

    let mut summed_pushes = actor_pushes;
    for (s, c) in summed_pushes
        .as_flattened_mut()
        .iter_mut()
        .zip(critic_pushes.as_flattened())
    {
        *s += c;
    }
    let (once, _) = trunk.backward(&x, &summed_pushes);
    assert_equal_to_rounding(trunk_grad.params(), once.params(), "trunk ∂L/∂θ, one pass");
}

// ---------------------------------------------------------------------------
// (c) DDPG's actor update through a critic of state ⊕ action.
// ---------------------------------------------------------------------------

backprop::network! {
    /// A deterministic policy: three state values to two actions in (−1, 1).
    Actor = 3 -> tanh(8) -> tanh(2); loss = none; float = f64
}
backprop::network! {
    /// `Q(s, a)` of the state (3) and the action (2), side by side.
    Critic = 5 -> softplus(10) -> tanh(6) -> linear(1); loss = mse; float = f64
}

const BATCH: usize = 4;

/// `[s, a]` rows: the states, then the actions.
fn state_actions(states: &[[f64; 3]; BATCH], actions: &[[f64; 2]; BATCH]) -> [[f64; 5]; BATCH] {
    let mut rows = [[0.0; 5]; BATCH];
    for ((row, s), a) in rows.iter_mut().zip(states).zip(actions) {
        row[..3].copy_from_slice(s);
        row[3..].copy_from_slice(a);
    }
    rows
}

/// The actor's loss `−(1/B) Σ_b Q(s_b, actor(s_b))`.
fn actor_loss(actor: &Actor, critic: &Critic, states: &[[f64; 3]; BATCH]) -> f64 {
    let q = critic.forward(&state_actions(states, &actor.forward(states)));
    -q.iter().map(|[q]| q).sum::<f64>() / BATCH as f64
}

/// DDPG: `∂L/∂a` is the action columns of the critic's input gradient
/// for `∂L/∂Q = −1/B`, and backpropagated through the actor it is the
/// gradient of `−mean Q(s, actor(s))` in the actor's parameters, as central
/// differences give it (`1e-6` relative). The critic is only read.
#[test]
fn ddpg_actor_gradient_through_the_critic_matches_finite_differences() {
    for seed in [1, 5] {
        let (actor, critic) = (Actor::seeded(seed), Critic::seeded(seed + 10));
        let critic_before = critic.clone();
        let states = inputs::<BATCH, 3>(0.1 * seed as f64);
        let actions = actor.forward(&states);
        let grad_q = [[-1.0 / BATCH as f64]; BATCH];
        let (_, grad_state_actions) = critic.backward(&state_actions(&states, &actions), &grad_q);
        let grad_actions = grad_state_actions.map(|row| [row[3], row[4]]);
        let (actor_grad, _) = actor.backward(&states, &grad_actions);

        let check = gradcheck::check_gradient(&actor, &actor_grad, |actor| {
            actor_loss(actor, &critic, &states)
        });
        assert!(check.worst_relative_error < 1e-6, "seed {seed}: {check}");
        assert_eq!(critic, critic_before);

        // The state columns are the critic's gradient in the state, which
        // the actor's update leaves alone: nonzero, so the split matters.
        assert!(
            grad_state_actions
                .iter()
                .any(|row| row[..3].iter().any(|g| g.abs() > 1e-6))
        );
    }
}

/// The same check, with the differences of `−mean Q` taken in the actions
/// themselves: the action columns are `∂L/∂a`, at the documented `f64`
/// settings.
#[test]
fn the_action_columns_of_the_critics_input_gradient_are_dq_da() {
    let (actor, critic) = (Actor::seeded(2), Critic::seeded(12));
    let states = inputs::<BATCH, 3>(0.7);
    let actions = actor.forward(&states);
    let grad_q = [[-1.0 / BATCH as f64]; BATCH];
    let (_, grad_state_actions) = critic.backward(&state_actions(&states, &actions), &grad_q);
    let step = FiniteDifferences::F64.step;
    for b in 0..BATCH {
        for j in 0..2 {
            let (mut up, mut down) = (actions, actions);
            up[b][j] += step;
            down[b][j] -= step;
            let loss = |a: &[[f64; 2]; BATCH]| {
                -critic
                    .forward(&state_actions(&states, a))
                    .iter()
                    .map(|[q]| q)
                    .sum::<f64>()
                    / BATCH as f64
            };
            let numeric = (loss(&up) - loss(&down)) / (up[b][j] - down[b][j]);
            let analytic = grad_state_actions[b][3 + j];
            assert!(
                relative_eq!(analytic, numeric, epsilon = 1e-10, max_relative = 1e-6),
                "∂L/∂a[{b}][{j}]: {analytic:e} vs {numeric:e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A chained pair trains.
// ---------------------------------------------------------------------------

backprop::network! {
    /// Features for the regression below, in `f32`.
    Features = 2 -> tanh(16); loss = none
}
backprop::network! {
    /// A regression head on the features, in `f32`.
    Regression = 16 -> tanh(8) -> linear(1); loss = mse
}

/// An encoder and a head, each with its own Adam, trained by chaining the
/// head's input gradient into the encoder: the loss falls tenfold in 300
/// steps on `y = sin(2x₀)·x₁`.
#[test]
fn a_chained_pair_trains_with_an_optimizer_each() {
    let mut x = [[0.0_f32; 2]; 16];
    let mut y = [[0.0_f32; 1]; 16];
    for (i, (x, y)) in x.iter_mut().zip(&mut y).enumerate() {
        let (a, b) = ((i % 4) as f32 / 2.0 - 0.75, (i / 4) as f32 / 2.0 - 0.75);
        *x = [a, b];
        *y = [(2.0 * a).sin() * b];
    }
    let (mut features, mut head) = (Features::seeded(1), Regression::seeded(2));
    // Optimizer state in arrays, so that this runs without an allocator too.
    let mut features_adam =
        Adam::with_state(0.01, [0.0; Features::PARAMS], [0.0; Features::PARAMS]);
    let mut head_adam =
        Adam::with_state(0.01, [0.0; Regression::PARAMS], [0.0; Regression::PARAMS]);
    let loss = |features: &Features, head: &Regression| head.loss(&features.forward(&x), &y);
    let first = loss(&features, &head);
    for _ in 0..300 {
        let trace = features.trace(&x);
        let (_, head_grad) = head.gradients(trace.output(), &y);
        let (_, grad_features) = head.input_gradients(trace.output(), &y);
        let mut features_grad = Features::zeros();
        trace.backward_into(&grad_features, &mut features_grad, None);
        features_adam.step(features.params_mut(), features_grad.params());
        head_adam.step(head.params_mut(), head_grad.params());
    }
    let last = loss(&features, &head);
    assert!(last < first / 10.0, "loss {first} → {last}");
}
