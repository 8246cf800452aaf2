//! A crate that depends on `backprop` under the name `nets`: the code
//! `network!` generates must name the runtime through `::nets`, which it
//! learns from this crate's `Cargo.toml`. If it hard-coded `::backprop`,
//! this crate would not compile.

use nets::{Network, Sgd};

nets::network! {
    /// The seed's network, through the renamed dependency.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

/// Trains [`Xor`] on XOR for `steps` steps; returns the loss before and after.
#[must_use]
pub fn train(steps: usize) -> (f32, f32) {
    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = [[0.0], [1.0], [1.0], [0.0]];
    let mut net = Xor::seeded(1);
    let before = net.loss(&x, &y);
    let mut sgd = Sgd::new(0.5);
    for _ in 0..steps {
        net.train_step(&x, &y, &mut sgd);
    }
    (before, net.loss(&x, &y))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_renamed_dependency_still_trains() {
        let (before, after) = super::train(2000);
        assert!(
            after < 0.01 && after < before,
            "{after} after, {before} before"
        );
    }
}
