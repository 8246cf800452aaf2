//! Generated networks in a crate that takes nothing for granted: no
//! prelude, names that shadow the primitive types and the standard
//! library's, and every warning, rustdoc's and clippy's pedantic ones
//! included, denied. If `network!` relied on any name in the user's scope,
//! this crate would not compile.

#![no_implicit_prelude]
#![deny(warnings, missing_docs, unsafe_code)]
#![deny(clippy::all, clippy::pedantic)]

use ::backprop::Network;

/// Shadows the primitive `f32`.
#[allow(non_camel_case_types)]
pub struct f32;

/// Shadows the primitive `usize`.
#[allow(non_camel_case_types)]
pub struct usize;

/// Shadows `Vec`.
pub struct Vec;

/// Shadows `Option`.
pub struct Option;

/// Shadows `Result`.
pub struct Result;

/// Shadows `Some`.
pub struct Some;

/// Shadows `Clone`.
pub trait Clone {}

/// Shadows `Default`.
pub trait Default {}

/// Shadows `Copy`.
pub trait Copy {}

/// Shadows `core`.
pub mod core {}

/// Shadows `std`.
pub mod std {}

/// Two networks in one module.
pub mod two {
    ::backprop::network! {
        /// The seed's network.
        pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
    }

    ::backprop::network! {
        /// A classifier with every kind of parameter.
        pub Classifier = 4 -> leaky_relu(6, slope = 0.1) -> gelu(5, approximate = tanh)
            -> softmax(3); loss = cross_entropy; float = f64
    }
}

::backprop::network! {
    /// A regression network with a parameterised loss.
    pub Regression = 3 -> elu(4) -> silu(4) -> softplus(4, beta = 2.0) -> tanh(2); loss = huber(delta = 0.5)
}

::backprop::network! {
    /// Binary classification.
    pub(crate) Binary = 2 -> relu(3) -> sigmoid(1); loss = bce
}

::backprop::network! {
    /// Stacked recurrent layers, in a crate without a prelude.
    pub Sequence = 2 -> lstm(3) -> gru(2) -> tanh(2) -> linear(1); loss = mse
}

/// One streamed step and one window of training of `Sequence`.
#[must_use]
pub fn stream_and_train() -> ::core::primitive::f32 {
    use ::backprop::sequence::{Recurrent, StepTape, Targets};
    let mut net = Sequence::seeded(1);
    let mut state = <SequenceState as ::core::default::Default>::default();
    let y = net.step(&mut state, &[0.5, -0.5]);
    state.reset();
    let xs = [[[0.5, -0.5]; 2]; 3];
    let ys = [[y; 2]; 3];
    let mut tape = [StepTape::<Sequence, 2>::ZERO; 3];
    let mut states = [state; 2];
    let mut sgd = ::backprop::Sgd::new(0.1);
    net.train_window(
        &mut states,
        &xs,
        Targets::EveryStep(&ys),
        &mut tape,
        &mut sgd,
    )
    .unwrap_or(::core::primitive::f32::NAN)
}

/// A network defined and trained inside a function; returns its loss
/// before and after a few steps.
#[must_use]
pub fn train_inside_a_function() -> (::core::primitive::f32, ::core::primitive::f32) {
    ::backprop::network! {
        Local = 2 -> tanh(4) -> linear(1); loss = mae
    }
    let mut net = Local::seeded(3);
    let x = [[0.0, 1.0], [1.0, 0.0]];
    let y = [[1.0], [-1.0]];
    let before = net.loss(&x, &y);
    let mut sgd = ::backprop::Sgd::new(0.05);
    for _ in 0..50 {
        net.train_step(&x, &y, &mut sgd);
    }
    (before, net.loss(&x, &y))
}

/// The expression form, inside a function.
#[must_use]
pub fn expression_form() -> ::core::primitive::f64 {
    let net = ::backprop::network!(2 -> relu(3) -> linear(1); loss = mse; float = f64; seed = 5);
    net.loss(&[[1.0, 2.0]], &[[0.5]])
}

/// The item-form networks, used so that nothing is dead.
#[must_use]
pub fn use_every_network() -> ::core::primitive::usize {
    let xor = two::Xor::seeded(1);
    let classifier = two::Classifier::seeded(2);
    let regression = Regression::seeded(3);
    let binary = Binary::zeros();
    let _ = binary.forward(&[[0.0, 1.0]]);
    let _ = regression.gradients(&[[0.0; 3]], &[[0.0; 2]]);
    let _ = classifier.input_gradients(&[[0.0; 4]], &[::backprop::one_hot(1)]);
    xor.params().len() + two::Classifier::PARAMS
}

#[cfg(test)]
mod tests {
    use ::backprop::Network;

    #[test]
    fn networks_defined_without_a_prelude_work() {
        let (before, after) = super::train_inside_a_function();
        ::std::assert!(after < before, "{after} < {before}");
        ::std::assert!(super::expression_form().is_finite());
        ::std::assert!(super::stream_and_train().is_finite());
        ::std::assert_eq!(
            super::use_every_network(),
            13 + super::two::Classifier::PARAMS
        );
    }
}
