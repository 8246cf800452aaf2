//! A `#![no_std]` crate with no allocator that defines a network with
//! `network!` and trains it: proof that the generated code and the runtime's
//! core need neither `std` nor `alloc`, as on a microcontroller.

#![no_std]

use backprop::Network;

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
    let mut sgd = backprop::Sgd::with_state(0.05, [0.0; Controller::PARAMS]).momentum(0.5);
    let before = controller.loss(inputs, targets);
    for _ in 0..steps {
        controller.train_step(inputs, targets, &mut sgd);
    }
    (before, controller.loss(inputs, targets))
}

#[cfg(test)]
mod tests {
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
