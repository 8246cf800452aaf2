//! A forward pass kept for the backward pass: what a loss of your own
//! needs to cost one forward and one backward pass, not two forwards.

use crate::Network;
use crate::kernels::Store;
use crate::network::Passes;

/// The tape of a network's forward pass on a batch of `B` rows.
type Tape<N, const B: usize> = <N as Passes<
    <N as Network>::Float,
    <N as Network>::Input,
    <N as Network>::Output,
    <N as Network>::Target,
>>::Tape<B>;

/// A forward pass on `B` rows that keeps every layer's `Zˡ` and `Hˡ`, from
/// [`Network::trace`]: read its [`output`](Trace::output), compute `∂L/∂Ŷ`
/// of a loss of your own, and backpropagate it with
/// [`backward_into`](Trace::backward_into) without a second forward pass.
///
/// It is a value of fixed size (the batch's activations, on the stack, as
/// in a training step) and borrows the network and the inputs, so the
/// parameters cannot change between the forward and the backward pass.
///
/// ```
/// use backprop::{Network, Optimizer, Sgd};
///
/// backprop::network! {
///     Net = 2 -> tanh(8) -> linear(1); loss = mse
/// }
///
/// let mut net = Net::seeded(3);
/// let x = [[0.5, -1.0], [1.0, 0.25]];
/// let mut grad = Net::zeros();
/// let trace = net.trace(&x);
/// // L = Σ ŷ⁴ / 4, a loss the DSL does not have: ∂L/∂ŷ = ŷ³.
/// let grad_output = trace.output().map(|[y]| [y * y * y]);
/// trace.backward_into(&grad_output, &mut grad, None);
/// Sgd::new(0.1).step(net.params_mut(), grad.params());
/// ```
pub struct Trace<'a, N: Network, const B: usize> {
    network: &'a N,
    x: &'a [N::Input; B],
    tape: Tape<N, B>,
}

impl<'a, N: Network, const B: usize> Trace<'a, N, B> {
    /// The forward pass of `network` on `x`, kept.
    pub(crate) fn new(network: &'a N, x: &'a [N::Input; B]) -> Self {
        let mut tape = N::tape::<B>();
        network.forward_rows(x, &mut tape, false);
        Self { network, x, tape }
    }

    /// The outputs `Ŷ`, as [`Network::forward`] gives them.
    #[must_use]
    pub fn output(&self) -> &[N::Output; B] {
        N::output(&self.tape)
    }

    /// Backpropagates `grad_output = ∂L/∂Ŷ` through the kept pass: adds
    /// `∂L/∂θ` into `grad` and, if given, overwrites `grad_x` with `∂L/∂X`,
    /// as [`Network::backward_into`] does.
    pub fn backward_into(
        &self,
        grad_output: &[N::Output; B],
        grad: &mut N,
        grad_x: Option<&mut [N::Input; B]>,
    ) {
        self.backward(grad_output, Some((grad, Store::Add)), grad_x);
    }

    /// The backward pass from `∂L/∂Ŷ`, storing `∂L/∂θ` as `grad` says.
    pub(crate) fn backward(
        &self,
        grad_output: &[N::Output; B],
        grad: Option<(&mut N, Store)>,
        grad_x: Option<&mut [N::Input; B]>,
    ) {
        let mut delta = *grad_output;
        self.network
            .backward_rows(self.x, &self.tape, &mut delta, false, grad, grad_x);
    }
}
