//! A network's forward and backward equations with its real shapes, as
//! Unicode text (for rustdoc and terminals) and as LaTeX (for notebooks and
//! papers), written once for both through [`Style`].

use std::fmt::Write as _;

use backprop_vocabulary::Notation;

use crate::model::{Activation, Loss, Network};

/// How the equations are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// `Z¹ (B×3) = X (B×2) · W¹ (2×3) + 1·b¹ᵀ`
    Text,
    /// `\underset{B\times 3}{Z^{1}} = …`
    Latex,
}

impl Style {
    /// The vocabulary's notation for the activations' formulas.
    fn notation(self) -> Notation {
        match self {
            Self::Text => Notation::Text,
            Self::Latex => Notation::Latex,
        }
    }

    /// `Z¹` or `Z^{1}`.
    fn sup(self, base: &str, l: usize) -> String {
        match self {
            Self::Text => format!("{base}{}", superscript(l)),
            Self::Latex => format!("{base}^{{{l}}}"),
        }
    }

    /// `W¹ᵀ` or `W^{1\top}`.
    fn sup_transposed(self, base: &str, l: usize) -> String {
        match self {
            Self::Text => format!("{base}{}ᵀ", superscript(l)),
            Self::Latex => format!("{base}^{{{l}\\top}}"),
        }
    }

    /// `H⁰`, written `X`, or `Hˡ`.
    fn activation_output(self, l: usize) -> String {
        if l == 0 {
            "X".to_owned()
        } else {
            self.sup("H", l)
        }
    }

    /// `Xᵀ` or `Hˡᵀ`.
    fn activation_output_transposed(self, l: usize) -> String {
        match (l, self) {
            (0, Self::Text) => "Xᵀ".to_owned(),
            (0, Self::Latex) => "X^{\\top}".to_owned(),
            _ => self.sup_transposed("H", l),
        }
    }

    /// `H¹ₜ` or `H^{1}_{t}`; with `previous`, `H¹ₜ₋₁` or `H^{1}_{t-1}`.
    fn at_step(self, symbol: &str, previous: bool) -> String {
        match (self, previous) {
            (Self::Text, false) => format!("{symbol}ₜ"),
            (Self::Text, true) => format!("{symbol}ₜ₋₁"),
            (Self::Latex, false) => format!("{symbol}_{{t}}"),
            (Self::Latex, true) => format!("{symbol}_{{t-1}}"),
        }
    }

    /// `symbol (rows×cols)` or `\underset{rows\times cols}{symbol}`.
    fn shaped(self, symbol: &str, rows: &str, cols: &str) -> String {
        match self {
            Self::Text => format!("{symbol} ({rows}×{cols})"),
            Self::Latex => format!("\\underset{{{rows}\\times {cols}}}{{{symbol}}}"),
        }
    }

    /// `∂L/∂x` or `\frac{\partial L}{\partial x}`.
    fn partial(self, of: &str) -> String {
        match self {
            Self::Text => format!("∂L/∂{of}"),
            Self::Latex => format!("\\frac{{\\partial L}}{{\\partial {of}}}"),
        }
    }

    /// A product written without spaces around it, as in `0.1·Z¹`: in LaTeX
    /// `\\cdot` then needs a space before a letter.
    fn tight_dot(self) -> &'static str {
        match self {
            Self::Text => "·",
            Self::Latex => "\\cdot ",
        }
    }

    fn word(self, symbol: Symbol) -> &'static str {
        use Symbol::{Delta, Dot, Minus, Odot, One, Sigma, YHat};
        match (self, symbol) {
            (Self::Text, Odot) => "⊙",
            (Self::Latex, Odot) => "\\odot",
            (Self::Text, Dot) => "·",
            (Self::Latex, Dot) => "\\cdot",
            (Self::Text, Minus) => "−",
            (Self::Latex, Minus) => "-",
            (Self::Text, YHat) => "Ŷ",
            (Self::Latex, YHat) => "\\hat{Y}",
            (Self::Text, Delta) => "Δ",
            (Self::Latex, Delta) => "\\Delta",
            (Self::Text, Sigma) => "σ",
            (Self::Latex, Sigma) => "\\sigma",
            (Self::Text, One) => "1",
            (Self::Latex, One) => "\\mathbf{1}",
        }
    }
}

#[derive(Clone, Copy)]
enum Symbol {
    Odot,
    Dot,
    Minus,
    YHat,
    Delta,
    Sigma,
    One,
}

/// `ˡ` for layer numbers: `W¹`, `Δ²³`.
pub(super) fn superscript(n: usize) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .bytes()
        .map(|d| DIGITS[usize::from(d - b'0')])
        .collect()
}

/// `f(z)` for an activation, as the vocabulary writes it.
fn apply(style: Style, activation: Activation, z: &str) -> String {
    activation.formula(style.notation(), z).to_string()
}

/// `f'(Zˡ)` for an element-wise activation, with `Zˡ` or `Hˡ`, whichever
/// the generated code uses; `None` for linear and softmax.
fn derivative(style: Style, activation: Activation, z: &str, h: &str) -> Option<String> {
    activation
        .derivative(style.notation(), z, h)
        .map(|formula| formula.to_string())
}

/// The loss, and how `Δᴸ` follows from it.
pub(super) struct LossEquations {
    /// `L = …`.
    pub(super) definition: String,
    /// `∂L/∂Ŷ = …`, or for a fused loss `Δᴸ = …` directly.
    pub(super) gradient: String,
    pub(super) fused: bool,
}

#[allow(
    clippy::too_many_lines,
    reason = "one short arm per loss, in both styles"
)]
pub(super) fn loss_equations(style: Style, network: &Network) -> Option<LossEquations> {
    use Symbol::{Minus, Sigma, YHat};
    let n = network.outputs();
    let (y_hat, minus, sigma) = (style.word(YHat), style.word(Minus), style.word(Sigma));
    let last = network.number(network.layers.len());
    let (z, delta) = (
        style.sup("Z", last),
        style.sup(style.word(Symbol::Delta), last),
    );
    let d_output = style.partial(y_hat);
    let mean = match style {
        Style::Text => "mean over the batch and the outputs of ".to_owned(),
        Style::Latex => "\\operatorname{mean}".to_owned(),
    };
    let over = |numerator: String, denominator: &str| match style {
        Style::Text if has_top_level_space(&numerator) => format!("({numerator}) / {denominator}"),
        Style::Text => format!("{numerator} / {denominator}"),
        Style::Latex => format!("\\frac{{{numerator}}}{{{denominator}}}"),
    };
    let batch_outputs = match style {
        Style::Text => format!("(B·{n})"),
        Style::Latex => format!("B \\cdot {n}"),
    };
    let error = format!("{y_hat} {minus} Y");
    let (definition, gradient, fused) = match network.loss? {
        Loss::Mse => (
            format!(
                "L = {mean}({error}){}",
                if style == Style::Text { "²" } else { "^{2}" }
            ),
            format!(
                "{d_output} = {}",
                over(format!("2({error})"), &batch_outputs)
            ),
            false,
        ),
        Loss::Mae => (
            format!("L = {mean}|{error}|"),
            format!(
                "{d_output} = {}",
                over(
                    format!("{}({error})", operator(style, "sign")),
                    &batch_outputs
                )
            ),
            false,
        ),
        Loss::Huber { delta: d } => {
            let huber = match style {
                Style::Text => format!("huber_{d}"),
                Style::Latex => format!("\\operatorname{{huber}}_{{{d}}}"),
            };
            let clamp = operator(style, "clamp");
            (
                format!("L = {mean}{huber}({error})"),
                format!(
                    "{d_output} = {}",
                    over(format!("{clamp}({error}, {minus}{d}, {d})"), &batch_outputs)
                ),
                false,
            )
        }
        Loss::CrossEntropy => {
            let softmax = operator(style, "softmax");
            let definition = match style {
                Style::Text => format!(
                    "L = −(1/B)·Σ Y ⊙ log {softmax}({z})   (log-sum-exp, fused with softmax)"
                ),
                Style::Latex => format!("L = -\\frac{{1}}{{B}}\\sum Y \\odot \\log {softmax}({z})"),
            };
            (
                definition,
                format!(
                    "{delta} = {}",
                    over(format!("{softmax}({z}) {minus} Y"), "B")
                ),
                true,
            )
        }
        Loss::Bce => {
            let definition = match style {
                Style::Text => format!(
                    "L = {mean}−[Y ⊙ ln σ({z}) + (1 − Y) ⊙ ln(1 − σ({z}))]   (logits form, fused with sigmoid)"
                ),
                Style::Latex => format!(
                    "L = -{mean}\\left[Y \\odot \\ln\\sigma({z}) + (1 - Y) \\odot \\ln(1 - \\sigma({z}))\\right]"
                ),
            };
            (
                definition,
                format!(
                    "{delta} = {}",
                    over(format!("{sigma}({z}) {minus} Y"), &batch_outputs)
                ),
                true,
            )
        }
    };
    Some(LossEquations {
        definition,
        gradient,
        fused,
    })
}

/// Whether `text` has a space outside parentheses, as `softmax(Z³) − Y` does
/// and `2(Ŷ − Y)` does not: such a numerator needs parentheses before `/`.
fn has_top_level_space(text: &str) -> bool {
    let mut depth = 0_i32;
    text.chars().any(|c| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        c == ' ' && depth == 0
    })
}

/// A named operator: `sign` or `\operatorname{sign}`.
fn operator(style: Style, name: &str) -> String {
    match style {
        Style::Text => name.to_owned(),
        Style::Latex => format!("\\operatorname{{{name}}}"),
    }
}

/// The forward and backward equations as `(left, right)` sides, in order,
/// with section titles as `("", title)`.
fn lines(style: Style, network: &Network) -> Vec<(String, String)> {
    use Symbol::{Delta, Dot, Odot, One, YHat};
    let (odot, dot, one) = (style.word(Odot), style.word(Dot), style.word(One));
    let batch = "B";
    let layers = network.number(network.layers.len());
    let mut lines = if network.is_recurrent() {
        recurrent_forward(style, network)
    } else {
        vec![(
            String::new(),
            "Forward, B rows, one sample per row".to_owned(),
        )]
    };
    for (index, layer) in network.layers.iter().enumerate() {
        let dense = index + 1;
        let l = network.number(dense);
        let (n_in, n) = (network.fan_in(dense).to_string(), layer.width.to_string());
        let z = style.sup("Z", l);
        lines.push((
            style.shaped(&z, batch, &n),
            format!(
                "{} {dot} {} + {one}{}{}",
                style.shaped(&style.activation_output(l - 1), batch, &n_in),
                style.shaped(&style.sup("W", l), &n_in, &n),
                style.tight_dot(),
                style.sup_transposed("b", l),
            ),
        ));
        lines.push((
            style.shaped(&style.sup("H", l), batch, &n),
            apply(style, layer.activation, &z),
        ));
    }
    let loss = loss_equations(style, network);
    lines.push((style.word(YHat).to_owned(), style.sup("H", layers)));
    let delta = |l: usize| style.sup(style.word(Delta), l);
    // `backward` and `Trace` start from a `∂L/∂Ŷ` the caller computed.
    // LaTeX's `\text` is for words, not for the symbols.
    let supplied = match style {
        Style::Text => "∂L/∂Ŷ",
        Style::Latex => "gradient of the outputs",
    };
    if let Some(loss) = &loss {
        loss_lines(style, network, loss, &mut lines);
    } else {
        lines.push((
            String::new(),
            format!("Backward, from a supplied {supplied} (backward, Trace)"),
        ));
        lines.push((delta(layers), output_delta(style, network)));
    }
    let first = network.number(1);
    for l in (first..=layers).rev() {
        let dense = l + 1 - first;
        let (n_in, n) = (
            network.fan_in(dense).to_string(),
            network.layers[dense - 1].width.to_string(),
        );
        lines.push((
            style.shaped(&style.partial(&style.sup("W", l)), &n_in, &n),
            format!(
                "{} {dot} {}",
                style.shaped(&style.activation_output_transposed(l - 1), &n_in, batch),
                style.shaped(&delta(l), batch, &n)
            ),
        ));
        let ones_transposed = match style {
            Style::Text => "1ᵀ".to_owned(),
            Style::Latex => format!("{one}^{{\\top}}"),
        };
        lines.push((
            style.shaped(&style.partial(&style.sup("b", l)), "1", &n),
            format!("{ones_transposed} {dot} {}", delta(l)),
        ));
        let back = format!("{} {dot} {}", delta(l), style.sup_transposed("W", l));
        if dense > 1 {
            let previous = network.layers[dense - 2].activation;
            let (z, h) = (style.sup("Z", l - 1), style.sup("H", l - 1));
            let right = match derivative(style, previous, &z, &h) {
                Some(d) => format!("({back}) {odot} {d}"),
                None => back,
            };
            lines.push((style.shaped(&delta(l - 1), batch, &n_in), right));
        } else if network.is_recurrent() {
            let h = style.at_step(&style.sup("H", l - 1), false);
            lines.push((style.shaped(&style.partial(&h), batch, &n_in), back));
        } else {
            lines.push((style.shaped(&style.partial("X"), batch, &n_in), back));
        }
    }
    if network.is_recurrent() {
        lines.extend(recurrent_backward(style, network));
    }
    if loss.is_some_and(|loss| loss.fused) {
        // Through the output activation the fused loss skips.
        lines.push((
            String::new(),
            format!("From a supplied {supplied} (backward, Trace), the steps above start at"),
        ));
        lines.push((delta(layers), output_delta(style, network)));
    }
    lines
}

/// The loss's lines: `L`, and the start of the backward pass from it.
fn loss_lines(
    style: Style,
    network: &Network,
    loss: &LossEquations,
    lines: &mut Vec<(String, String)>,
) {
    let (left, right) = loss
        .definition
        .split_once(" = ")
        .unwrap_or(("L", &loss.definition));
    lines.push((left.to_owned(), right.to_owned()));
    lines.push((String::new(), "Backward".to_owned()));
    let (gradient_left, gradient_right) = loss
        .gradient
        .split_once(" = ")
        .unwrap_or(("", &loss.gradient));
    lines.push((gradient_left.to_owned(), gradient_right.to_owned()));
    if !loss.fused {
        let layers = network.number(network.layers.len());
        lines.push((
            style.sup(style.word(Symbol::Delta), layers),
            output_delta(style, network),
        ));
    }
}

/// `Δᴸ` from `∂L/∂Ŷ` through the output activation's derivative (for
/// softmax, its Jacobian–vector product).
fn output_delta(style: Style, network: &Network) -> String {
    let layers = network.number(network.layers.len());
    let output = network.layers[network.layers.len() - 1].activation;
    let (z, h) = (style.sup("Z", layers), style.sup("H", layers));
    let d_output = style.partial(style.word(Symbol::YHat));
    match (output, derivative(style, output, &z, &h)) {
        (Activation::Softmax, _) => match style {
            Style::Text => {
                format!("{h} ⊙ ({d_output} − rowsum({d_output} ⊙ {h})·1ᵀ)   (softmax's Jacobian)")
            }
            Style::Latex => format!(
                "{h} \\odot \\left({d_output} - \\operatorname{{rowsum}}\\left({d_output} \\odot {h}\\right)\\mathbf{{1}}^{{\\top}}\\right)"
            ),
        },
        (_, Some(d)) => format!("{d_output} {} {d}", style.word(Symbol::Odot)),
        (_, None) => d_output,
    }
}

/// The equations in `style`: indented lines under section titles, or a
/// LaTeX `aligned` environment.
pub(super) fn equations(style: Style, network: &Network) -> String {
    let lines = lines(style, network);
    match style {
        Style::Text => {
            let mut text = String::new();
            for (left, right) in lines {
                if left.is_empty() {
                    let _ = writeln!(text, "{right}:");
                } else {
                    let _ = writeln!(text, "  {left} = {right}");
                }
            }
            text
        }
        Style::Latex => {
            let rows: Vec<String> = lines
                .into_iter()
                .map(|(left, right)| {
                    if left.is_empty() {
                        format!("&\\text{{{right}}}")
                    } else {
                        format!("{left} &= {right}")
                    }
                })
                .collect();
            format!(
                "\\begin{{aligned}}\n{}\n\\end{{aligned}}\n",
                rows.join(" \\\\\n")
            )
        }
    }
}

/// `W¹_ih` or `W^{1}_{ih}`: recurrent layer `r`'s symbol for a gate or
/// tensor; `gate` empty for the layer's own, `I¹`.
fn gated(style: Style, base: &str, r: usize, gate: &str) -> String {
    match style {
        Style::Text if gate.is_empty() => format!("{base}{}", superscript(r)),
        Style::Text => format!("{base}{}_{gate}", superscript(r)),
        Style::Latex if gate.is_empty() => format!("{base}^{{{r}}}"),
        Style::Latex => format!("{base}^{{{r}}}_{{{gate}}}"),
    }
}

/// The recurrent layers' forward equations for one time step of `B`
/// streams, PyTorch's definitions with this network's sizes, and the title
/// of the dense layers that follow on the last state.
#[allow(
    clippy::too_many_lines,
    reason = "one short arm per cell, in both styles"
)]
fn recurrent_forward(style: Style, network: &Network) -> Vec<(String, String)> {
    let (odot, dot, one) = (
        style.word(Symbol::Odot),
        style.word(Symbol::Dot),
        style.word(Symbol::One),
    );
    let sigma = style.word(Symbol::Sigma);
    let minus = style.word(Symbol::Minus);
    let tanh = operator(style, "tanh");
    let mut lines = vec![(
        String::new(),
        "Forward, time step t = 1 … T of B streams, one row per stream, from H⁰ = 0 (and C⁰ = 0)"
            .to_owned(),
    )];
    for (index, layer) in network.recurrent.iter().enumerate() {
        let r = index + 1;
        let (i, h) = (network.recurrent_fan_in(r), layer.width);
        let gh = (layer.cell.gates() * h).to_string();
        let input = if r == 1 {
            style.at_step("X", false)
        } else {
            style.at_step(&style.sup("H", r - 1), false)
        };
        let hidden = style.at_step(&style.sup("H", r), false);
        let previous = style.at_step(&style.sup("H", r), true);
        let sub = |base: &str, gate: &str| gated(style, base, r, gate);
        let w = |which: &str| sub("W", which);
        let b = |which: &str| sub("b", which);
        let transposed = |text: String| match style {
            Style::Text => format!("({text})ᵀ"),
            Style::Latex => format!("({text})^{{\\top}}"),
        };
        let a = style.sup("A", r);
        lines.push((
            style.shaped(&a, "B", &gh),
            format!(
                "{} {dot} {} + {} {dot} {} + {one}{}{}",
                style.shaped(&input, "B", &i.to_string()),
                style.shaped(&w("ih"), &i.to_string(), &gh),
                style.shaped(&previous, "B", &h.to_string()),
                style.shaped(&w("hh"), &h.to_string(), &gh),
                style.tight_dot(),
                transposed(format!("{} + {}", b("ih"), b("hh"))),
            ),
        ));
        let gate_block = |g: &str| sub("A", g);
        match layer.cell {
            crate::model::Cell::Lstm => {
                let c = style.at_step(&style.sup("C", r), false);
                let c_prev = style.at_step(&style.sup("C", r), true);
                let (i_, f_, g_, o_) = (sub("I", ""), sub("F", ""), sub("G", ""), sub("O", ""));
                lines.push((
                    format!("{i_}, {f_}, {g_}, {o_}"),
                    format!(
                        "{sigma}({}), {sigma}({}), {tanh}({}), {sigma}({})   (B×{h} each, the four blocks of {a})",
                        gate_block("i"),
                        gate_block("f"),
                        gate_block("g"),
                        gate_block("o"),
                    ),
                ));
                lines.push((
                    style.shaped(&c, "B", &h.to_string()),
                    format!("{f_} {odot} {c_prev} + {i_} {odot} {g_}"),
                ));
                lines.push((
                    style.shaped(&hidden, "B", &h.to_string()),
                    format!("{o_} {odot} {tanh}({c})"),
                ));
            }
            crate::model::Cell::Gru => {
                let (r_, z_, n_) = (sub("R", ""), sub("Z", ""), sub("N", ""));
                lines.push((
                    format!("{r_}, {z_}"),
                    format!(
                        "{sigma}({}), {sigma}({})   (B×{h} each; {a} holds the r and z blocks)",
                        gate_block("r"),
                        gate_block("z"),
                    ),
                ));
                lines.push((
                    style.shaped(&n_, "B", &h.to_string()),
                    format!(
                        "{tanh}({input} {dot} {} + {one}{}{} + {r_} {odot} ({previous} {dot} {} + {one}{}{}))",
                        w("in"),
                        style.tight_dot(),
                        transposed(b("in")),
                        w("hn"),
                        style.tight_dot(),
                        transposed(b("hn")),
                    ),
                ));
                lines.push((
                    style.shaped(&hidden, "B", &h.to_string()),
                    format!("(1 {minus} {z_}) {odot} {n_} + {z_} {odot} {previous}"),
                ));
            }
        }
    }
    let last = style.at_step(&style.sup("H", network.recurrent.len()), false);
    lines.push((
        String::new(),
        format!("Then at every step, on the B rows of {last}"),
    ));
    lines
}

/// Backpropagation through time for the recurrent layers, from the last
/// step to the first and from the last layer to the first, as the
/// generated code runs it.
#[allow(
    clippy::too_many_lines,
    reason = "one short arm per cell, in both styles"
)]
fn recurrent_backward(style: Style, network: &Network) -> Vec<(String, String)> {
    let (odot, dot) = (style.word(Symbol::Odot), style.word(Symbol::Dot));
    let (minus, delta) = (style.word(Symbol::Minus), style.word(Symbol::Delta));
    let tanh = operator(style, "tanh");
    let mut lines = vec![(
        String::new(),
        "Backward through time, t = T … 1, layer r = R … 1; ΔH starts as ∂L/∂Hʳₜ (from the layers above) plus the ΔH, ΔC that step t + 1 sent back (zero after the window)".to_owned(),
    )];
    for (index, layer) in network.recurrent.iter().enumerate().rev() {
        let r = index + 1;
        let (i, h) = (network.recurrent_fan_in(r), layer.width);
        let gh = (layer.cell.gates() * h).to_string();
        let sub = |base: &str, gate: &str| gated(style, base, r, gate);
        let d = |base: &str, gate: &str| match style {
            Style::Text => format!("{delta}{}", sub(base, gate)),
            Style::Latex => format!("{delta} {}", sub(base, gate)),
        };
        let input = if r == 1 {
            style.at_step("X", false)
        } else {
            style.at_step(&style.sup("H", r - 1), false)
        };
        let transposed = |text: &str| match style {
            Style::Text => format!("{text}ᵀ"),
            Style::Latex => format!("{{{text}}}^{{\\top}}"),
        };
        let previous = style.at_step(&style.sup("H", r), true);
        let dh = d("H", "");
        let da = d("A", "");
        match layer.cell {
            crate::model::Cell::Lstm => {
                let c = style.at_step(&style.sup("C", r), false);
                let c_prev = style.at_step(&style.sup("C", r), true);
                let (i_, f_, g_, o_) = (sub("I", ""), sub("F", ""), sub("G", ""), sub("O", ""));
                let dc = d("C", "");
                lines.push((
                    dc.clone(),
                    format!(
                        "{dc} + {dh} {odot} {o_} {odot} (1 {minus} {tanh}({c}) {odot} {tanh}({c}))"
                    ),
                ));
                lines.push((
                    style.shaped(&da, "B", &gh),
                    format!(
                        "[{dc} {odot} {g_} {odot} {i_}(1 {minus} {i_}),  {dc} {odot} {c_prev} {odot} {f_}(1 {minus} {f_}),  {dc} {odot} {i_} {odot} (1 {minus} {g_} {odot} {g_}),  {dh} {odot} {tanh}({c}) {odot} {o_}(1 {minus} {o_})]"
                    ),
                ));
                weight_gradients(
                    style, &mut lines, &sub, &input, &previous, &da, &da, i, h, &gh,
                );
                lines.push((
                    style.partial(&input),
                    format!("{da} {dot} {}", transposed(&sub("W", "ih"))),
                ));
                lines.push((
                    format!("{dh}, {dc}"),
                    format!(
                        "{da} {dot} {},  {dc} {odot} {f_}   (sent back to step t − 1)",
                        transposed(&sub("W", "hh"))
                    ),
                ));
            }
            crate::model::Cell::Gru => {
                let (r_, z_, n_) = (sub("R", ""), sub("Z", ""), sub("N", ""));
                let (dar, daz, dan) = (d("A", "r"), d("A", "z"), d("A", "n"));
                lines.push((
                    dan.clone(),
                    format!("{dh} {odot} (1 {minus} {z_}) {odot} (1 {minus} {n_} {odot} {n_})"),
                ));
                lines.push((
                    daz.clone(),
                    format!("{dh} {odot} ({previous} {minus} {n_}) {odot} {z_}(1 {minus} {z_})"),
                ));
                lines.push((
                    dar.clone(),
                    format!(
                        "{dan} {odot} ({previous} {dot} {} + 1{}{}) {odot} {r_}(1 {minus} {r_})",
                        sub("W", "hn"),
                        style.tight_dot(),
                        transposed(&sub("b", "hn")),
                    ),
                ));
                let from_input = format!("[{dar}, {daz}, {dan}]");
                let from_hidden = format!("[{dar}, {daz}, {r_} {odot} {dan}]");
                weight_gradients(
                    style,
                    &mut lines,
                    &sub,
                    &input,
                    &previous,
                    &from_input,
                    &from_hidden,
                    i,
                    h,
                    &gh,
                );
                lines.push((
                    style.partial(&input),
                    format!("{from_input} {dot} {}", transposed(&sub("W", "ih"))),
                ));
                lines.push((
                    dh.clone(),
                    format!(
                        "{from_hidden} {dot} {} + {dh} {odot} {z_}   (sent back to step t − 1)",
                        transposed(&sub("W", "hh"))
                    ),
                ));
            }
        }
    }
    lines
}

/// `∂L/∂W_ih += Xᵀ·δA`, `∂L/∂W_hh += Hₜ₋₁ᵀ·δA`, and the biases, summed
/// over the steps of the window.
#[allow(
    clippy::too_many_arguments,
    reason = "the symbols of one layer's lines"
)]
fn weight_gradients(
    style: Style,
    lines: &mut Vec<(String, String)>,
    sub: &dyn Fn(&str, &str) -> String,
    input: &str,
    previous: &str,
    from_input: &str,
    from_hidden: &str,
    inputs: usize,
    hidden: usize,
    gh: &str,
) {
    let dot = style.word(Symbol::Dot);
    let transposed = |text: &str| match style {
        Style::Text => format!("{text}ᵀ"),
        Style::Latex => format!("{{{text}}}^{{\\top}}"),
    };
    let ones = transposed(style.word(Symbol::One));
    let sum = match style {
        Style::Text => "Σₜ",
        Style::Latex => "\\sum_t",
    };
    lines.push((
        style.shaped(&style.partial(&sub("W", "ih")), &inputs.to_string(), gh),
        format!("{sum} {} {dot} {from_input}", transposed(input)),
    ));
    lines.push((
        style.shaped(&style.partial(&sub("W", "hh")), &hidden.to_string(), gh),
        format!("{sum} {} {dot} {from_hidden}", transposed(previous)),
    ));
    lines.push((
        format!(
            "{}, {}",
            style.partial(&sub("b", "ih")),
            style.partial(&sub("b", "hh"))
        ),
        format!("{sum} {ones} {dot} {from_input},  {sum} {ones} {dot} {from_hidden}"),
    ));
}
