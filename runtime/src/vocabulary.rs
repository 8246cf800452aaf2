//! What a network is made of, as typed values: each layer's activation with
//! its parameters and the loss. Generated networks describe themselves with
//! these ([`Network::ACTIVATIONS`](crate::Network::ACTIVATIONS),
//! [`Network::LOSS`](crate::Network::LOSS)); initialisation, diagrams and
//! weight files read them instead of parsing the DSL's spelling.

use core::fmt;

use crate::Init;

/// A layer's activation function, with its parameters as the DSL gives them.
///
/// `Display` writes it as the DSL spells it, with every parameter:
///
/// ```
/// use backprop_runtime::ActivationKind;
///
/// assert_eq!(ActivationKind::LeakyRelu { slope: 0.2 }.to_string(), "leaky_relu(slope = 0.2)");
/// assert_eq!(ActivationKind::Tanh.to_string(), "tanh");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ActivationKind {
    /// `z`.
    Linear,
    /// `1 / (1 + e⁻ᶻ)`.
    Sigmoid,
    /// `tanh z`.
    Tanh,
    /// `max(0, z)`.
    Relu,
    /// `z` if `z > 0`, else `slope·z`.
    LeakyRelu {
        /// The slope below zero (PyTorch's `negative_slope`, default 0.01).
        slope: f64,
    },
    /// `z` if `z > 0`, else `alpha·(eᶻ − 1)`.
    Elu {
        /// The scale below zero (default 1).
        alpha: f64,
    },
    /// `z·Φ(z)`, exactly (with `erf`) or with PyTorch's `tanh` approximation.
    Gelu {
        /// `approximate = tanh`.
        tanh_approximation: bool,
    },
    /// `z·σ(z)`.
    Silu,
    /// `ln(1 + e^{βz}) / β`, and `z` where `βz > 20`.
    Softplus {
        /// `β` (default 1).
        beta: f64,
    },
    /// `e^{zⱼ} / Σₖ e^{zₖ}` per row; output layer only.
    Softmax,
}

impl ActivationKind {
    /// The DSL's name: `"leaky_relu"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::Elu { .. } => "elu",
            Self::Gelu { .. } => "gelu",
            Self::Silu => "silu",
            Self::Softplus { .. } => "softplus",
            Self::Softmax => "softmax",
        }
    }

    /// Whether `f(z) = z`, so that the layer keeps no separate `Z`.
    #[must_use]
    pub const fn is_linear(self) -> bool {
        matches!(self, Self::Linear)
    }

    /// The initialisation `new` draws such a layer's weights with: He
    /// uniform for the rectifier family, Glorot uniform for the rest.
    ///
    /// ```
    /// use backprop_runtime::{ActivationKind, Init};
    ///
    /// assert_eq!(ActivationKind::Gelu { tanh_approximation: true }.default_init(), Init::HeUniform);
    /// assert_eq!(ActivationKind::Tanh.default_init(), Init::GlorotUniform);
    /// ```
    #[must_use]
    pub const fn default_init(self) -> Init {
        match self {
            Self::Relu
            | Self::LeakyRelu { .. }
            | Self::Elu { .. }
            | Self::Gelu { .. }
            | Self::Silu => Init::HeUniform,
            Self::Linear | Self::Sigmoid | Self::Tanh | Self::Softplus { .. } | Self::Softmax => {
                Init::GlorotUniform
            }
        }
    }

    /// The layer as the DSL spells it, with its width:
    /// `leaky_relu(16, slope = 0.2)`.
    ///
    /// ```
    /// use backprop_runtime::ActivationKind;
    ///
    /// let gelu = ActivationKind::Gelu { tanh_approximation: true };
    /// assert_eq!(gelu.layer(8).to_string(), "gelu(8, approximate = tanh)");
    /// assert_eq!(ActivationKind::Relu.layer(4).to_string(), "relu(4)");
    /// ```
    #[must_use]
    pub const fn layer(self, width: usize) -> WrittenLayer {
        WrittenLayer {
            activation: self,
            width: Some(width),
        }
    }

    /// Writes `, name = value` for each parameter, after `first`.
    fn write_parameters(self, f: &mut fmt::Formatter<'_>, mut first: bool) -> fmt::Result {
        let mut parameter = |f: &mut fmt::Formatter<'_>, name: &str, value: &dyn fmt::Debug| {
            let separator = if first { "" } else { ", " };
            first = false;
            write!(f, "{separator}{name} = {value:?}")
        };
        match self {
            Self::LeakyRelu { slope } => parameter(f, "slope", &slope),
            Self::Elu { alpha } => parameter(f, "alpha", &alpha),
            Self::Gelu {
                tanh_approximation: true,
            } => parameter(f, "approximate", &Name("tanh")),
            Self::Softplus { beta } => parameter(f, "beta", &beta),
            _ => Ok(()),
        }
    }

    /// Whether the DSL spelling has anything in parentheses besides a width.
    const fn has_parameters(self) -> bool {
        matches!(
            self,
            Self::LeakyRelu { .. }
                | Self::Elu { .. }
                | Self::Gelu {
                    tanh_approximation: true
                }
                | Self::Softplus { .. }
        )
    }
}

/// A name written without quotes by `Debug`.
struct Name(&'static str);

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An activation as the DSL spells it, with or without the layer's width;
/// see [`ActivationKind::layer`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WrittenLayer {
    activation: ActivationKind,
    width: Option<usize>,
}

impl fmt::Display for WrittenLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let activation = self.activation;
        f.write_str(activation.name())?;
        if self.width.is_none() && !activation.has_parameters() {
            return Ok(());
        }
        f.write_str("(")?;
        if let Some(width) = self.width {
            write!(f, "{width}")?;
        }
        activation.write_parameters(f, self.width.is_none())?;
        f.write_str(")")
    }
}

impl fmt::Display for ActivationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        WrittenLayer {
            activation: *self,
            width: None,
        }
        .fmt(f)
    }
}

/// A network's loss, with its parameters as the DSL gives them.
///
/// ```
/// use backprop_runtime::LossKind;
///
/// assert_eq!(LossKind::Huber { delta: 0.5 }.to_string(), "huber(delta = 0.5)");
/// assert!(LossKind::CrossEntropy.reads_logits());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LossKind {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Huber loss.
    Huber {
        /// Where the loss turns from quadratic to linear (default 1).
        delta: f64,
    },
    /// Cross-entropy of a `softmax` output, computed from its logits.
    CrossEntropy,
    /// Binary cross-entropy of a `sigmoid` output, computed from its logits.
    Bce,
}

impl LossKind {
    /// The DSL's name: `"cross_entropy"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mse => "mse",
            Self::Mae => "mae",
            Self::Huber { .. } => "huber",
            Self::CrossEntropy => "cross_entropy",
            Self::Bce => "bce",
        }
    }

    /// Whether the loss is fused with the output activation and reads the
    /// logits `Zᴸ`: its `Δᴸ = ∂L/∂Zᴸ` is computed directly, finite for
    /// logits of any size.
    #[must_use]
    pub const fn reads_logits(self) -> bool {
        matches!(self, Self::CrossEntropy | Self::Bce)
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if let Self::Huber { delta } = self {
            write!(f, "(delta = {delta:?})")?;
        }
        Ok(())
    }
}
