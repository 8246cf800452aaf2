//! What a backprop network is made of: each layer's activation with its
//! parameters, and the loss. This crate describes them once, for both
//! sides: the `network!` macro reads the DSL's names, parameters and
//! defaults from here, and the runtime gets these typed values from every
//! generated network (`Network::ACTIVATIONS`, `Network::LOSS`), which
//! initialisation, diagrams and weight files read.
//!
//! Adding an activation means a variant here (its name, parameters and
//! defaults, and its PyTorch module), then its kernel in the runtime.

#![no_std]

use core::fmt;

/// A layer's activation function, with its parameters as the DSL gives them.
///
/// `Display` writes it as the DSL spells it, with every parameter:
///
/// ```
/// use backprop_vocabulary::ActivationKind;
///
/// assert_eq!(ActivationKind::LeakyRelu { slope: 0.2 }.to_string(), "leaky_relu(slope = 0.2)");
/// assert_eq!(ActivationKind::Tanh.to_string(), "tanh");
/// ```
///
/// Not `non_exhaustive`: the macro and the runtime match on every variant,
/// so that a new one is handled everywhere before anything compiles.
#[derive(Clone, Copy, Debug, PartialEq)]
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

    /// Whether the activation is of the rectifier family (`relu`,
    /// `leaky_relu`, `elu`, `gelu`, `silu`), whose layers `new` draws with
    /// He's initialisation; the others take Glorot's.
    #[must_use]
    pub const fn is_rectifier(self) -> bool {
        matches!(
            self,
            Self::Relu | Self::LeakyRelu { .. } | Self::Elu { .. } | Self::Gelu { .. } | Self::Silu
        )
    }

    /// PyTorch's module computing the same function, as it would be written
    /// in an `nn.Sequential` (`softmax` along the last dimension).
    ///
    /// ```
    /// use backprop_vocabulary::ActivationKind;
    ///
    /// assert_eq!(ActivationKind::LeakyRelu { slope: 0.2 }.pytorch(), "nn.LeakyReLU");
    /// ```
    #[must_use]
    pub const fn pytorch(self) -> &'static str {
        match self {
            Self::Linear => "nn.Identity",
            Self::Sigmoid => "nn.Sigmoid",
            Self::Tanh => "nn.Tanh",
            Self::Relu => "nn.ReLU",
            Self::LeakyRelu { .. } => "nn.LeakyReLU",
            Self::Elu { .. } => "nn.ELU",
            Self::Gelu { .. } => "nn.GELU",
            Self::Silu => "nn.SiLU",
            Self::Softplus { .. } => "nn.Softplus",
            Self::Softmax => "nn.Softmax",
        }
    }

    /// Every name the DSL knows, in the order of the variants.
    pub const NAMES: [&str; 10] = [
        "linear",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "silu",
        "softplus",
        "softmax",
    ];

    /// Other names for the same functions, which spelling distance cannot
    /// find: `(alias, name)`.
    pub const ALIASES: [(&str, &str); 3] = [
        ("swish", "silu"),
        ("identity", "linear"),
        ("logistic", "sigmoid"),
    ];

    /// The activation the DSL calls `name`, its parameters read by `read`
    /// (which gives their default where the user wrote none); `None` for an
    /// unknown name.
    ///
    /// ```
    /// use backprop_vocabulary::{ActivationKind, Parameter, Value};
    ///
    /// let default = |parameter: &Parameter| parameter.default();
    /// assert_eq!(
    ///     ActivationKind::from_name("leaky_relu", default),
    ///     Some(ActivationKind::LeakyRelu { slope: 0.01 })
    /// );
    /// assert_eq!(ActivationKind::from_name("sigmiod", default), None);
    /// ```
    pub fn from_name(name: &str, mut read: impl FnMut(&Parameter) -> Value) -> Option<Self> {
        Some(match name {
            "linear" => Self::Linear,
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "leaky_relu" => Self::LeakyRelu {
                slope: read(&Parameter::SLOPE).number(),
            },
            "elu" => Self::Elu {
                alpha: read(&Parameter::ALPHA).number(),
            },
            "gelu" => Self::Gelu {
                tanh_approximation: read(&Parameter::APPROXIMATE).choice() == "tanh",
            },
            "silu" => Self::Silu,
            "softplus" => Self::Softplus {
                beta: read(&Parameter::BETA).number(),
            },
            "softmax" => Self::Softmax,
            _ => return None,
        })
    }

    /// The layer as the DSL spells it, with its width:
    /// `leaky_relu(16, slope = 0.2)`.
    ///
    /// ```
    /// use backprop_vocabulary::ActivationKind;
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
/// use backprop_vocabulary::LossKind;
///
/// assert_eq!(LossKind::Huber { delta: 0.5 }.to_string(), "huber(delta = 0.5)");
/// assert!(LossKind::CrossEntropy.reads_logits());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
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

    /// Every name the DSL knows, in the order of the variants.
    pub const NAMES: [&str; 5] = ["mse", "mae", "huber", "cross_entropy", "bce"];

    /// The loss the DSL calls `name`, its parameters read by `read`; `None`
    /// for an unknown name.
    ///
    /// ```
    /// use backprop_vocabulary::{LossKind, Parameter, Value};
    ///
    /// let half = |_: &Parameter| Value::Number(0.5);
    /// assert_eq!(LossKind::from_name("huber", half), Some(LossKind::Huber { delta: 0.5 }));
    /// ```
    pub fn from_name(name: &str, mut read: impl FnMut(&Parameter) -> Value) -> Option<Self> {
        Some(match name {
            "mse" => Self::Mse,
            "mae" => Self::Mae,
            "huber" => Self::Huber {
                delta: read(&Parameter::DELTA).number(),
            },
            "cross_entropy" => Self::CrossEntropy,
            "bce" => Self::Bce,
            _ => return None,
        })
    }

    /// The output activation this loss is fused with, if any: its `Δᴸ` is
    /// computed from the logits.
    #[must_use]
    pub const fn fused_activation(self) -> Option<ActivationKind> {
        match self {
            Self::CrossEntropy => Some(ActivationKind::Softmax),
            Self::Bce => Some(ActivationKind::Sigmoid),
            Self::Mse | Self::Mae | Self::Huber { .. } => None,
        }
    }

    /// PyTorch's loss module computing the same value (`mean` reduction;
    /// `bce` as `BCEWithLogitsLoss` on the logits).
    #[must_use]
    pub const fn pytorch(self) -> &'static str {
        match self {
            Self::Mse => "nn.MSELoss",
            Self::Mae => "nn.L1Loss",
            Self::Huber { .. } => "nn.HuberLoss",
            Self::CrossEntropy => "nn.CrossEntropyLoss",
            Self::Bce => "nn.BCEWithLogitsLoss",
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

/// A recurrent layer's cell, as `torch.nn.LSTM` and `torch.nn.GRU` define
/// it: `lstm(H)` and `gru(H)` in the DSL, before the dense layers.
///
/// ```
/// use backprop_vocabulary::CellKind;
///
/// assert_eq!(CellKind::from_name("gru"), Some(CellKind::Gru));
/// assert_eq!(CellKind::Lstm.gates(), 4);
/// assert_eq!(CellKind::Lstm.params(1, 16), 1_216);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// Long short-term memory: gates `i, f, g, o`, state `(h, c)`.
    Lstm,
    /// Gated recurrent unit: gates `r, z, n`, state `h`.
    Gru,
}

impl CellKind {
    /// Every name the DSL knows, in the order of the variants.
    pub const NAMES: [&str; 2] = ["lstm", "gru"];

    /// The DSL's name, which is also PyTorch's module in lower case.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Lstm => "lstm",
            Self::Gru => "gru",
        }
    }

    /// The cell the DSL calls `name`; `None` for any other name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "lstm" => Some(Self::Lstm),
            "gru" => Some(Self::Gru),
            _ => None,
        }
    }

    /// The PyTorch module: `"LSTM"`, `"GRU"`.
    #[must_use]
    pub const fn module(self) -> &'static str {
        match self {
            Self::Lstm => "LSTM",
            Self::Gru => "GRU",
        }
    }

    /// The number of gates `G`, each with its own weights.
    #[must_use]
    pub const fn gates(self) -> usize {
        match self {
            Self::Lstm => 4,
            Self::Gru => 3,
        }
    }

    /// The gates' names in PyTorch's order.
    #[must_use]
    pub const fn gate_names(self) -> &'static [&'static str] {
        match self {
            Self::Lstm => &["i", "f", "g", "o"],
            Self::Gru => &["r", "z", "n"],
        }
    }

    /// Parameters of a layer of `inputs` inputs and `hidden` units:
    /// `G·H·(I + H + 2)` (two weight matrices and two bias vectors).
    #[must_use]
    pub const fn params(self, inputs: usize, hidden: usize) -> usize {
        self.gates() * hidden * (inputs + hidden + 2)
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parameter of an activation or a loss, as the DSL takes it, with
/// PyTorch's default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Parameter {
    /// A number: `slope = 0.2`.
    Number {
        /// The parameter's name.
        name: &'static str,
        /// Its value where none is written.
        default: f64,
        /// Whether it must be greater than zero.
        positive: bool,
    },
    /// One of a few names: `approximate = tanh`.
    Choice {
        /// The parameter's name.
        name: &'static str,
        /// The names it accepts, the default first.
        options: &'static [&'static str],
    },
}

impl Parameter {
    /// `leaky_relu`'s slope below zero (PyTorch's `negative_slope`).
    pub const SLOPE: Self = Self::Number {
        name: "slope",
        default: 0.01,
        positive: false,
    };
    /// `elu`'s scale below zero.
    pub const ALPHA: Self = Self::Number {
        name: "alpha",
        default: 1.0,
        positive: false,
    };
    /// `gelu`'s form: exact (`none`) or PyTorch's `tanh` approximation.
    pub const APPROXIMATE: Self = Self::Choice {
        name: "approximate",
        options: &["none", "tanh"],
    };
    /// `softplus`'s sharpness `β`.
    pub const BETA: Self = Self::Number {
        name: "beta",
        default: 1.0,
        positive: true,
    };
    /// `huber`'s threshold between quadratic and linear.
    pub const DELTA: Self = Self::Number {
        name: "delta",
        default: 1.0,
        positive: true,
    };

    /// The parameter's name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Number { name, .. } | Self::Choice { name, .. } => name,
        }
    }

    /// Its value where none is written.
    #[must_use]
    pub const fn default(&self) -> Value {
        match self {
            Self::Number { default, .. } => Value::Number(*default),
            Self::Choice { options, .. } => Value::Choice(options[0]),
        }
    }
}

/// A parameter's value, as [`ActivationKind::from_name`] reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// The value of a [`Parameter::Number`].
    Number(f64),
    /// The value of a [`Parameter::Choice`], one of its options.
    Choice(&'static str),
}

impl Value {
    /// The number, or `NaN` for a choice (a reader that answers a
    /// parameter with a value of the other kind is mistaken).
    #[must_use]
    pub const fn number(self) -> f64 {
        match self {
            Self::Number(value) => value,
            Self::Choice(_) => f64::NAN,
        }
    }

    /// The option chosen, or `""` for a number.
    #[must_use]
    pub const fn choice(self) -> &'static str {
        match self {
            Self::Choice(option) => option,
            Self::Number(_) => "",
        }
    }
}

/// How a formula is written: Unicode text for rustdoc and terminals, or
/// LaTeX for notebooks and papers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notation {
    /// `σ(Z¹)`, `H¹ ⊙ (1 − H¹)`.
    Text,
    /// `\sigma(Z^{1})`, `H^{1} \odot (1 - H^{1})`.
    Latex,
}

impl Notation {
    /// `⊙`, the element-wise product.
    const fn odot(self) -> &'static str {
        match self {
            Self::Text => "⊙",
            Self::Latex => "\\odot",
        }
    }

    /// A product written without spaces around it, as in `0.1·Z¹`: in LaTeX
    /// `\cdot` then needs a space before a letter.
    const fn tight_dot(self) -> &'static str {
        match self {
            Self::Text => "·",
            Self::Latex => "\\cdot ",
        }
    }

    const fn minus(self) -> &'static str {
        match self {
            Self::Text => "−",
            Self::Latex => "-",
        }
    }

    const fn sigma(self) -> &'static str {
        match self {
            Self::Text => "σ",
            Self::Latex => "\\sigma",
        }
    }

    /// `Φ`, the standard normal distribution function.
    const fn phi(self) -> &'static str {
        match self {
            Self::Text => "Φ",
            Self::Latex => "\\Phi",
        }
    }

    /// `φ`, its density.
    const fn phi_density(self) -> &'static str {
        match self {
            Self::Text => "φ",
            Self::Latex => "\\phi",
        }
    }

    /// `≤`.
    const fn le(self) -> &'static str {
        match self {
            Self::Text => "≤",
            Self::Latex => "\\le",
        }
    }
}

impl ActivationKind {
    /// `f(Z)`, written in `notation` for the matrix written `z`.
    ///
    /// ```
    /// use backprop_vocabulary::{ActivationKind, Notation};
    ///
    /// let relu = ActivationKind::Relu;
    /// assert_eq!(relu.formula(Notation::Text, "Z¹").to_string(), "max(0, Z¹)");
    /// assert_eq!(relu.formula(Notation::Latex, "Z^{1}").to_string(), "\\max(0, Z^{1})");
    /// ```
    #[must_use]
    pub const fn formula(self, notation: Notation, z: &str) -> Formula<'_> {
        Formula {
            activation: self,
            notation,
            z,
            h: None,
        }
    }

    /// `f'(Z)` as the backward pass computes it, from `Z` (written `z`) or
    /// from `H = f(Z)` (written `h`), whichever is cheaper and stable;
    /// `None` for `linear` (whose derivative is 1) and `softmax` (not
    /// element-wise).
    ///
    /// ```
    /// use backprop_vocabulary::{ActivationKind, Notation};
    ///
    /// let sigmoid = ActivationKind::Sigmoid.derivative(Notation::Text, "Z¹", "H¹");
    /// assert_eq!(sigmoid.unwrap().to_string(), "H¹ ⊙ (1 − H¹)");
    /// assert!(ActivationKind::Linear.derivative(Notation::Text, "Z¹", "H¹").is_none());
    /// ```
    #[must_use]
    pub const fn derivative<'a>(
        self,
        notation: Notation,
        z: &'a str,
        h: &'a str,
    ) -> Option<Formula<'a>> {
        match self {
            Self::Linear | Self::Softmax => None,
            _ => Some(Formula {
                activation: self,
                notation,
                z,
                h: Some(h),
            }),
        }
    }
}

/// An activation's formula or derivative, written by `Display`; see
/// [`ActivationKind::formula`] and [`ActivationKind::derivative`].
#[derive(Clone, Copy, Debug)]
pub struct Formula<'a> {
    activation: ActivationKind,
    notation: Notation,
    z: &'a str,
    /// `H`, for the derivative; `None` for `f` itself.
    h: Option<&'a str>,
}

impl fmt::Display for Formula<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.h {
            None => self.write_function(f),
            Some(h) => self.write_derivative(f, h),
        }
    }
}

impl Formula<'_> {
    /// `[Z > 0]`, or `[Z ≤ 0]` with `positive` false.
    fn indicator(&self, f: &mut fmt::Formatter<'_>, positive: bool) -> fmt::Result {
        let z = self.z;
        if positive {
            write!(f, "[{z} > 0]")
        } else {
            write!(f, "[{z} {} 0]", self.notation.le())
        }
    }

    fn write_function(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ActivationKind as A;
        use Notation::{Latex, Text};
        let (z, n) = (self.z, self.notation);
        let (odot, tight, minus, sigma) = (n.odot(), n.tight_dot(), n.minus(), n.sigma());
        match (self.activation, n) {
            (A::Linear, _) => f.write_str(z),
            (A::Sigmoid, _) => write!(f, "{sigma}({z})"),
            (A::Tanh, Text) => write!(f, "tanh({z})"),
            (A::Tanh, Latex) => write!(f, "\\tanh({z})"),
            (A::Relu, Text) => write!(f, "max(0, {z})"),
            (A::Relu, Latex) => write!(f, "\\max(0, {z})"),
            (A::LeakyRelu { slope }, _) => {
                write!(f, "{z} {odot} ")?;
                self.indicator(f, true)?;
                write!(f, " + {slope}{tight}{z} {odot} ")?;
                self.indicator(f, false)
            }
            (A::Elu { alpha }, _) => {
                write!(f, "{z} {odot} ")?;
                self.indicator(f, true)?;
                match n {
                    Text => write!(f, " + {alpha}·(e^{z} − 1) ⊙ ")?,
                    Latex => write!(f, " + {alpha}(e^{{{z}}} {minus} 1) {odot} ")?,
                }
                self.indicator(f, false)
            }
            (
                A::Gelu {
                    tanh_approximation: false,
                },
                _,
            ) => write!(f, "{z} {odot} {}({z})", n.phi()),
            (
                A::Gelu {
                    tanh_approximation: true,
                },
                Text,
            ) => write!(f, "½{z} ⊙ (1 + tanh(√(2/π)·({z} + 0.044715·{z}³)))"),
            (
                A::Gelu {
                    tanh_approximation: true,
                },
                Latex,
            ) => write!(
                f,
                "\\tfrac12 {z} \\odot \\left(1 + \\tanh\\left(\\sqrt{{2/\\pi}}\\,({z} + 0.044715\\,{z}^{{3}})\\right)\\right)"
            ),
            (A::Silu, _) => write!(f, "{z} {odot} {sigma}({z})"),
            (A::Softplus { beta }, Text) => write!(f, "ln(1 + e^({beta}·{z})) / {beta}"),
            (A::Softplus { beta }, Latex) => {
                write!(
                    f,
                    "\\tfrac{{1}}{{{beta}}}\\ln\\left(1 + e^{{{beta}{z}}}\\right)"
                )
            }
            (A::Softmax, Text) => write!(f, "softmax({z}), row by row"),
            (A::Softmax, Latex) => write!(f, "\\operatorname{{softmax}}({z})"),
        }
    }

    fn write_derivative(&self, f: &mut fmt::Formatter<'_>, h: &str) -> fmt::Result {
        use ActivationKind as A;
        let (z, n) = (self.z, self.notation);
        let (odot, tight, minus, sigma) = (n.odot(), n.tight_dot(), n.minus(), n.sigma());
        match self.activation {
            // Not element-wise, or 1: `derivative` gives no formula.
            A::Linear | A::Softmax => Ok(()),
            A::Sigmoid => write!(f, "{h} {odot} (1 {minus} {h})"),
            A::Tanh => write!(f, "(1 {minus} {h} {odot} {h})"),
            A::Relu => self.indicator(f, true),
            A::LeakyRelu { slope } => {
                f.write_str("(")?;
                self.indicator(f, true)?;
                write!(f, " + {slope}{tight}")?;
                self.indicator(f, false)?;
                f.write_str(")")
            }
            A::Elu { alpha } => {
                f.write_str("(")?;
                self.indicator(f, true)?;
                match n {
                    Notation::Text => write!(f, " + {alpha}{tight}e^{z} {odot} ")?,
                    Notation::Latex => write!(f, " + {alpha}{tight}e^{{{z}}} {odot} ")?,
                }
                self.indicator(f, false)?;
                f.write_str(")")
            }
            A::Gelu {
                tanh_approximation: false,
            } => write!(
                f,
                "({}({z}) + {z} {odot} {}({z}))",
                n.phi(),
                n.phi_density()
            ),
            A::Gelu {
                tanh_approximation: true,
            } => match n {
                Notation::Text => write!(f, "gelu_tanh'({z})"),
                Notation::Latex => write!(f, "\\operatorname{{gelu}}_{{\\tanh}}'({z})"),
            },
            A::Silu => write!(
                f,
                "{sigma}({z}) {odot} (1 + {z} {odot} (1 {minus} {sigma}({z})))"
            ),
            A::Softplus { beta } => write!(f, "{sigma}({beta}{tight}{z})"),
        }
    }
}
