//! Neural networks whose forward and backward passes are generated at
//! compile time for their exact sizes.
//!
//! [`network!`] turns a one-line description into a type:
//!
//! ```
//! use backprop::Sgd;
//!
//! backprop::network! {
//!     /// 2 inputs, 3 sigmoid units, 1 linear output.
//!     pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
//! }
//!
//! let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let y = [[0.0], [1.0], [1.0], [0.0]];
//! let mut net = Xor::seeded(1);
//! let mut sgd = Sgd::new(0.5);
//! for _ in 0..2000 {
//!     net.train_step(&x, &y, &mut sgd);
//! }
//! assert!(net.loss(&x, &y) < 0.01);
//! let out = net.forward(&x); // [[f32; 1]; 4]
//! assert!(out[1][0] > 0.5 && out[3][0] < 0.5);
//! ```
//!
//! # The DSL
//!
//! ```text
//! network := attributes? visibility? NAME '=' spec       defines the type NAME
//!          | spec                                        a seeded instance of an unnamed type
//! spec    := INPUTS ('->' ACTIVATION '(' WIDTH ')')+ (';' option)*
//! option  := 'loss' '=' mse                              required
//!          | 'float' '=' (f32 | f64)                     default f32
//!          | 'seed' '=' INTEGER                          expression form only; default 0
//! ```
//!
//! Activations: `linear`, `sigmoid`, `tanh`, `relu`. Any number of layers.
//! Every mistake is a compile error at the offending token.
//!
//! The expression form is handy in tests and scripts:
//!
//! ```
//! let net = backprop::network!(3 -> tanh(8) -> relu(4) -> linear(2); loss = mse; float = f64);
//! let (loss, grad) = net.gradients(&[[0.5, -1.0, 2.0]], &[[1.0, 0.0]]);
//! assert!(loss > 0.0);
//! assert_eq!(grad.w2().len(), 8); // ∂L/∂W² is 8 × 4
//! ```
//!
//! # What a network gives you
//!
//! - Parameters in one flat array, [`params()`](Network::params) /
//!   [`params_mut()`](Network::params_mut), and each layer's `W` and `b` as
//!   typed views: `w1()` is `&[[f32; 3]; 2]` (`n₀ × n₁`), `b1()` is `&[f32; 3]`.
//! - Constants `INPUTS`, `OUTPUTS`, `PARAMS`, `LAYERS`.
//! - `new(&mut rng)` (Glorot uniform for `linear`/`sigmoid`/`tanh` layers, He
//!   uniform for `relu`, zero biases), `seeded(u64)`, `zeros()`.
//! - For a batch of `B` rows known at compile time: `forward`, `loss`,
//!   `gradients` (the loss and `∂L/∂θ` as a value of the network's type),
//!   `input_gradients` (`∂L/∂X`) and `train_step` with any [`Optimizer`].
//! - For a batch size known at run time: `forward_slice`, `loss_slice`,
//!   `gradients_slice`, `input_gradients_slice`, `train_step_slice`, which
//!   return a [`BatchError`] on mismatched or empty batches.
//! - An implementation of [`Network`], so generic code works for every network.
//!
//! # Conventions
//!
//! Rows are samples: a batch `X` is `B × n₀`. Weights `Wˡ` are `n_{l-1} × n_l`
//! and `Zˡ = Hˡ⁻¹·Wˡ + 1·bˡᵀ`. `mse` is PyTorch's `MSELoss`: the mean over
//! the batch and the outputs of `(ŷ − y)²`. No allocation happens in any
//! of the methods above.

pub use backprop_macros::network;
pub use backprop_runtime as runtime;
pub use backprop_runtime::{BatchError, Float, Network, Optimizer, Row, Sgd, one_hot};

/// What generated code refers to, by absolute path, so that it compiles
/// whatever names the user's crate defines. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use backprop_runtime::*;
    pub use core::marker::Sized;
    pub use core::option::Option::{self, None, Some};
    pub use core::primitive::{f32, f64, u64, usize};
    pub use core::result::Result;
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
