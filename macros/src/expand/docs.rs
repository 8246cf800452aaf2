//! The rustdoc of a generated network: what it is and what each method
//! computes, written with this network's layers and sizes.

use std::fmt::Write as _;

use crate::model::{Activation, Layer, Loss, Network};

/// `ˡ` for layer numbers: `W¹`, `Δ²³`.
fn superscript(n: usize) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .bytes()
        .map(|d| DIGITS[usize::from(d - b'0')])
        .collect()
}

/// `2 → sigmoid(3) → linear(1)`.
pub(super) fn architecture(network: &Network) -> String {
    let mut text = network.inputs.to_string();
    for layer in &network.layers {
        let _ = write!(text, " → {}", written(layer));
    }
    text
}

/// A loss as the DSL spells it, with every parameter: `huber(delta = 0.5)`.
pub(super) fn written_loss(loss: Loss) -> String {
    match loss {
        Loss::Huber { delta } => format!("huber(delta = {delta:?})"),
        _ => loss.name().to_owned(),
    }
}

/// A layer as the DSL spells it, with every parameter: `leaky_relu(16, slope = 0.2)`.
pub(super) fn written(layer: &Layer) -> String {
    let (name, width) = (layer.activation.name(), layer.width);
    match layer.activation {
        Activation::LeakyRelu { slope } => format!("{name}({width}, slope = {slope:?})"),
        Activation::Elu { alpha } => format!("{name}({width}, alpha = {alpha:?})"),
        Activation::Gelu {
            tanh_approximation: true,
        } => format!("{name}({width}, approximate = tanh)"),
        Activation::Softplus { beta } => format!("{name}({width}, beta = {beta:?})"),
        _ => format!("{name}({width})"),
    }
}

/// `f(Zˡ)` for an activation.
fn apply(activation: Activation, z: &str) -> String {
    match activation {
        Activation::Linear => z.to_owned(),
        Activation::Sigmoid => format!("σ({z})"),
        Activation::Tanh => format!("tanh({z})"),
        Activation::Relu => format!("max(0, {z})"),
        Activation::LeakyRelu { slope } => format!("{z} ⊙ [{z} > 0] + {slope}·{z} ⊙ [{z} ≤ 0]"),
        Activation::Elu { alpha } => format!("{z} ⊙ [{z} > 0] + {alpha}·(e^{z} − 1) ⊙ [{z} ≤ 0]"),
        Activation::Gelu {
            tanh_approximation: false,
        } => format!("{z} ⊙ Φ({z})"),
        Activation::Gelu {
            tanh_approximation: true,
        } => {
            format!("½{z} ⊙ (1 + tanh(√(2/π)·({z} + 0.044715·{z}³)))")
        }
        Activation::Silu => format!("{z} ⊙ σ({z})"),
        Activation::Softplus { beta } => format!("ln(1 + e^({beta}·{z})) / {beta}"),
        Activation::Softmax => format!("softmax({z}), row by row"),
    }
}

/// `f'(Zˡ)` for an element-wise activation, using `Zˡ` or `Hˡ`, whichever
/// the generated code uses; `None` for linear and softmax.
fn derivative(activation: Activation, z: &str, h: &str) -> Option<String> {
    Some(match activation {
        Activation::Linear | Activation::Softmax => return None,
        Activation::Sigmoid => format!("{h} ⊙ (1 − {h})"),
        Activation::Tanh => format!("(1 − {h} ⊙ {h})"),
        Activation::Relu => format!("[{z} > 0]"),
        Activation::LeakyRelu { slope } => format!("([{z} > 0] + {slope}·[{z} ≤ 0])"),
        Activation::Elu { alpha } => format!("([{z} > 0] + {alpha}·e^{z} ⊙ [{z} ≤ 0])"),
        Activation::Gelu {
            tanh_approximation: false,
        } => format!("(Φ({z}) + {z} ⊙ φ({z}))"),
        Activation::Gelu {
            tanh_approximation: true,
        } => format!("gelu_tanh'({z})"),
        Activation::Silu => format!("σ({z}) ⊙ (1 + {z} ⊙ (1 − σ({z})))"),
        Activation::Softplus { beta } => format!("σ({beta}·{z})"),
    })
}

/// The loss, and how `Δᴸ` follows from it.
struct LossEquations {
    /// `L = …`.
    definition: String,
    /// `∂L/∂Ŷ = …`, or for a fused loss `Δᴸ = …` directly.
    gradient: String,
    fused: bool,
}

fn loss_equations(network: &Network) -> LossEquations {
    let n = network.outputs();
    let last = superscript(network.layers.len());
    let (definition, gradient, fused) = match network.loss {
        Loss::Mse => (
            "L = mean over the batch and the outputs of (Ŷ − Y)²".to_owned(),
            format!("∂L/∂Ŷ = 2(Ŷ − Y) / (B·{n})"),
            false,
        ),
        Loss::Mae => (
            "L = mean over the batch and the outputs of |Ŷ − Y|".to_owned(),
            format!("∂L/∂Ŷ = sign(Ŷ − Y) / (B·{n})"),
            false,
        ),
        Loss::Huber { delta } => (
            format!(
                "L = mean over the batch and the outputs of ½(Ŷ − Y)² where |Ŷ − Y| ≤ {delta}, \
                 {delta}·(|Ŷ − Y| − ½·{delta}) elsewhere"
            ),
            format!("∂L/∂Ŷ = clamp(Ŷ − Y, −{delta}, {delta}) / (B·{n})"),
            false,
        ),
        Loss::CrossEntropy => (
            format!("L = −(1/B)·Σ Y ⊙ log softmax(Z{last})   (log-sum-exp, fused with softmax)"),
            format!("Δ{last} = (softmax(Z{last}) − Y) / B"),
            true,
        ),
        Loss::Bce => (
            format!(
                "L = mean over the batch and the outputs of −[Y ⊙ ln σ(Z{last}) + (1 − Y) ⊙ ln(1 − σ(Z{last}))]   \
                 (logits form, fused with sigmoid)"
            ),
            format!("Δ{last} = (σ(Z{last}) − Y) / (B·{n})"),
            true,
        ),
    };
    LossEquations {
        definition,
        gradient,
        fused,
    }
}

/// The forward and backward equations, one per line, with every shape.
pub(super) fn equations(network: &Network) -> String {
    let layers = network.layers.len();
    let h_name = |l: usize| {
        if l == 0 {
            "X".to_owned()
        } else {
            format!("H{}", superscript(l))
        }
    };
    let mut text = String::from("Forward (B rows, one sample per row):\n");
    for (index, layer) in network.layers.iter().enumerate() {
        let l = index + 1;
        let (n_in, n) = (network.fan_in(l), layer.width);
        let s = superscript(l);
        let _ = writeln!(
            text,
            "  Z{s} (B×{n}) = {} (B×{n_in}) · W{s} ({n_in}×{n}) + 1·b{s}ᵀ",
            h_name(l - 1)
        );
        let _ = writeln!(
            text,
            "  H{s} (B×{n}) = {}",
            apply(layer.activation, &format!("Z{s}"))
        );
    }
    let loss = loss_equations(network);
    let last = superscript(layers);
    let _ = writeln!(text, "  Ŷ = H{last};  {}", loss.definition);
    let _ = writeln!(text, "Backward:");
    let _ = writeln!(text, "  {}", loss.gradient);
    if !loss.fused {
        let output = network.layers[layers - 1].activation;
        let (z, h) = (format!("Z{last}"), format!("H{last}"));
        match (output, derivative(output, &z, &h)) {
            (Activation::Softmax, _) => {
                _ = writeln!(
                    text,
                    "  Δ{last} = {h} ⊙ (∂L/∂Ŷ − rowsum(∂L/∂Ŷ ⊙ {h})·1ᵀ)   (softmax's Jacobian)"
                );
            }
            (_, Some(d)) => _ = writeln!(text, "  Δ{last} = ∂L/∂Ŷ ⊙ {d}"),
            (_, None) => _ = writeln!(text, "  Δ{last} = ∂L/∂Ŷ"),
        }
    }
    for l in (1..=layers).rev() {
        let (n_in, n) = (network.fan_in(l), network.layers[l - 1].width);
        let s = superscript(l);
        let _ = writeln!(
            text,
            "  ∂L/∂W{s} ({n_in}×{n}) = {}ᵀ ({n_in}×B) · Δ{s} (B×{n})",
            h_name(l - 1)
        );
        let _ = writeln!(text, "  ∂L/∂b{s} ({n}) = 1ᵀ · Δ{s}");
        if l > 1 {
            let p = superscript(l - 1);
            let previous = network.layers[l - 2].activation;
            match derivative(previous, &format!("Z{p}"), &format!("H{p}")) {
                Some(d) => _ = writeln!(text, "  Δ{p} (B×{n_in}) = (Δ{s} · W{s}ᵀ) ⊙ {d}"),
                None => _ = writeln!(text, "  Δ{p} (B×{n_in}) = Δ{s} · W{s}ᵀ"),
            }
        } else {
            let _ = writeln!(text, "  ∂L/∂X (B×{n_in}) = Δ{s} · W{s}ᵀ");
        }
    }
    text
}

/// The generated type's documentation.
pub(super) fn summary(network: &Network) -> String {
    format!(
        "A network generated by `backprop::network!`: `{}`, loss `{}`, `{}`, {} parameters.\n\n\
         Its batch backpropagation, as the generated code computes it:\n\n```text\n{}```",
        architecture(network),
        written_loss(network.loss),
        network.float.name(),
        network.params(),
        equations(network),
    )
}

/// Docs of layer `l`'s weight and bias views.
pub(super) fn layer_views(network: &Network, l: usize) -> (String, String) {
    let s = superscript(l);
    let layer = &network.layers[l - 1];
    let from = if l == 1 {
        "the input".to_owned()
    } else {
        format!("layer {}", l - 1)
    };
    (
        format!(
            "`W{s}`, the {}×{} weights from {from} to layer {l} (`{}`); row `i` holds input `i`'s weights.",
            network.fan_in(l),
            layer.width,
            layer.activation.name(),
        ),
        format!(
            "`b{s}`, the {} biases of layer {l} (`{}`).",
            layer.width,
            layer.activation.name()
        ),
    )
}

/// Added to a method's doc when it is the run-time-size version.
pub(super) const SLICE: &str =
    "\n\nThis version takes a batch whose size is known only at run time.";

/// Docs of the batch methods.
pub(super) struct Methods {
    pub(super) forward: String,
    pub(super) loss: String,
    pub(super) gradients: String,
    pub(super) input_gradients: String,
    pub(super) train_step: String,
}

impl Methods {
    pub(super) fn new(network: &Network) -> Self {
        let loss = loss_equations(network).definition;
        let (inputs, outputs) = (network.inputs, network.outputs());
        Self {
            forward: format!(
                "The outputs `Ŷ` (B×{outputs}) of a batch `X` (B×{inputs}), one sample per row."
            ),
            loss: format!("The loss of a batch: `{loss}`."),
            gradients: "The loss of a batch and its gradient with respect to every parameter, \
                        as a value of this type: `grad.w1()` is `∂L/∂W¹`, and so on. \
                        See the type's documentation for the equations."
                .to_owned(),
            input_gradients: format!(
                "The loss of a batch and its gradient with respect to the inputs, `∂L/∂X` (B×{inputs})."
            ),
            train_step: "One step of training: forward pass, loss, backward pass and the \
                         optimizer's update (`Sgd::new(learning_rate)` is plain SGD). \
                         Returns the loss before the update."
                .to_owned(),
        }
    }
}
