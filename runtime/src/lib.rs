//! The runtime of [backprop](https://docs.rs/backprop): what the code that
//! `network!` generates calls into.
//!
//! - [`kernels`]: the products of batch backpropagation on fixed-size
//!   row-major matrices (`X·W + 1·bᵀ`, `Hᵀ·Δ`, `1ᵀ·Δ`, `Δ·Wᵀ`);
//! - [`activation`] and [`loss`]: `f`, `f'`, `L` and `∂L/∂Ŷ`, and losses
//!   on a whole batch with masks, weights and class labels for a loss of
//!   your own;
//! - [`Network`]: the trait every generated network implements, with the
//!   batch methods written once in terms of four generated ones;
//!   [`DynNetwork`]: any network as a trait object, on flat buffers, for
//!   collections of different networks;
//! - [`optim`]: [`Sgd`], [`Adam`] and [`AdamW`], as PyTorch computes them;
//!   [`init`]: seeded Glorot, He and PyTorch-default initialisation,
//!   uniform or normal;
//! - `heap` (feature `alloc`): parameter storage for networks too large
//!   for the stack;
//! - `io` (feature `std`): weights as safetensors in PyTorch's layout;
//! - [`data`]: seeded, shuffled mini-batches and a training loop, and
//!   the helpers around them: CSV tables (feature `csv`), a standardiser,
//!   train/test splits, `argmax`, accuracy and a confusion matrix;
//! - [`update`] and [`schedule`]: target networks, gradient clipping and
//!   learning-rate schedules, as PyTorch computes them;
//! - [`policy`]: `Categorical` and `SquashedGaussian` policies, `log π` and
//!   its gradients;
//! - [`gradcheck`]: analytic gradients against central finite differences;
//! - `distributed` (feature `mpi`): data-parallel training across processes
//!   and machines, the gradient all-reduced through MPI.
//! - [`recurrent`]: LSTM and GRU layers as PyTorch defines them, streaming
//!   one sample at a time or trained through time on sequences;
//!   [`sequence`]: [`Recurrent`], the trait of a `network!` with such
//!   layers, streaming, and trained by truncated backpropagation through
//!   time.
//!
//! The crate is `no_std`: its core (kernels, activations, losses,
//! [`Network`], optimizers, seeded initialisation) needs neither `std` nor
//! an allocator. The `alloc` feature adds heap-backed optimizer state, and
//! `std` (on by default) adds I/O; `csv` adds CSV tables; `mpi` adds
//! training across processes through the system's MPI library.

#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod data;
pub mod diagram;
#[cfg(feature = "mpi")]
pub mod distributed;
mod dynamic;
#[cfg(feature = "alloc")]
pub mod ensemble;
mod float;
pub mod gradcheck;
#[cfg(feature = "alloc")]
pub mod heap;
pub mod init;
#[cfg(feature = "std")]
pub mod io;
pub mod kernels;
pub mod loss;
mod network;
pub mod objective;
pub mod optim;
#[cfg(feature = "parallel")]
pub mod parallel;
pub mod params;
pub mod policy;
pub mod recurrent;
pub mod schedule;
pub mod sequence;
mod trace;
pub mod update;

pub use activation::{
    Activation, Elu, Gelu, LeakyRelu, Linear, Relu, Sigmoid, Silu, Softplus, Tanh,
};
pub use backprop_vocabulary::{ActivationKind, LossKind, WrittenLayer};
pub use dynamic::{Architecture, DynNetwork};
pub use float::Float;
pub use init::Init;
pub use kernels::{Matrix, Store};
pub use loss::{
    Huber, LogitLoss, Loss, Mae, Mse, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, one_hot,
};
pub use network::{BatchError, Network, NoBuiltInLoss, Passes, Row, TrainError};
pub use optim::{Adam, AdamW, Optimizer, Resume, Sgd, StateError, StateStorage};
pub use rand_core;
pub use sequence::{CellKind, Recurrent};
pub use trace::Trace;
