//! Placeholder
#![forbid(unsafe_code)]
pub use backprop_macros::network;
pub use backprop_runtime as runtime;
pub use backprop_runtime::{
    Activation, BatchError, Float, Init, Loss, Matrix, Mse, Network, Optimizer, Row, Sgd,
};

#[doc(hidden)]
pub mod __private {
    pub use backprop_runtime::*;
    pub use core::marker::Sized;
    pub use core::option::Option::{self, None, Some};
    pub use core::primitive::{f32, f64, u64, usize};
    pub use core::result::Result;
}
