//! A network drawn as a Graphviz DOT graph, in the spirit of the derivation
//! this library grew from: forward arrows from the inputs to the loss, and
//! the backward gradient arrows, dashed, from the loss to every unit.
//!
//! - [`Detail::Units`] draws one node per unit (inputs; each layer's linear
//!   node `zˡⱼ` and, unless the layer is linear, its activation node `hˡⱼ`;
//!   the loss), forward edges labelled with their weights, and a dashed
//!   backward edge beside every forward one. Given samples, it draws one
//!   copy of the units per sample in its own colour, with the sample's
//!   input and output values, as the derivation draws its batch of two.
//! - [`Detail::Layers`] draws one node per matrix (`X`, `Wˡ`, `Zˡ`, `Hˡ`,
//!   `L`) labelled with its shape, for networks too large for units.
//!
//! A recurrent network ([`Recurrent`]) is drawn by [`RecurrentDiagram`]:
//! one node per layer, each recurrent layer with its loop from step
//! `t − 1` to step `t` and the gradient that runs back through time.
//!
//! Writing needs no allocation: [`Diagram`] implements `Display`.
//!
//! ```
//! use backprop::diagram::Diagram;
//!
//! backprop::network! { Xor = 2 -> sigmoid(3) -> linear(1); loss = mse }
//! let net = Xor::seeded(1);
//! let dot = Diagram::new(&net).samples(&[[0.0, 1.0], [1.0, 1.0]]).to_string();
//! assert!(dot.starts_with("digraph network {"));
//! ```

use core::fmt::{self, Display, Write};

use crate::{Float, Network, Recurrent, Row};

/// How much of the network each node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Units for small networks (every width at most [`Diagram::MAX_UNIT_WIDTH`]), layers otherwise.
    Auto,
    /// One node per unit.
    Units,
    /// One node per matrix, labelled with its shape.
    Layers,
}

/// A DOT diagram of a network; write it with `{}` or `to_string()`.
#[derive(Clone, Copy)]
pub struct Diagram<'a, N: Network> {
    network: &'a N,
    samples: &'a [N::Input],
    detail: Detail,
}

/// Colours of the samples' copies: the derivation's dark and light red,
/// then two blues.
const SAMPLE_COLOURS: [&str; 4] = ["#b2182b", "#ef8a62", "#2166ac", "#67a9cf"];
/// Colour of the backward arrows when no samples are drawn.
const GRADIENT_COLOUR: &str = "#b2182b";

impl<'a, N: Network> Diagram<'a, N> {
    /// Widest layer drawn unit by unit under [`Detail::Auto`].
    pub const MAX_UNIT_WIDTH: usize = 12;
    /// Most samples drawn; further samples are left out.
    pub const MAX_SAMPLES: usize = SAMPLE_COLOURS.len();

    /// A diagram of `network`, with automatic detail and no samples.
    #[must_use]
    pub fn new(network: &'a N) -> Self {
        Self {
            network,
            samples: &[],
            detail: Detail::Auto,
        }
    }

    /// Draws these samples' paths (the first [`MAX_SAMPLES`](Self::MAX_SAMPLES)),
    /// each in its own colour; only with unit detail.
    #[must_use]
    pub fn samples(self, samples: &'a [N::Input]) -> Self {
        Self {
            samples: &samples[..samples.len().min(Self::MAX_SAMPLES)],
            ..self
        }
    }

    /// Chooses the detail.
    #[must_use]
    pub fn detail(self, detail: Detail) -> Self {
        Self { detail, ..self }
    }

    /// The detail that will be drawn.
    #[must_use]
    pub fn resolved_detail(&self) -> Detail {
        match self.detail {
            Detail::Auto if N::WIDTHS.iter().all(|&w| w <= Self::MAX_UNIT_WIDTH) => Detail::Units,
            Detail::Auto => Detail::Layers,
            detail => detail,
        }
    }

    /// Weight `w[i][j]` of layer `l` (from 1) in the flat parameters.
    fn weight(&self, l: usize, i: usize, j: usize) -> N::Float {
        let offset: usize = (1..l).map(|k| (N::WIDTHS[k - 1] + 1) * N::WIDTHS[k]).sum();
        self.network.params()[offset + i * N::WIDTHS[l] + j]
    }

    fn units(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layers = N::LAYERS;
        let copies = self.samples.len().max(1);
        for (copy, &sample_colour) in SAMPLE_COLOURS.iter().enumerate().take(copies) {
            let colour = if self.samples.is_empty() {
                "black"
            } else {
                sample_colour
            };
            let backward = if self.samples.is_empty() {
                GRADIENT_COLOUR
            } else {
                colour
            };
            let sample = self.samples.get(copy);
            let output = sample.map_or(N::Output::ZERO, |x| {
                self.network.forward(core::array::from_ref(x))[0]
            });
            for i in 0..N::INPUTS {
                write!(f, "  x{i}_{copy} [label=\"x{}", Subscript(i + 1))?;
                if let Some(x) = sample {
                    write!(f, "\\n{:.3}", x.as_ref()[i].to_f64())?;
                }
                writeln!(f, "\", color=\"{colour}\"];")?;
            }
            for l in 1..=layers {
                let linear = N::ACTIVATIONS[l - 1].is_linear();
                for j in 0..N::WIDTHS[l] {
                    write!(
                        f,
                        "  z{l}_{j}_{copy} [label=\"z{}{}",
                        Superscript(l),
                        Subscript(j + 1)
                    )?;
                    if l == layers && linear {
                        write_output_value(f, sample.map(|_| output.as_ref()[j]))?;
                    }
                    writeln!(f, "\", color=\"{colour}\"];")?;
                    if !linear {
                        write!(
                            f,
                            "  h{l}_{j}_{copy} [label=\"h{}{}",
                            Superscript(l),
                            Subscript(j + 1)
                        )?;
                        if l == layers {
                            write_output_value(f, sample.map(|_| output.as_ref()[j]))?;
                        }
                        writeln!(f, "\", color=\"{colour}\"];")?;
                    }
                }
            }
            for l in 1..=layers {
                let linear = N::ACTIVATIONS[l - 1].is_linear();
                let activation = N::ACTIVATIONS[l - 1].name();
                for j in 0..N::WIDTHS[l] {
                    let z = Node::Z(l, j, copy);
                    for i in 0..N::WIDTHS[l - 1] {
                        let from = unit_output_of::<N>(l - 1, i, copy);
                        let (s, a, b) = (Superscript(l), Subscript(i + 1), Subscript(j + 1));
                        let w = self.weight(l, i, j).to_f64();
                        writeln!(
                            f,
                            "  {from} -> {z} [label=\"w{s}{a}{b} = {w:.2}\", color=\"{colour}\"];"
                        )?;
                        writeln!(
                            f,
                            "  {z} -> {from} [label=\"Δ{s}{b}·w{s}{a}{b}\", {}];",
                            Dashed(backward)
                        )?;
                    }
                    if !linear {
                        let h = Node::H(l, j, copy);
                        writeln!(
                            f,
                            "  {z} -> {h} [label=\"{activation}\", color=\"{colour}\"];"
                        )?;
                        writeln!(f, "  {h} -> {z} [label=\"⊙ f'\", {}];", Dashed(backward))?;
                    }
                }
            }
            for j in 0..N::OUTPUTS {
                let out = unit_output_of::<N>(layers, j, copy);
                writeln!(f, "  {out} -> loss [color=\"{colour}\"];")?;
                writeln!(
                    f,
                    "  loss -> {out} [label=\"∂L/∂ŷ{}\", {}];",
                    Subscript(j + 1),
                    Dashed(backward)
                )?;
            }
        }
        Ok(())
    }

    fn layers(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layers = N::LAYERS;
        writeln!(f, "  h0 [label=\"X\\nB×{}\"];", N::WIDTHS[0])?;
        for l in 1..=layers {
            let (s, n_in, n) = (Superscript(l), N::WIDTHS[l - 1], N::WIDTHS[l]);
            let activation = N::ACTIVATIONS[l - 1];
            writeln!(
                f,
                "  w{l} [shape=box, label=\"W{s}, b{s}\\n{n_in}×{n}, {n}\"];"
            )?;
            writeln!(f, "  z{l} [label=\"Z{s}\\nB×{n}\"];")?;
            if !activation.is_linear() {
                writeln!(
                    f,
                    "  h{l} [label=\"H{s} = {}\\nB×{n}\"];",
                    activation.name()
                )?;
            }
        }
        for l in 1..=layers {
            let s = Superscript(l);
            let (from, z, w) = (
                layer_output_of::<N>(l - 1),
                Node::LayerZ(l),
                Node::LayerW(l),
            );
            writeln!(f, "  {from} -> {z} [label=\"·W{s} + b{s}\"];")?;
            writeln!(f, "  {w} -> {z};")?;
            writeln!(
                f,
                "  {z} -> {from} [label=\"Δ{s}·W{s}ᵀ\", {}];",
                Dashed(GRADIENT_COLOUR)
            )?;
            writeln!(
                f,
                "  {z} -> {w} [label=\"H{}ᵀ·Δ{s}, 1ᵀ·Δ{s}\", {}];",
                Superscript(l - 1),
                Dashed(GRADIENT_COLOUR)
            )?;
            if !N::ACTIVATIONS[l - 1].is_linear() {
                let h = Node::LayerH(l);
                writeln!(f, "  {z} -> {h};")?;
                writeln!(
                    f,
                    "  {h} -> {z} [label=\"⊙ f'(Z{s})\", {}];",
                    Dashed(GRADIENT_COLOUR)
                )?;
            }
        }
        let out = layer_output_of::<N>(layers);
        writeln!(f, "  {out} -> loss;")?;
        writeln!(
            f,
            "  loss -> {out} [label=\"∂L/∂Ŷ\", {}];",
            Dashed(GRADIENT_COLOUR)
        )
    }
}

impl<N: Network> Display for Diagram<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "digraph network {{")?;
        writeln!(f, "  rankdir=LR;")?;
        writeln!(f, "  node [shape=circle, fontsize=11];")?;
        writeln!(f, "  edge [fontsize=9];")?;
        match N::LOSS {
            Some(loss) => writeln!(f, "  loss [shape=doublecircle, label=\"L\\n{loss}\"];")?,
            // `loss = none`: the caller's own loss supplies `∂L/∂Ŷ`.
            None => writeln!(f, "  loss [shape=doublecircle, label=\"L\\nyour own\"];")?,
        }
        match self.resolved_detail() {
            Detail::Layers => Self::layers(f)?,
            Detail::Units | Detail::Auto => self.units(f)?,
        }
        writeln!(f, "}}")
    }
}

/// A node's DOT identifier.
#[derive(Clone, Copy)]
enum Node {
    /// Input unit `i` of copy `c`.
    X(usize, usize),
    /// `zˡⱼ` of copy `c`.
    Z(usize, usize, usize),
    /// `hˡⱼ` of copy `c`.
    H(usize, usize, usize),
    LayerH(usize),
    LayerZ(usize),
    LayerW(usize),
}

impl Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::X(i, c) => write!(f, "x{i}_{c}"),
            Self::Z(l, j, c) => write!(f, "z{l}_{j}_{c}"),
            Self::H(l, j, c) => write!(f, "h{l}_{j}_{c}"),
            Self::LayerH(l) => write!(f, "h{l}"),
            Self::LayerZ(l) => write!(f, "z{l}"),
            Self::LayerW(l) => write!(f, "w{l}"),
        }
    }
}

/// The node holding unit `j`'s output of layer `l` (the inputs for `l = 0`).
fn unit_output_of<N: Network>(l: usize, j: usize, copy: usize) -> Node {
    match l {
        0 => Node::X(j, copy),
        l if N::ACTIVATIONS[l - 1].is_linear() => Node::Z(l, j, copy),
        l => Node::H(l, j, copy),
    }
}

/// The node holding layer `l`'s output matrix (`X` for `l = 0`).
fn layer_output_of<N: Network>(l: usize) -> Node {
    match l {
        0 => Node::LayerH(0),
        l if N::ACTIVATIONS[l - 1].is_linear() => Node::LayerZ(l),
        l => Node::LayerH(l),
    }
}

fn write_output_value<T: Float>(f: &mut fmt::Formatter<'_>, value: Option<T>) -> fmt::Result {
    match value {
        Some(value) => write!(f, "\\nŷ = {:.3}", value.to_f64()),
        None => Ok(()),
    }
}

/// Style of a backward arrow: dashed, coloured, not pulling on the layout.
struct Dashed(&'static str);

impl Display for Dashed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "style=dashed, color=\"{}\", fontcolor=\"{}\", constraint=false",
            self.0, self.0
        )
    }
}

/// Digits as superscripts: `¹²`.
struct Superscript(usize);
/// Digits as subscripts: `₁₂`.
struct Subscript(usize);

fn write_digits(f: &mut fmt::Formatter<'_>, n: usize, digits: &[char; 10]) -> fmt::Result {
    if n >= 10 {
        write_digits(f, n / 10, digits)?;
    }
    f.write_char(digits[n % 10])
}

impl Display for Superscript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_digits(
            f,
            self.0,
            &['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'],
        )
    }
}

impl Display for Subscript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_digits(
            f,
            self.0,
            &['₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉'],
        )
    }
}

/// A DOT diagram of a recurrent network, one node per layer: the input
/// `xₜ`, each recurrent layer (its cell, gates, weight shapes and state)
/// with a loop carrying its state from step `t − 1` to `t`, the dense
/// layers on `hₜ`, and the loss; dashed, the gradient, which also runs
/// back through each loop, from step `t` to `t − 1`.
///
/// ```
/// use backprop::diagram::RecurrentDiagram;
///
/// backprop::network! { Amp = 1 -> lstm(16) -> linear(1); loss = mse }
/// let dot = RecurrentDiagram::<Amp>::new().to_string();
/// assert!(dot.contains("LSTM¹"));
/// assert!(dot.contains("W¹_ih 1×64"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RecurrentDiagram<N: Recurrent> {
    network: core::marker::PhantomData<N>,
}

impl<N: Recurrent> RecurrentDiagram<N> {
    /// The diagram of `N`: it depends on the architecture alone.
    #[must_use]
    pub fn new() -> Self {
        Self {
            network: core::marker::PhantomData,
        }
    }
}

impl<N: Recurrent> Display for RecurrentDiagram<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "digraph network {{")?;
        writeln!(f, "  rankdir=LR;")?;
        writeln!(f, "  node [shape=box, fontsize=11];")?;
        writeln!(f, "  edge [fontsize=9];")?;
        writeln!(f, "  x [shape=circle, label=\"xₜ\\n{}\"];", N::INPUTS)?;
        let recurrent = N::CELLS.len();
        let layers = N::WIDTHS.len() - 1;
        for l in 1..=layers {
            let (inputs, width) = (N::WIDTHS[l - 1], N::WIDTHS[l]);
            let s = Superscript(l);
            if let Some(cell) = N::CELLS.get(l - 1) {
                let gates = cell.gates() * width;
                write!(
                    f,
                    "  layer{l} [label=\"{}{s}, {width} units\\ngates ",
                    cell.module()
                )?;
                for (g, gate) in cell.gate_names().iter().enumerate() {
                    let separator = if g == 0 { "" } else { ", " };
                    write!(f, "{separator}{gate}")?;
                }
                write!(
                    f,
                    "\\nW{s}_ih {inputs}×{gates}, W{s}_hh {width}×{gates}\\nstate h{s}ₜ"
                )?;
                if *cell == crate::sequence::CellKind::Lstm {
                    write!(f, ", c{s}ₜ")?;
                }
                writeln!(f, "\", style=rounded];")?;
                writeln!(
                    f,
                    "  layer{l} -> layer{l} [label=\"h{s}ₜ₋₁\", headport=n, tailport=n];"
                )?;
                writeln!(
                    f,
                    "  layer{l} -> layer{l} [label=\"∂L/∂h{s}ₜ₋₁\", headport=s, tailport=s, {}];",
                    Dashed(GRADIENT_COLOUR)
                )?;
            } else {
                let activation = N::ACTIVATIONS[l - 1 - recurrent];
                writeln!(
                    f,
                    "  layer{l} [label=\"{}\\nW{s} {inputs}×{width}, b{s} {width}\"];",
                    activation.layer(width)
                )?;
            }
            let (previous, label) = (LayerNode(l - 1), LayerOutput(l - 1));
            writeln!(f, "  {previous} -> layer{l} [label=\"{label}\"];")?;
            writeln!(
                f,
                "  layer{l} -> {previous} [label=\"∂L/∂{label}\", {}];",
                Dashed(GRADIENT_COLOUR)
            )?;
        }
        let previous = LayerNode(layers);
        match N::LOSS {
            Some(loss) => writeln!(f, "  loss [shape=doublecircle, label=\"L\\n{loss}\"];")?,
            None => writeln!(f, "  loss [shape=doublecircle, label=\"L\\nyour own\"];")?,
        }
        writeln!(f, "  {previous} -> loss [label=\"ŷₜ\"];")?;
        writeln!(
            f,
            "  loss -> {previous} [label=\"∂L/∂ŷₜ\", {}];",
            Dashed(GRADIENT_COLOUR)
        )?;
        writeln!(f, "}}")
    }
}

/// A layer's node in a [`RecurrentDiagram`]: `x` for the input (`0`).
struct LayerNode(usize);

impl Display for LayerNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("x"),
            l => write!(f, "layer{l}"),
        }
    }
}

/// What layer `l` sends on at step `t`: `xₜ` for the input, else `hˡₜ`.
struct LayerOutput(usize);

impl Display for LayerOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("xₜ"),
            l => write!(f, "h{}ₜ", Superscript(l)),
        }
    }
}
