//! Networks over sequences: what a `network!` with `lstm` or `gru` layers
//! implements, [`Recurrent`], with every method written once here on
//! three generated steps.
//!
//! A recurrent network is a stack of recurrent layers (see
//! [`recurrent`](crate::recurrent)) followed by dense layers, which map
//! the last layer's state `hₜ` to the output `ŷₜ` at every step. It runs
//! in two ways:
//!
//! - **Streaming**, one sample at a time: [`Recurrent::step`] takes the
//!   network's state (one value of [`Recurrent::State`], whose `Default`
//!   is PyTorch's zero `h₀`, `c₀`) and one input row, and returns the
//!   output row. [`Recurrent::step_batch`] runs `B` independent streams.
//!   No allocation, no locks; the sizes are the network's own.
//! - **Over windows of a sequence**, for training: `B` streams of `T`
//!   steps, time-major (`xs[t][b]`), with a tape of `T` [`StepTape`]s the
//!   caller owns, so nothing is allocated once the tape exists.
//!   [`Recurrent::train_window`] is one step of truncated
//!   backpropagation through time: forward over the window from the
//!   carried state, the loss on every step or on the last
//!   ([`Targets`]), backward to the window's start, one optimizer step;
//!   the state after the window is left in `states` for the next one, and
//!   no gradient crosses the boundary. [`Recurrent::sequence_forward`] and
//!   [`Recurrent::sequence_backward`] are the two halves for a loss of
//!   your own: the backward pass takes `∂L/∂ŷₜ` for every step.
//!
//! ```
//! use backprop::sequence::{Recurrent, StepTape, Targets};
//! use backprop::Adam;
//!
//! backprop::network! {
//!     /// One LSTM layer of 8 units and a linear read-out.
//!     Echo = 1 -> lstm(8) -> linear(1); loss = mse
//! }
//!
//! // Learn to output the previous input: y_t = x_{t−1}.
//! let xs: Vec<[[f32; 1]; 4]> = (0..32)
//!     .map(|t| core::array::from_fn(|b| [((t * 7 + b * 3) % 5) as f32 / 5.0 - 0.4]))
//!     .collect();
//! let ys: Vec<[[f32; 1]; 4]> = (0..32).map(|t| if t == 0 { [[0.0]; 4] } else { xs[t - 1] }).collect();
//!
//! let mut net = Echo::seeded(1);
//! let mut adam = Adam::new(0.02);
//! let mut tape = vec![StepTape::<Echo, 4>::ZERO; 32];
//! let first = net.sequence_loss(&mut Default::default(), &xs, Targets::EveryStep(&ys)).unwrap();
//! for _ in 0..100 {
//!     let mut states = Default::default();
//!     net.train_window(&mut states, &xs, Targets::EveryStep(&ys), &mut tape, &mut adam).unwrap();
//! }
//! let last = net.sequence_loss(&mut Default::default(), &xs, Targets::EveryStep(&ys)).unwrap();
//! assert!(last < first / 10.0, "{first} → {last}");
//!
//! // Streaming: one sample in, one out, the state carried.
//! let mut state = Default::default();
//! let y = net.step(&mut state, &[0.2]);
//! assert_eq!(y, net.step_batch(&mut [Default::default()], &[[0.2]])[0]);
//! ```

use core::fmt;

use crate::network::Row;
use crate::{ActivationKind, Float, LossKind, Optimizer, Passes, Store};

pub use backprop_vocabulary::CellKind;

/// A network of recurrent layers and the dense layers after them, run
/// over sequences: what `network!` generates for a network with `lstm` or
/// `gru` layers (see the [module](self)).
///
/// The dense layers are its [`Passes`] from the last recurrent layer's
/// state [`Hidden`](Recurrent::Hidden) to the output; the recurrent
/// layers are three generated steps for one stream. Every method users
/// call is written here on top of them.
pub trait Recurrent:
    Clone
    + Sized
    + Send
    + Sync
    + 'static
    + Passes<Self::Float, Self::Hidden, Self::Output, Self::Target>
{
    /// The element type, `f32` or `f64`.
    type Float: Float;
    /// One input sample, `[Self::Float; Self::INPUTS]`.
    type Input: Row<Self::Float>;
    /// The last recurrent layer's state `hₜ`, which the dense layers read.
    type Hidden: Row<Self::Float>;
    /// One output sample, `[Self::Float; Self::OUTPUTS]`.
    type Output: Row<Self::Float>;
    /// One target sample of the built-in loss (the output row, or
    /// [`NoBuiltInLoss`](crate::NoBuiltInLoss) for `loss = none`).
    type Target: Row<Self::Float>;
    /// Every recurrent layer's state for one stream; `Default` is the zero
    /// state. In the backward pass it holds the gradient of a state.
    type State: Copy + Default + PartialEq + fmt::Debug + Send + Sync + 'static;
    /// What the backward pass needs of one step of one stream.
    type Cache: Copy + Send + Sync + 'static;

    /// The cells of the recurrent layers `1 … R`.
    const CELLS: &'static [CellKind];
    /// Widths of the input and of every layer, recurrent then dense:
    /// `[n₀, H₁, …, H_R, n_{R+1}, …, n_L]`.
    const WIDTHS: &'static [usize];
    /// The dense layers' activations, with their parameters.
    const ACTIVATIONS: &'static [ActivationKind];
    /// The built-in loss; `None` for `loss = none`.
    const LOSS: Option<LossKind>;
    /// The forward and backward-through-time equations of this network,
    /// with its shapes, as Unicode text.
    const EQUATIONS: &'static str;
    /// [`EQUATIONS`](Recurrent::EQUATIONS) as LaTeX.
    const EQUATIONS_LATEX: &'static str;
    /// The number of parameters, recurrent layers first.
    const PARAMS: usize;
    /// A cache of zeros, to fill a tape with.
    const ZERO_CACHE: Self::Cache;
    /// Width of the input.
    const INPUTS: usize = Self::WIDTHS[0];
    /// Width of the output.
    const OUTPUTS: usize = Self::WIDTHS[Self::WIDTHS.len() - 1];
    /// Multiply-adds of one step of one stream: `G·H·(I + H)` for every
    /// recurrent layer and `n_{l−1}·n_l` for every dense one.
    const MACS: usize = step_multiply_adds(Self::CELLS, Self::WIDTHS);

    /// A network whose parameters are all zero.
    fn zeros() -> Self;

    /// All parameters, layer by layer: each recurrent layer's `W_ih`,
    /// `W_hh`, `b_ih`, `b_hh` (see [`recurrent`](crate::recurrent)), then
    /// each dense layer's `W` and `b`.
    fn params(&self) -> &[Self::Float];

    /// All parameters, mutable, in the order of [`params`](Recurrent::params).
    fn params_mut(&mut self) -> &mut [Self::Float];

    /// One step of one stream through the recurrent layers: updates
    /// `state`, returns the last layer's `hₜ`. Generated.
    #[doc(hidden)]
    fn hidden_step(&self, state: &mut Self::State, x: &Self::Input) -> Self::Hidden;

    /// [`hidden_step`](Recurrent::hidden_step), keeping in `cache` what
    /// [`hidden_step_backward`](Recurrent::hidden_step_backward) needs.
    /// Generated.
    #[doc(hidden)]
    fn hidden_step_cached(
        &self,
        state: &mut Self::State,
        x: &Self::Input,
        cache: &mut Self::Cache,
    ) -> Self::Hidden;

    /// One step of one stream backwards through the recurrent layers:
    /// `carried` goes from the gradient of the step's output state (less
    /// `grad_hidden`, the dense layers' `∂L/∂hₜ`) to that of its input
    /// state; `∂L/∂θ` is added to `grad` and `∂L/∂xₜ` written to
    /// `grad_x`. Generated.
    #[doc(hidden)]
    fn hidden_step_backward(
        &self,
        x: &Self::Input,
        cache: &Self::Cache,
        grad_hidden: &Self::Hidden,
        carried: &mut Self::State,
        grad: &mut Self,
        grad_x: &mut Self::Input,
    );

    /// One time step of one stream: updates `state` and returns `ŷₜ`.
    #[inline]
    #[must_use]
    fn step(&self, state: &mut Self::State, x: &Self::Input) -> Self::Output {
        let hidden = self.hidden_step(state, x);
        let mut tape = Self::tape::<1>();
        self.forward_rows(&[hidden], &mut tape, false);
        Self::output(&tape)[0]
    }

    /// One time step of `B` independent streams, `xs[b]` with `states[b]`.
    #[inline]
    #[must_use]
    fn step_batch<const B: usize>(
        &self,
        states: &mut [Self::State; B],
        xs: &[Self::Input; B],
    ) -> [Self::Output; B] {
        let mut hidden = [Self::Hidden::ZERO; B];
        for ((hidden, state), x) in hidden.iter_mut().zip(states.iter_mut()).zip(xs) {
            *hidden = self.hidden_step(state, x);
        }
        let mut tape = Self::tape::<B>();
        self.forward_rows(&hidden, &mut tape, false);
        *Self::output(&tape)
    }

    /// The outputs `ys[t]` of `B` streams over `T = xs.len()` steps from
    /// `states`, which are left holding the state after the last step.
    ///
    /// # Errors
    ///
    /// If `ys` does not hold `T` steps; nothing changes then.
    fn forward_sequence<const B: usize>(
        &self,
        states: &mut [Self::State; B],
        xs: &[[Self::Input; B]],
        ys: &mut [[Self::Output; B]],
    ) -> Result<(), WindowError> {
        check_steps("outputs", xs.len(), ys.len())?;
        for (x, y) in xs.iter().zip(ys) {
            *y = self.step_batch(states, x);
        }
        Ok(())
    }

    /// The mean loss over a window (every step's, or the last step's) from
    /// `states`, which are left holding the state after the window.
    ///
    /// # Errors
    ///
    /// As [`train_window`](Recurrent::train_window); nothing changes then.
    fn sequence_loss<const B: usize>(
        &self,
        states: &mut [Self::State; B],
        xs: &[[Self::Input; B]],
        targets: Targets<'_, Self::Target, B>,
    ) -> Result<Self::Float, WindowError> {
        check_window::<Self, B>(xs, &targets, usize::MAX)?;
        let steps = xs.len();
        let rows = targets.rows(steps);
        let mut loss = Self::Float::ZERO;
        for (t, x) in xs.iter().enumerate() {
            let mut hidden = [Self::Hidden::ZERO; B];
            for b in 0..B {
                hidden[b] = self.hidden_step(&mut states[b], &x[b]);
            }
            if let Some(y) = targets.at(t, steps) {
                let of_logits = Self::LOSS.is_some_and(LossKind::reads_logits);
                let mut tape = Self::tape::<B>();
                self.forward_rows(&hidden, &mut tape, of_logits);
                loss += Self::loss_rows(&tape, y, B, rows, None);
            }
        }
        Ok(loss)
    }

    /// The forward pass over a window for a loss of your own: from
    /// `states` (left holding the state after the window), the outputs
    /// `ys[t]`, and in `tape[..T]` what
    /// [`sequence_backward`](Recurrent::sequence_backward) needs.
    ///
    /// # Errors
    ///
    /// If `ys` does not hold `T = xs.len()` steps, `tape` holds fewer, or
    /// an input is not finite; nothing changes then.
    fn sequence_forward<const B: usize>(
        &self,
        states: &mut [Self::State; B],
        xs: &[[Self::Input; B]],
        ys: &mut [[Self::Output; B]],
        tape: &mut [StepTape<Self, B>],
    ) -> Result<(), WindowError> {
        check_steps("outputs", xs.len(), ys.len())?;
        check_inputs::<Self, B>(xs, tape.len())?;
        forward_into_tape(self, states, xs, tape);
        for (step, y) in tape.iter().zip(ys) {
            let mut head = Self::tape::<B>();
            self.forward_rows(&step.hidden, &mut head, false);
            *y = *Self::output(&head);
        }
        Ok(())
    }

    /// Backpropagation through the window that
    /// [`sequence_forward`](Recurrent::sequence_forward) recorded in
    /// `tape`, given `grad_ys[t][b] = ∂L/∂ŷₜ` (zero for a step without a
    /// loss).
    ///
    /// `grad_states` holds on entry the gradient flowing into the state
    /// after the window (zero for truncated BPTT) and on return
    /// `∂L/∂(h₀, c₀)` of every layer. `∂L/∂θ` is **added** to `grad`
    /// (as PyTorch accumulates `.grad`); `grad_xs[t][b]`, if given, is
    /// overwritten with `∂L/∂xₜ`.
    ///
    /// # Errors
    ///
    /// If `grad_ys` or `grad_xs` does not hold `T = xs.len()` steps, or
    /// `tape` holds fewer; nothing changes then.
    fn sequence_backward<const B: usize>(
        &self,
        xs: &[[Self::Input; B]],
        tape: &[StepTape<Self, B>],
        grad_ys: &[[Self::Output; B]],
        grad_states: &mut [Self::State; B],
        grad: &mut Self,
        mut grad_xs: Option<&mut [[Self::Input; B]]>,
    ) -> Result<(), WindowError> {
        let steps = xs.len();
        check_steps("output gradients", steps, grad_ys.len())?;
        check_tape(steps, tape.len())?;
        if let Some(grad_xs) = grad_xs.as_deref() {
            check_steps("input gradients", steps, grad_xs.len())?;
        }
        backward_through_time(
            self,
            xs,
            tape,
            grad_states,
            grad,
            false,
            |_| true,
            |t, _, delta| *delta = grad_ys[t],
            |t, grad_x| {
                if let Some(grad_xs) = grad_xs.as_deref_mut() {
                    grad_xs[t] = *grad_x;
                }
            },
        );
        Ok(())
    }

    /// The mean loss of a window and its `∂L/∂θ`, written into `grad`
    /// (overwriting it): truncated BPTT from `states`, which are left
    /// holding the state after the window.
    ///
    /// # Errors
    ///
    /// As [`train_window`](Recurrent::train_window); then `states` are as
    /// they were (and `grad`, if the loss was not finite, holds nothing of
    /// use).
    fn sequence_gradients<const B: usize>(
        &self,
        states: &mut [Self::State; B],
        xs: &[[Self::Input; B]],
        targets: Targets<'_, Self::Target, B>,
        tape: &mut [StepTape<Self, B>],
        grad: &mut Self,
    ) -> Result<Self::Float, WindowError> {
        check_window::<Self, B>(xs, &targets, tape.len())?;
        let steps = xs.len();
        let rows = targets.rows(steps);
        let of_logits = Self::LOSS.is_some_and(LossKind::reads_logits);
        let before = *states;
        forward_into_tape(self, states, xs, tape);
        grad.params_mut().fill(Self::Float::ZERO);
        let mut loss = Self::Float::ZERO;
        let mut carried = [Self::State::default(); B];
        backward_through_time(
            self,
            xs,
            tape,
            &mut carried,
            grad,
            of_logits,
            |t| targets.at(t, steps).is_some(),
            |t, head, delta| {
                if let Some(y) = targets.at(t, steps) {
                    loss += Self::loss_rows(head, y, B, rows, Some(delta));
                }
            },
            |_, _| {},
        );
        if !loss.is_finite() {
            *states = before;
            return Err(WindowError::Loss);
        }
        Ok(loss)
    }

    /// One step of truncated backpropagation through time: the window's
    /// mean loss (before the step) and its gradient, then one step of
    /// `optimizer`. `states` go from the state before the window to the
    /// state after it (computed with the parameters before the step), for
    /// the next window; no gradient crosses windows.
    ///
    /// # Errors
    ///
    /// - [`WindowError::Steps`] if `targets` (for
    ///   [`Targets::EveryStep`]) does not hold `T = xs.len()` steps, or
    ///   `tape` holds fewer;
    /// - [`WindowError::Empty`] for a window of no steps;
    /// - [`WindowError::NotFinite`] for a NaN or infinite input or target;
    /// - [`WindowError::Loss`] if the loss is not finite.
    ///
    /// Then the network, the optimizer and `states` are as they were.
    fn train_window<const B: usize, O: Optimizer<Self::Float> + ?Sized>(
        &mut self,
        states: &mut [Self::State; B],
        xs: &[[Self::Input; B]],
        targets: Targets<'_, Self::Target, B>,
        tape: &mut [StepTape<Self, B>],
        optimizer: &mut O,
    ) -> Result<Self::Float, WindowError> {
        let mut grad = self.take_gradient_buffer();
        let loss = self.sequence_gradients(states, xs, targets, tape, &mut grad);
        if loss.is_ok() {
            optimizer.step(self.params_mut(), grad.params());
        }
        self.keep_gradient_buffer(grad);
        loss
    }
}

/// What [`Recurrent::train_window`] keeps of one time step of `B`
/// streams: every recurrent layer's cache, and the last layer's `hₜ`,
/// which the dense layers read. A window of `T` steps needs a slice of at
/// least `T` of them: `vec![StepTape::ZERO; T]`, or an array where there
/// is no heap.
pub struct StepTape<N: Recurrent, const B: usize> {
    caches: [N::Cache; B],
    hidden: [N::Hidden; B],
}

impl<N: Recurrent, const B: usize> StepTape<N, B> {
    /// A step of zeros.
    pub const ZERO: Self = Self {
        caches: [N::ZERO_CACHE; B],
        hidden: [N::Hidden::ZERO; B],
    };
}

// By hand: a derive would ask `N: Clone`, not the fields.
#[allow(clippy::expl_impl_clone_on_copy)]
impl<N: Recurrent, const B: usize> Clone for StepTape<N, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N: Recurrent, const B: usize> Copy for StepTape<N, B> {}

impl<N: Recurrent, const B: usize> fmt::Debug for StepTape<N, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepTape")
            .field("hidden", &self.hidden)
            .finish_non_exhaustive()
    }
}

/// Where a window's loss is: on every step's output, or on the last
/// step's alone (a sequence classifier, a value at the end).
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, Y, const B: usize> {
    /// `targets[t][b]` for every step: the loss is the mean over the
    /// `T·B` outputs, as PyTorch's losses average a `(B, T, n)` output.
    EveryStep(&'a [[Y; B]]),
    /// One target per stream, for the last step's output.
    LastStep(&'a [Y; B]),
}

impl<Y, const B: usize> Targets<'_, Y, B> {
    /// The targets of step `t` of `steps`, if it has a loss.
    fn at(&self, t: usize, steps: usize) -> Option<&[Y; B]> {
        match self {
            Self::EveryStep(targets) => targets.get(t),
            Self::LastStep(targets) => (t + 1 == steps).then_some(*targets),
        }
    }

    /// The number of rows the loss averages over.
    fn rows(&self, steps: usize) -> usize {
        match self {
            Self::EveryStep(_) => steps * B,
            Self::LastStep(_) => B,
        }
    }
}

/// Why a window was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// A buffer holds another number of steps than the inputs.
    Steps {
        /// Which buffer: `"targets"`, `"tape"`, `"outputs"`, …
        buffer: &'static str,
        /// The number of steps, `xs.len()`.
        steps: usize,
        /// The buffer's length.
        len: usize,
    },
    /// A window of no steps.
    Empty,
    /// An input or target value is NaN or infinite.
    NotFinite {
        /// `"input"` or `"target"`.
        what: &'static str,
        /// The time step.
        step: usize,
        /// The stream.
        stream: usize,
    },
    /// The loss came out NaN or infinite.
    Loss,
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Steps {
                buffer: "tape",
                steps,
                len,
            } => write!(
                f,
                "the tape holds {len} steps, fewer than the window's {steps}"
            ),
            Self::Steps { buffer, steps, len } => {
                write!(f, "the {buffer} hold {len} steps, the inputs {steps}")
            }
            Self::Empty => f.write_str("the window has no steps"),
            Self::NotFinite { what, step, stream } => write!(
                f,
                "the {what} of stream {stream} at step {step} is not a finite number"
            ),
            Self::Loss => f.write_str("the loss is not a finite number"),
        }
    }
}

impl core::error::Error for WindowError {}

/// `Ok` if `len == steps`, else the error naming `buffer`.
fn check_steps(buffer: &'static str, steps: usize, len: usize) -> Result<(), WindowError> {
    if len == steps {
        Ok(())
    } else {
        Err(WindowError::Steps { buffer, steps, len })
    }
}

/// `Ok` if a tape of `len` steps holds a window of `steps`.
fn check_tape(steps: usize, len: usize) -> Result<(), WindowError> {
    if len >= steps {
        Ok(())
    } else {
        Err(WindowError::Steps {
            buffer: "tape",
            steps,
            len,
        })
    }
}

/// A window is not empty, its inputs are finite and its tape long enough.
fn check_inputs<N: Recurrent, const B: usize>(
    xs: &[[N::Input; B]],
    tape: usize,
) -> Result<(), WindowError> {
    if xs.is_empty() {
        return Err(WindowError::Empty);
    }
    check_tape(xs.len(), tape)?;
    finite("input", xs)
}

/// [`check_inputs`], and the targets match the window and are finite.
fn check_window<N: Recurrent, const B: usize>(
    xs: &[[N::Input; B]],
    targets: &Targets<'_, N::Target, B>,
    tape: usize,
) -> Result<(), WindowError> {
    check_inputs::<N, B>(xs, tape)?;
    match targets {
        Targets::EveryStep(targets) => {
            check_steps("targets", xs.len(), targets.len())?;
            finite("target", targets)
        }
        Targets::LastStep(targets) => finite("target", &[**targets]).map_err(|error| match error {
            WindowError::NotFinite { what, stream, .. } => WindowError::NotFinite {
                what,
                step: xs.len() - 1,
                stream,
            },
            other => other,
        }),
    }
}

/// `Ok` if every value of `rows[t][b]` is finite.
fn finite<T: Float, R: Row<T>, const B: usize>(
    what: &'static str,
    rows: &[[R; B]],
) -> Result<(), WindowError> {
    for (step, rows) in rows.iter().enumerate() {
        for (stream, row) in rows.iter().enumerate() {
            if !row.as_ref().iter().all(|value| value.is_finite()) {
                return Err(WindowError::NotFinite { what, step, stream });
            }
        }
    }
    Ok(())
}

/// The recurrent layers over the window, every step's caches and `hₜ`
/// into `tape[t]`.
fn forward_into_tape<N: Recurrent, const B: usize>(
    network: &N,
    states: &mut [N::State; B],
    xs: &[[N::Input; B]],
    tape: &mut [StepTape<N, B>],
) {
    for (x, step) in xs.iter().zip(tape.iter_mut()) {
        for b in 0..B {
            step.hidden[b] = network.hidden_step_cached(&mut states[b], &x[b], &mut step.caches[b]);
        }
    }
}

/// From the last step of the window to the first: where `delta_of(t,
/// head tape, Δ)` gives step `t` a gradient of its output (`∂L/∂ŷₜ`, or
/// with `of_logits` `∂L/∂Zᴸ`) and returns `true`, the dense layers'
/// backward pass to `∂L/∂hₜ`; then every stream's step back through the
/// recurrent layers, with `∂L/∂xₜ` handed to `input(t, …)`. Steps for
/// which `has_gradient(t)` is `false` skip the dense layers.
#[allow(clippy::too_many_arguments)]
fn backward_through_time<N: Recurrent, const B: usize>(
    network: &N,
    xs: &[[N::Input; B]],
    tape: &[StepTape<N, B>],
    carried: &mut [N::State; B],
    grad: &mut N,
    of_logits: bool,
    has_gradient: impl Fn(usize) -> bool,
    mut delta_of: impl FnMut(usize, &N::Tape<B>, &mut [N::Output; B]),
    mut input: impl FnMut(usize, &[N::Input; B]),
) {
    for t in (0..xs.len()).rev() {
        let step = &tape[t];
        let mut grad_hidden = [N::Hidden::ZERO; B];
        if has_gradient(t) {
            let mut head = N::tape::<B>();
            network.forward_rows(&step.hidden, &mut head, of_logits);
            let mut delta = [N::Output::ZERO; B];
            delta_of(t, &head, &mut delta);
            network.backward_rows(
                &step.hidden,
                &head,
                &mut delta,
                of_logits,
                Some((&mut *grad, Store::Add)),
                Some(&mut grad_hidden),
            );
        }
        let mut grad_x = [N::Input::ZERO; B];
        for b in 0..B {
            network.hidden_step_backward(
                &xs[t][b],
                &step.caches[b],
                &grad_hidden[b],
                &mut carried[b],
                grad,
                &mut grad_x[b],
            );
        }
        input(t, &grad_x);
    }
}

/// [`Recurrent::MACS`].
const fn step_multiply_adds(cells: &[CellKind], widths: &[usize]) -> usize {
    let mut macs = 0;
    let mut l = 1;
    while l < widths.len() {
        let (fan_in, width) = (widths[l - 1], widths[l]);
        macs += if l <= cells.len() {
            cells[l - 1].gates() * width * (fan_in + width)
        } else {
            fan_in * width
        };
        l += 1;
    }
    macs
}
