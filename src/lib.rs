//! Neural networks whose forward and backward passes are generated at
//! compile time for their exact sizes.
//!
//! [`network!`] turns a one-line description into a type:
//!
//! ```
//! use backprop::{Network, Sgd};
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
//! The grammar is in [`network!`]'s documentation (`loss` is required;
//! `float`, `seed`, `init` and `kernels` are optional). The activations and
//! losses:
//!
//! | activation | `f(z)` | parameters (PyTorch's defaults) |
//! | --- | --- | --- |
//! | `linear` | `z` | |
//! | `sigmoid` | `1 / (1 + e⁻ᶻ)` | |
//! | `tanh` | `tanh z` | |
//! | `relu` | `max(0, z)` | |
//! | `leaky_relu` | `z` if `z > 0`, else `slope·z` | `slope = 0.01` |
//! | `elu` | `z` if `z > 0`, else `alpha·(eᶻ − 1)` | `alpha = 1.0` |
//! | `gelu` | `z·Φ(z)` (exact, with `erf`) | `approximate = none` or `tanh` |
//! | `silu` | `z·σ(z)` | |
//! | `softplus` | `ln(1 + e^{βz}) / β`, and `z` where `βz > 20` | `beta = 1.0` |
//! | `softmax` | `e^{zⱼ} / Σₖ e^{zₖ}` per row; output layer only | |
//!
//! | loss | definition (PyTorch's) | output layer |
//! | --- | --- | --- |
//! | `mse` | mean of `(ŷ − y)²` over batch and outputs | any |
//! | `mae` | mean of `\|ŷ − y\|` | any |
//! | `huber` | mean of `½d²` where `\|d\| ≤ δ`, else `δ(\|d\| − ½δ)`; `huber(delta = 1.0)` | any |
//! | `cross_entropy` | mean over the batch of `−Σ y log softmax(z)`; targets are probability or one-hot rows ([`one_hot`]) | `softmax` |
//! | `bce` | mean of binary cross-entropy over batch and outputs | `sigmoid` |
//!
//! `cross_entropy` and `bce` are fused with their output activation: the
//! loss is computed from the logits with log-sum-exp, and `Δᴸ` is
//! `(softmax(Zᴸ) − Y) / B` or `(σ(Zᴸ) − Y) / (B·n)`, finite for logits of
//! any size. Every mistake is a compile error at the offending token.
//!
//! ```
//! use backprop::{Network, one_hot};
//!
//! backprop::network! {
//!     /// A classifier with three classes.
//!     Classifier = 4 -> leaky_relu(16, slope = 0.1) -> gelu(8) -> softmax(3); loss = cross_entropy
//! }
//! let net = Classifier::seeded(3);
//! let x = [[0.5, -1.0, 2.0, 0.0], [1e4, -1e4, 0.0, 1.0]];
//! let y = [one_hot(2), one_hot(0)];
//! let (loss, grad) = net.gradients(&x, &y);
//! assert!(loss.is_finite() && grad.params().iter().all(|g| g.is_finite()));
//! let probabilities = net.forward(&x);
//! assert!((probabilities[0].iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```
//!
//! The expression form is handy in tests and scripts:
//!
//! ```
//! use backprop::Network;
//!
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
//! - `new(&mut rng)` (He uniform for the rectifier family `relu`,
//!   `leaky_relu`, `elu`, `gelu`, `silu`; Glorot uniform for the others; zero
//!   biases), `seeded(u64)`, `zeros()`. The option `init = he_normal`
//!   (or `he_uniform`, `glorot_normal`, `glorot_uniform`, `pytorch`) draws
//!   every layer with that [`Init`] scheme instead.
//! - For a batch of `B` rows known at compile time: `forward`, `loss`,
//!   `gradients` (the loss and `∂L/∂θ` as a value of the network's type),
//!   `input_gradients` (`∂L/∂X`) and `train_step` with any [`Optimizer`].
//! - For a batch size known at run time: `forward_slice`, `loss_slice`,
//!   `gradients_slice`, `input_gradients_slice`, `train_step_slice`, which
//!   return a [`BatchError`] on mismatched or empty batches.
//! - An implementation of [`Network`], so generic code works for every network.
//! - An implementation of [`DynNetwork`], the same methods as a trait object
//!   on flat row-major buffers, for collections of different networks
//!   (`Vec<Box<dyn DynNetwork<f32>>>`).
//! - Training on a data set: [`data`] cuts it into seeded, shuffled
//!   mini-batches of `B` rows, with a partial last batch for the slice
//!   methods, and [`data::Trainer`] runs epochs of them (`examples/iris.rs`,
//!   `demos/examples/digits.rs` and `demos/examples/sine.rs` train on real data).
//! - Training across processes and machines: `distributed` (feature `mpi`)
//!   all-reduces each step's gradient through the system's MPI library,
//!   so every process, holding its share of the batch's rows, applies the
//!   gradient of the whole batch (`demos/examples/mpi_digits.rs`).
//! - Data helpers in [`data`]: CSV files read into rows (`data::Table`,
//!   feature `csv`, on by default), a seeded train/test split, plain or
//!   stratified, a [`data::Standardiser`] saved with the weights
//!   (`io::save_with_standardiser`), and [`data::argmax`],
//!   [`data::accuracy`] and [`data::ConfusionMatrix`].
//!
//! # Optimizers and initialisation
//!
//! [`Sgd`] (with momentum, dampening, Nesterov and weight decay), [`Adam`]
//! and [`AdamW`] compute what `torch.optim` computes, with its defaults; the
//! tests replay steps recorded from PyTorch. Their state is allocated on the
//! first step only, or lives in arrays given to `with_state`, without an
//! allocator. [`init`] redraws any network with a chosen [`Init`],
//! reproducibly from a seed on every platform.
//!
//! ```
//! use backprop::init::{self, seeded_rng};
//! use backprop::{AdamW, Init, Network};
//!
//! backprop::network! {
//!     /// Layers drawn as PyTorch's `nn.Linear` draws them.
//!     pub Net = 2 -> relu(8) -> linear(1); loss = mse; init = pytorch
//! }
//!
//! let mut net = Net::seeded(0);
//! init::initialize(&mut net, Init::HeNormal, &mut seeded_rng(1));
//! let (x, y) = ([[0.0, 1.0], [1.0, 0.0]], [[1.0], [-1.0]]);
//! let mut adamw = AdamW::new(0.01).betas(0.9, 0.99);
//! let first = net.train_step(&x, &y, &mut adamw);
//! for _ in 0..200 {
//!     net.train_step(&x, &y, &mut adamw);
//! }
//! assert!(net.loss(&x, &y) < first / 10.0);
//! ```
//!
//! # Conventions
//!
//! Rows are samples: a batch `X` is `B × n₀`. Weights `Wˡ` are `n_{l-1} × n_l`
//! and `Zˡ = Hˡ⁻¹·Wˡ + 1·bˡᵀ`. Activations and losses compute what PyTorch
//! computes (the tests compare with recorded PyTorch values). No allocation
//! happens in any of the methods above.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

pub use backprop_runtime as runtime;
#[cfg(feature = "mpi")]
pub use backprop_runtime::distributed;
#[cfg(feature = "alloc")]
pub use backprop_runtime::ensemble;
pub use backprop_runtime::gradcheck;
#[cfg(feature = "std")]
pub use backprop_runtime::io;
pub use backprop_runtime::loss;
#[cfg(feature = "parallel")]
pub use backprop_runtime::parallel;
pub use backprop_runtime::policy;
pub use backprop_runtime::recurrent;
pub use backprop_runtime::schedule;
pub use backprop_runtime::update;
pub use backprop_runtime::{
    ActivationKind, Adam, AdamW, Architecture, BatchError, DynNetwork, Float, Init, LossKind,
    Network, NoBuiltInLoss, Optimizer, Recurrent, Row, Sgd, Trace, TrainError, one_hot,
};
pub use backprop_runtime::{data, diagram, init, sequence};

/// Generates a neural-network type whose forward and backward passes are
/// written out for its exact sizes: see [the crate's documentation](crate)
/// for the activations, losses and options, and what the type gives you.
/// The grammar:
#[doc = concat!("\n```text\n", include_str!("grammar.txt"), "```")]
///
/// Every mistake is one compile error at the offending token.
// A declarative macro in front of the procedural one, to hand it `$crate`:
// the path of this crate however the user's `Cargo.toml` names it, with no
// manifest to read.
#[macro_export]
macro_rules! network {
    ($($tokens:tt)*) => {
        $crate::__private::expand_network! { ($crate) $($tokens)* }
    };
}

/// What generated code refers to, by absolute path, so that it compiles
/// whatever names the user's crate defines: exactly what the expansion
/// names, and nothing else. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use backprop_macros::expand_network;
    #[cfg(feature = "alloc")]
    pub use backprop_runtime::heap;
    pub use backprop_runtime::init::{
        default_network, default_recurrent, seeded_network, seeded_recurrent,
    };
    pub use backprop_runtime::loss::{
        Huber, Mae, Mse, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy,
    };
    pub use backprop_runtime::recurrent;
    pub use backprop_runtime::{
        ActivationKind, CellKind, Init, LossKind, Network, NoBuiltInLoss, Passes, Recurrent, Store,
        activation, kernels, objective, params, rand_core,
    };
    pub use backprop_runtime::{Elu, Gelu, LeakyRelu, Linear, Relu, Sigmoid, Silu, Softplus, Tanh};
    pub use core::clone::Clone;
    pub use core::cmp::PartialEq;
    pub use core::default::Default;
    pub use core::fmt::Debug;
    pub use core::marker::Copy;
    pub use core::marker::Sized;
    pub use core::option::Option::{self, None, Some};
    pub use core::primitive::{f32, f64, str, u64, usize};
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
