//! A `#![no_std]` crate with no allocator that defines a network with
//! `network!` and trains it: proof that the generated code and the runtime's
//! core need neither `std` nor `alloc`, as on a microcontroller.

#![no_std]

use backprop::sequence::{Recurrent, StepTape, Targets};
use backprop::{Network, Sgd};

backprop::network! {
    /// A small controller: 4 sensor readings to 2 actuator commands.
    pub Controller = 4 -> tanh(8) -> tanh(8) -> linear(2); loss = mse
}

/// Trains a controller from `seed` to follow `targets` for `inputs`, with
/// plain SGD, for `steps` steps; returns the loss before and after.
#[must_use]
pub fn train(
    seed: u64,
    inputs: &[[f32; 4]; 4],
    targets: &[[f32; 2]; 4],
    steps: usize,
) -> (f32, f32) {
    let mut controller = Controller::seeded(seed);
    // Momentum with its velocity in an array: no allocator needed.
    let mut sgd = Sgd::with_state(0.05, [0.0; Controller::PARAMS]).momentum(0.5);
    let before = controller.loss(inputs, targets);
    for _ in 0..steps {
        controller.train_step(inputs, targets, &mut sgd);
    }
    (before, controller.loss(inputs, targets))
}

backprop::network! {
    /// A sensor filter with memory: one reading in, one estimate out.
    pub Filter = 1 -> gru(4) -> linear(1); loss = mse
}

/// Trains a filter from `seed` to output its previous input, by truncated
/// backpropagation through time over windows of 16 steps of 2 streams,
/// the tape in an array; returns the loss of the first window and of the
/// last, and one streamed output.
#[must_use]
pub fn train_filter(seed: u64, epochs: usize) -> (f32, f32, f32) {
    let mut xs = [[[0.0_f32; 1]; 2]; 16];
    let mut ys = [[[0.0_f32; 1]; 2]; 16];
    for t in 0..16 {
        for b in 0..2 {
            // A pattern in [-0.5, 0.5) without float formatting or libm.
            let step = u16::try_from((t * 7 + b * 3) % 10).unwrap_or(0);
            xs[t][b] = [f32::from(step) / 10.0 - 0.5];
            if t > 0 {
                ys[t][b] = xs[t - 1][b];
            }
        }
    }
    let mut filter = Filter::seeded(seed);
    let mut sgd = Sgd::with_state(0.5, [0.0; Filter::PARAMS]);
    let mut tape = [StepTape::<Filter, 2>::ZERO; 16];
    let (mut first, mut last) = (None, 0.0);
    for _ in 0..epochs {
        let mut states = [FilterState::default(); 2];
        let loss = filter
            .train_window(
                &mut states,
                &xs,
                Targets::EveryStep(&ys),
                &mut tape,
                &mut sgd,
            )
            .unwrap_or(f32::NAN);
        first.get_or_insert(loss);
        last = loss;
    }
    let mut state = FilterState::default();
    let y = filter.step(&mut state, &[0.25])[0];
    (first.unwrap_or(f32::NAN), last, y)
}

#[cfg(test)]
mod tests {
    #[test]
    fn trains_a_recurrent_network_without_std_or_alloc() {
        let (first, last, y) = super::train_filter(3, 300);
        assert!(last < first / 4.0, "loss {first} → {last}");
        assert!(y.is_finite());
    }

    #[test]
    fn trains_without_std_or_alloc() {
        let inputs = [
            [0.1, 0.2, 0.3, 0.4],
            [0.4, 0.3, 0.2, 0.1],
            [-0.5, 0.5, -0.5, 0.5],
            [1.0, 0.0, 0.0, -1.0],
        ];
        let targets = [[0.5, -0.5], [-0.5, 0.5], [0.0, 1.0], [1.0, 0.0]];
        let (before, after) = super::train(11, &inputs, &targets, 500);
        assert!(after < before / 10.0, "loss {before} → {after}");
    }
}
