//! The derivation shown for each network: its equations, as text and LaTeX,
//! and its Graphviz diagram.

mod common;

use backprop::diagram::{Detail, Diagram};
use backprop::{ActivationKind, Network};
use common::graphviz;

backprop::network! {
    /// The network of the seed.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

backprop::network! {
    Classifier = 4 -> leaky_relu(5, slope = 0.1) -> tanh(4) -> softmax(3); loss = cross_entropy
}

backprop::network! {
    Digits = 64 -> relu(32) -> softmax(10); loss = cross_entropy
}

backprop::network! {
    Wide = 3 -> gelu(20) -> linear(2); loss = huber(delta = 0.5)
}

/// The five steps of batch backpropagation for the seed's network, written out by hand.
const SEED_EQUATIONS: &str = "\
Forward, B rows, one sample per row:
  Z¹ (B×3) = X (B×2) · W¹ (2×3) + 1·b¹ᵀ
  H¹ (B×3) = σ(Z¹)
  Z² (B×1) = H¹ (B×3) · W² (3×1) + 1·b²ᵀ
  H² (B×1) = Z²
  Ŷ = H²
  L = mean over the batch and the outputs of (Ŷ − Y)²
Backward:
  ∂L/∂Ŷ = 2(Ŷ − Y) / (B·1)
  Δ² = ∂L/∂Ŷ
  ∂L/∂W² (3×1) = H¹ᵀ (3×B) · Δ² (B×1)
  ∂L/∂b² (1×1) = 1ᵀ · Δ²
  Δ¹ (B×3) = (Δ² · W²ᵀ) ⊙ H¹ ⊙ (1 − H¹)
  ∂L/∂W¹ (2×3) = Xᵀ (2×B) · Δ¹ (B×3)
  ∂L/∂b¹ (1×3) = 1ᵀ · Δ¹
  ∂L/∂X (B×2) = Δ¹ · W¹ᵀ
";

#[test]
fn seed_network_equations_are_the_five_steps() {
    assert_eq!(Xor::EQUATIONS, SEED_EQUATIONS);
    assert_eq!(<Xor as Network>::EQUATIONS, SEED_EQUATIONS);
}

#[test]
fn seed_network_latex_has_one_row_per_equation() {
    let latex = Xor::EQUATIONS_LATEX;
    assert!(latex.starts_with("\\begin{aligned}\n") && latex.ends_with("\\end{aligned}\n"));
    let rows = latex.matches(" \\\\\n").count() + 1;
    assert_eq!(rows, SEED_EQUATIONS.lines().count());
    for expected in [
        "\\underset{B\\times 3}{Z^{1}} &= \\underset{B\\times 2}{X} \\cdot",
        "\\frac{\\partial L}{\\partial W^{2}}",
        "(\\Delta^{2} \\cdot W^{2\\top}) \\odot H^{1} \\odot (1 - H^{1})",
    ] {
        assert!(latex.contains(expected), "missing {expected} in\n{latex}");
    }
    assert_eq!(
        latex.matches('{').count(),
        latex.matches('}').count(),
        "balanced braces"
    );
}

#[test]
fn fused_loss_equations_start_backward_from_the_logits() {
    let text = Classifier::EQUATIONS;
    assert!(text.contains("  Δ³ = (softmax(Z³) − Y) / B\n"), "{text}");
    assert!(
        text.contains("Δ² (B×4) = (Δ³ · W³ᵀ) ⊙ (1 − H² ⊙ H²)"),
        "{text}"
    );
    assert!(
        text.contains("Δ¹ (B×5) = (Δ² · W²ᵀ) ⊙ ([Z¹ > 0] + 0.1·[Z¹ ≤ 0])"),
        "{text}"
    );
}

/// A fused loss's equations also say where a supplied `∂L/∂Ŷ` (`backward`,
/// `Trace`) enters: through the output activation the loss skips. The
/// seed's, whose backward pass already starts from `∂L/∂Ŷ`, need no such line.
#[test]
fn fused_loss_equations_show_the_supplied_gradient_form() {
    backprop::network! {
        Binary = 2 -> relu(3) -> sigmoid(1); loss = bce
    }
    let text = Classifier::EQUATIONS;
    let supplied = text
        .split_once("From a supplied ∂L/∂Ŷ (backward, Trace), the steps above start at:\n")
        .map(|(_, rest)| rest)
        .expect(text);
    assert_eq!(
        supplied,
        "  Δ³ = H³ ⊙ (∂L/∂Ŷ − rowsum(∂L/∂Ŷ ⊙ H³)·1ᵀ)   (softmax's Jacobian)\n"
    );
    assert!(
        Binary::EQUATIONS.ends_with("start at:\n  Δ² = ∂L/∂Ŷ ⊙ H² ⊙ (1 − H²)\n"),
        "{}",
        Binary::EQUATIONS
    );
    assert!(!Xor::EQUATIONS.contains("supplied"));
    assert!(Classifier::EQUATIONS_LATEX.contains("\\text{From a supplied gradient of the outputs"));
}

/// Nodes and edges of a DOT graph written one statement per line, with
/// backward (dashed) edges counted apart.
struct Counts {
    nodes: usize,
    forward: usize,
    backward: usize,
}

fn count(dot: &str) -> Counts {
    let statements = dot
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(';') && l.contains('['));
    let mut counts = Counts {
        nodes: 0,
        forward: 0,
        backward: 0,
    };
    for statement in statements {
        if statement.starts_with("node ") || statement.starts_with("edge ") {
            continue;
        }
        match (statement.contains("->"), statement.contains("style=dashed")) {
            (false, _) => counts.nodes += 1,
            (true, false) => counts.forward += 1,
            (true, true) => counts.backward += 1,
        }
    }
    // `a -> b;` with no attributes.
    counts.forward += dot
        .lines()
        .filter(|l| l.contains("->") && !l.contains('['))
        .count();
    counts
}

/// What a unit diagram must hold: per copy, the inputs and each layer's
/// `z` (and `h` unless linear) nodes; a weight edge per weight, an
/// activation edge per non-linear unit and an edge per output into the loss;
/// a backward edge beside each forward one.
fn expected_unit_counts<N: Network>(copies: usize) -> (usize, usize) {
    let linear = |l: usize| N::ACTIVATIONS[l - 1] == ActivationKind::Linear;
    let mut nodes = N::INPUTS;
    let mut edges = N::OUTPUTS;
    for l in 1..=N::LAYERS {
        let n = N::WIDTHS[l];
        let activation_nodes = if linear(l) { 0 } else { n };
        nodes += n + activation_nodes;
        edges += N::WIDTHS[l - 1] * n + activation_nodes;
    }
    (copies * nodes + 1, copies * edges)
}

#[test]
fn seed_network_diagram_has_a_node_per_unit_and_an_arrow_per_weight() {
    let net = Xor::seeded(1);
    let dot = Diagram::new(&net).to_string();
    let counts = count(&dot);
    // 2 inputs, 3 z and 3 h nodes, 1 output, the loss.
    assert_eq!(counts.nodes, 2 + 3 + 3 + 1 + 1);
    // 6 + 3 weights, 3 activations, 1 output into the loss.
    assert_eq!(counts.forward, 6 + 3 + 3 + 1);
    assert_eq!(counts.backward, counts.forward);
    assert_eq!(
        (counts.nodes, counts.forward),
        expected_unit_counts::<Xor>(1)
    );
    let w = net.w1()[0][1];
    assert!(
        dot.contains(&format!("x0_0 -> z1_1_0 [label=\"w¹₁₂ = {w:.2}\"")),
        "{dot}"
    );
    assert!(dot.contains("label=\"Δ¹₂·w¹₁₂\""), "{dot}");
}

#[test]
fn sample_paths_are_drawn_once_per_sample_in_distinct_colours() {
    let net = Xor::seeded(1);
    let x = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]];
    let dot = Diagram::new(&net).samples(&x[..2]).to_string();
    let counts = count(&dot);
    assert_eq!(
        (counts.nodes, counts.forward),
        expected_unit_counts::<Xor>(2)
    );
    assert_eq!(counts.backward, counts.forward);
    let outputs = net.forward(&x);
    for (copy, (colour, output)) in ["#b2182b", "#ef8a62"].iter().zip(&outputs).enumerate() {
        assert!(
            dot.contains(&format!(
                "z2_0_{copy} [label=\"z²₁\\nŷ = {:.3}\", color=\"{colour}\"]",
                output[0]
            )),
            "{dot}"
        );
    }
    let all = Diagram::new(&net).samples(&[[0.0, 0.0]; 9]).to_string();
    assert_eq!(
        count(&all).nodes,
        expected_unit_counts::<Xor>(Diagram::<Xor>::MAX_SAMPLES).0
    );
}

#[test]
fn large_networks_are_drawn_layer_by_layer_with_shapes() {
    let net = Digits::zeros();
    let diagram = Diagram::new(&net);
    assert_eq!(diagram.resolved_detail(), Detail::Layers);
    let dot = diagram.to_string();
    let counts = count(&dot);
    // X; W¹, Z¹, H¹; W², Z², H²; L.
    assert_eq!(counts.nodes, 8);
    // per layer: input → Z, W → Z, Z → H; output → L.
    assert_eq!(counts.forward, 7);
    assert_eq!(counts.backward, 7);
    assert!(dot.contains("label=\"W¹, b¹\\n64×32, 32\""), "{dot}");
    assert!(dot.contains("label=\"H² = softmax\\nB×10\""), "{dot}");
}

#[test]
fn graphviz_accepts_every_diagram() {
    if !graphviz::installed() {
        graphviz::skipped();
        return;
    }
    let xor = Xor::seeded(2);
    let classifier = Classifier::seeded(3);
    let digits = Digits::zeros();
    let wide = Wide::seeded(4);
    let diagrams = [
        Diagram::new(&xor).to_string(),
        Diagram::new(&xor)
            .samples(&[[0.0, 1.0], [1.0, 1.0]])
            .to_string(),
        Diagram::new(&xor).detail(Detail::Layers).to_string(),
        Diagram::new(&classifier)
            .samples(&[[0.5; 4]; 4])
            .to_string(),
        Diagram::new(&digits).to_string(),
        Diagram::new(&wide).to_string(),
        Diagram::new(&wide).detail(Detail::Units).to_string(),
    ];
    for dot in &diagrams {
        let bytes =
            graphviz::render(dot).unwrap_or_else(|error| panic!("dot rejected:\n{error}\n{dot}"));
        assert!(bytes > 500, "an SVG of {bytes} bytes");
    }
}
