//! The [`Network`] trait that every generated network implements, so that
//! trainers, optimizers and checkers can be written once for all of them.

use core::fmt;
use core::marker::PhantomData;

use crate::kernels::Store;
use crate::kernels::wide::Kernel;
use crate::{ActivationKind, Float, Init, LossKind, Optimizer, Trace};

/// Rows of a batch processed together by the run-time-size (`*_slice`)
/// methods; the last rows of a batch that do not fill a chunk are padded.
const CHUNK_ROWS: usize = 8;

/// Rows of the larger chunks that training on a run-time-size batch takes
/// first ([`Network::gradients_slice`]): at 8 rows, an epoch in batches of
/// 32 ran 1.3× as long as with the batch size fixed at compile time.
const LARGE_CHUNK_ROWS: usize = 32;

/// One sample's values, `[T; N]`: the type of a network's input and output rows.
pub trait Row<T>:
    Copy + Send + Sync + 'static + AsRef<[T]> + AsMut<[T]> + fmt::Debug + sealed::Sealed
{
    /// A row of zeros.
    const ZERO: Self;
    /// The number of values in a row.
    const LEN: usize;

    /// `values` seen as rows, without copying; `None` if its length is not
    /// a whole number of rows. What [`DynNetwork`](crate::DynNetwork)
    /// reads flat buffers with.
    #[doc(hidden)]
    fn of_flat(values: &[T]) -> Option<&[Self]>;

    /// [`of_flat`](Row::of_flat), mutable.
    #[doc(hidden)]
    fn of_flat_mut(values: &mut [T]) -> Option<&mut [Self]>;
}

mod sealed {
    pub trait Sealed {}
    impl<T, const N: usize> Sealed for [T; N] {}
    impl Sealed for super::NoBuiltInLoss {}
}

impl<T: Float, const N: usize> Row<T> for [T; N] {
    const ZERO: Self = [T::ZERO; N];
    const LEN: usize = N;

    #[inline]
    fn of_flat(values: &[T]) -> Option<&[Self]> {
        if N == 0 {
            return None;
        }
        match values.as_chunks::<N>() {
            (rows, []) => Some(rows),
            _ => None,
        }
    }

    #[inline]
    fn of_flat_mut(values: &mut [T]) -> Option<&mut [Self]> {
        if N == 0 {
            return None;
        }
        match values.as_chunks_mut::<N>() {
            (rows, []) => Some(rows),
            _ => None,
        }
    }
}

/// The targets of a network declared with `loss = none`: it has no
/// built-in loss, so [`Network::loss`], [`gradients`](Network::gradients),
/// [`train_step`](Network::train_step) and the like, which take targets of
/// this type, cannot be called with any (the type has no values outside
/// this crate) and a call is refused where it is written. Such a network is
/// trained from gradients of your own loss, with [`Network::trace`] or
/// [`Network::backward`].
///
/// ```compile_fail
/// use backprop::Network;
///
/// backprop::network! {
///     Actor = 3 -> relu(8) -> tanh(1); loss = none
/// }
/// let actor = Actor::seeded(0);
/// // expected `&[NoBuiltInLoss; 1]`, found `&[[{float}; 1]; 1]`
/// let _ = actor.loss(&[[0.5, -1.0, 0.25]], &[[0.0]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoBuiltInLoss(());

impl<T> AsRef<[T]> for NoBuiltInLoss {
    fn as_ref(&self) -> &[T] {
        &[]
    }
}

impl<T> AsMut<[T]> for NoBuiltInLoss {
    fn as_mut(&mut self) -> &mut [T] {
        &mut []
    }
}

impl<T: Float> Row<T> for NoBuiltInLoss {
    const ZERO: Self = Self(());
    const LEN: usize = 0;

    /// There are no targets to read.
    fn of_flat(_: &[T]) -> Option<&[Self]> {
        None
    }

    fn of_flat_mut(_: &mut [T]) -> Option<&mut [Self]> {
        None
    }
}

/// A batch given to a run-time-size method did not have a valid shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// A loss or a gradient was asked for a batch of no rows, whose mean is undefined.
    Empty,
    /// An [`Ensemble`](crate::ensemble::Ensemble) was given a different
    /// number of optimizers, losses or output rows than it needs.
    Members {
        /// What was given (`"optimizers, one per member,"`, …).
        what: &'static str,
        /// How many the ensemble needs: one per member (times the input
        /// rows, for output rows).
        needed: usize,
        /// How many were given.
        given: usize,
    },
    /// Two slices that must have one row per sample differ in length.
    RowMismatch {
        /// What the second slice holds (`"targets"`, `"outputs"`, …).
        what: &'static str,
        /// Rows of the input batch.
        inputs: usize,
        /// Rows of the other slice.
        rows: usize,
    },
    /// A loss's outputs and another of its slices differ in length.
    LossRows {
        /// What the other slice holds (`"targets"`, `"mask"`, `"weights"`,
        /// `"labels"`, `"gradient"`).
        what: &'static str,
        /// Rows of the outputs.
        outputs: usize,
        /// Rows of the other slice.
        rows: usize,
    },
    /// A class label is not one of the classes.
    Label {
        /// Its row, from 0.
        row: usize,
        /// The label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A value is NaN or infinite.
    NonFinite {
        /// Which rows hold it (`"input"`, `"target"` or `"weights"`).
        what: &'static str,
        /// Its row, from 0.
        row: usize,
        /// Its column, from 0.
        column: usize,
    },
    /// A flat buffer of rows ([`DynNetwork`](crate::DynNetwork)) does not
    /// hold a whole number of rows.
    Ragged {
        /// What it holds (`"input"`, `"target"`, `"output"`, …).
        what: &'static str,
        /// Its length.
        len: usize,
        /// The values in one of its rows.
        width: usize,
    },
    /// A flat gradient buffer ([`DynNetwork`](crate::DynNetwork)) does not
    /// hold one value per parameter.
    GradientLength {
        /// The network's parameters.
        params: usize,
        /// The buffer's length.
        len: usize,
    },
    /// A loss was asked of a network declared with `loss = none`, which has
    /// none.
    NoLoss,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the batch has no rows; a loss needs at least one sample"),
            Self::Members {
                what,
                needed,
                given,
            } => write!(
                f,
                "the ensemble needs {needed} {what} but was given {given}"
            ),
            Self::RowMismatch { what, inputs, rows } => write!(
                f,
                "the batch has {inputs} input rows but {rows} {what} rows; give one row per sample"
            ),
            Self::LossRows {
                what,
                outputs,
                rows,
            } => write!(
                f,
                "the loss has {outputs} output rows but {rows} {what} rows; give one row per sample"
            ),
            Self::Label {
                row,
                label,
                classes,
            } => write!(
                f,
                "row {row} has label {label}, but there are {classes} classes (0 to {})",
                classes - 1
            ),
            Self::NonFinite { what, row, column } => write!(
                f,
                "{what} row {row}, column {column} is NaN or infinite; use finite values"
            ),
            Self::Ragged { what, len, width } => write!(
                f,
                "the {what} buffer holds {len} values, not a whole number of rows of {width}"
            ),
            Self::GradientLength { params, len } => write!(
                f,
                "the gradient buffer holds {len} values but the network has {params} parameters"
            ),
            Self::NoLoss => f.write_str(
                "the network is declared with `loss = none`; give a backward pass its ∂L/∂Ŷ instead",
            ),
        }
    }
}

impl core::error::Error for BatchError {}

/// Why a guarded training step ([`Network::train_step_checked`]) left the
/// parameters as they were.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum TrainError {
    /// The batch did not have a valid shape.
    Batch(BatchError),
    /// The loss was NaN or infinite.
    NonFiniteLoss {
        /// The loss, as `f64`.
        loss: f64,
    },
    /// A gradient entry was NaN or infinite (the loss was finite).
    NonFiniteGradient {
        /// The first such entry's index in [`Network::params`].
        index: usize,
        /// Its value, as `f64`.
        value: f64,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Batch(error) => error.fmt(f),
            Self::NonFiniteLoss { loss } => {
                write!(f, "the loss is {loss}; the update was not applied")
            }
            Self::NonFiniteGradient { index, value } => write!(
                f,
                "the gradient of parameter {index} is {value}; the update was not applied"
            ),
        }
    }
}

impl core::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Batch(error) => Some(error),
            Self::NonFiniteLoss { .. } | Self::NonFiniteGradient { .. } => None,
        }
    }
}

impl From<BatchError> for TrainError {
    fn from(error: BatchError) -> Self {
        Self::Batch(error)
    }
}

/// `Ok` if the loss and every gradient entry are finite.
fn check_finite<T: Float>(loss: T, grads: &[T]) -> Result<(), TrainError> {
    if !loss.is_finite() {
        return Err(TrainError::NonFiniteLoss {
            loss: loss.to_f64(),
        });
    }
    match grads.iter().position(|g| !g.is_finite()) {
        Some(index) => Err(TrainError::NonFiniteGradient {
            index,
            value: grads[index].to_f64(),
        }),
        None => Ok(()),
    }
}

/// A non-finite loss or gradient of a batch that holds a NaN or infinite
/// value is reported as that value, its likelier cause. Only failed steps
/// pay for the search.
fn blame_batch<T: Float, I: Row<T>, Y: Row<T>>(error: TrainError, x: &[I], y: &[Y]) -> TrainError {
    match non_finite("input", x).and_then(|()| non_finite("target", y)) {
        Err(cause) => TrainError::Batch(cause),
        Ok(()) => error,
    }
}

/// [`BatchError::NonFinite`] at the first NaN or infinite value of `rows`.
pub(crate) fn non_finite<T: Float, R: Row<T>>(
    what: &'static str,
    rows: &[R],
) -> Result<(), BatchError> {
    for (row, values) in rows.iter().enumerate() {
        if let Some(column) = values.as_ref().iter().position(|value| !value.is_finite()) {
            return Err(BatchError::NonFinite { what, row, column });
        }
    }
    Ok(())
}

pub(crate) fn check_rows(what: &'static str, inputs: usize, rows: usize) -> Result<(), BatchError> {
    if inputs == rows {
        Ok(())
    } else {
        Err(BatchError::RowMismatch { what, inputs, rows })
    }
}

/// The number of rows of a batch whose inputs and `what` rows (targets, or
/// output gradients) match and are not empty.
pub(crate) fn check_batch(
    what: &'static str,
    inputs: usize,
    targets: usize,
) -> Result<usize, BatchError> {
    check_rows(what, inputs, targets)?;
    if inputs == 0 {
        Err(BatchError::Empty)
    } else {
        Ok(inputs)
    }
}

/// The passes `network!` generates for each network's exact sizes, which
/// [`Network`] builds every method on. Not a public API: generated code
/// implements it, and nothing else should.
///
/// A pass works on `B` rows of a batch and keeps what the backward pass
/// needs in a tape: every layer's `Zˡ` (for non-linear layers) and `Hˡ`.
///
/// Its parameters are the network's element type `T`, input row `I`,
/// output row `O` and target row `Y`: [`Network`] names them as its
/// associated types.
#[doc(hidden)]
pub trait Passes<T, I, O, Y = O>: Sized {
    /// Every layer's `Zˡ` and `Hˡ` for `B` rows.
    type Tape<const B: usize>;

    /// A tape of zeros.
    fn tape<const B: usize>() -> Self::Tape<B>;

    /// Whether [`forward_rows`](Passes::forward_rows) has a copy for AVX2
    /// and FMA. Networks whose layers are all narrower than one AVX2
    /// register say not: the copy would save them nothing, and the call
    /// into it costs a tiny network's step a sixth of its time.
    const WIDE_FORWARD: bool = true;

    /// The forward pass for `B` rows into `tape`; with `logits_only` the
    /// output activation is skipped (a loss that reads `Zᴸ` follows).
    /// Compiled for the baseline CPU and for AVX2 with FMA, the copy
    /// chosen at run time (the runtime's `kernels::wide`): the whole pass,
    /// products and activations, takes one call.
    #[inline]
    fn forward_rows<const B: usize>(
        &self,
        x: &[I; B],
        tape: &mut Self::Tape<B>,
        logits_only: bool,
    ) {
        if !Self::WIDE_FORWARD {
            return self.forward_rows_in::<false, B>(x, tape, logits_only);
        }
        crate::kernels::wide::run(ForwardRows {
            network: self,
            x,
            tape,
            logits_only,
            types: PhantomData,
        });
    }

    /// The body of [`forward_rows`](Passes::forward_rows), generated
    /// `#[inline(always)]` so that it is compiled into each copy; `WIDE`
    /// is whether this copy is the one for AVX2 and FMA.
    fn forward_rows_in<const WIDE: bool, const B: usize>(
        &self,
        x: &[I; B],
        tape: &mut Self::Tape<B>,
        logits_only: bool,
    );

    /// `Ŷ = Hᴸ` in a tape.
    fn output<const B: usize>(tape: &Self::Tape<B>) -> &[O; B];

    /// The share of the loss of the first `live` of the `B` rows in `tape`,
    /// out of a batch of `batch_rows`; writes their `∂L/∂Ŷ` (or `Δᴸ =
    /// ∂L/∂Zᴸ` for a loss that reads the logits) to `delta`, whose other
    /// rows are left as they are.
    ///
    /// Networks declared with `loss = none` keep this default: their
    /// targets are [`NoBuiltInLoss`], of which callers have no rows, so it
    /// only sees the empty batches of the `*_slice` methods, which are
    /// refused before a loss is asked for.
    fn loss_rows<const B: usize>(
        tape: &Self::Tape<B>,
        y: &[Y; B],
        live: usize,
        batch_rows: usize,
        delta: Option<&mut [O; B]>,
    ) -> T {
        let _ = (tape, y, live, batch_rows, delta);
        unreachable!("a network declared with `loss = none` has no targets to compare with")
    }

    /// The backward pass for `B` rows, from `delta`: `∂L/∂Ŷ`, or with
    /// `of_logits` already `Δᴸ = ∂L/∂Zᴸ`. Stores `∂L/∂θ` in `grad` as the
    /// `Store` says and writes `∂L/∂X` to `grad_x`.
    fn backward_rows<const B: usize>(
        &self,
        x: &[I; B],
        tape: &Self::Tape<B>,
        delta: &mut [O; B],
        of_logits: bool,
        grad: Option<(&mut Self, Store)>,
        grad_x: Option<&mut [I; B]>,
    );

    /// [`backward_rows`](Passes::backward_rows) for rows that are the whole
    /// batch, with plain gradient descent on the way: each layer's
    /// parameters move by `−rate·∂L/∂θ` as soon as its `Δ` has flowed back
    /// through its weights, so no gradient is stored.
    fn descend_rows<const B: usize>(
        &mut self,
        x: &[I; B],
        tape: &Self::Tape<B>,
        delta: &mut [O; B],
        of_logits: bool,
        rate: T,
    );

    /// A value of the network's type for a training step to write `∂L/∂θ`
    /// in; what it holds is overwritten. Networks on the stack keep this
    /// default, a copy; those whose parameters live on the heap hand out
    /// the buffer of the previous step, so that a training step allocates
    /// only the first time.
    #[must_use]
    #[inline]
    fn take_gradient_buffer(&mut self) -> Self
    where
        Self: Clone,
    {
        self.clone()
    }

    /// Takes back the buffer of [`take_gradient_buffer`](Passes::take_gradient_buffer)
    /// for the next step; networks on the stack just drop it.
    fn keep_gradient_buffer(&mut self, grad: Self) {
        drop(grad);
    }
}

/// The number of parameters of layers of these widths.
const fn parameter_count(widths: &[usize]) -> usize {
    let mut count = 0;
    let mut l = 1;
    while l < widths.len() {
        count += (widths[l - 1] + 1) * widths[l];
        l += 1;
    }
    count
}

/// The multiply-adds of one sample's forward pass through layers of these
/// widths: `Σ n_{l−1}·n_l`.
const fn forward_multiply_adds(widths: &[usize]) -> usize {
    let mut count = 0;
    let mut l = 1;
    while l < widths.len() {
        count += widths[l - 1] * widths[l];
        l += 1;
    }
    count
}

/// The units of every layer, `Σ n_l`: the width of one `Δ` row per layer.
const fn units(widths: &[usize]) -> usize {
    let mut count = 0;
    let mut l = 1;
    while l < widths.len() {
        count += widths[l];
        l += 1;
    }
    count
}

/// A multilayer perceptron generated by `network!`.
///
/// Every method is written once here, for every network, on the passes
/// generated for its exact sizes. Batches are arrays of rows, one sample
/// per row: `[Self::Input; B]` is a `B × INPUTS` matrix, and the element
/// type `Self::Float` is `f32` or `f64`.
///
/// The methods that take `&[Self::Input; B]` need `B` at compile time. A
/// batch whose size is known only at run time, a `Vec` or a slice, goes to
/// the `*_slice` form of each ([`forward_slice`](Network::forward_slice),
/// [`train_step_slice`](Network::train_step_slice), …): the compiler,
/// given a `Vec` where an array is expected, says only ``expected
/// `&[[f32; 2]; _]`, found `&Vec<[f32; 2]>` ``. To keep `B` at compile
/// time, [`as_chunks::<B>`](slice::as_chunks) splits a slice into batches
/// of `B` rows and the rows left over.
///
/// ```
/// use backprop::{Network, Sgd};
///
/// backprop::network! {
///     /// 2 inputs, 3 sigmoid units, 1 linear output.
///     pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
/// }
///
/// let (x, y) = ([[0.0, 1.0], [1.0, 1.0]], [[1.0], [0.0]]);
/// let mut net = Xor::seeded(1);
/// let before = net.loss(&x, &y);
/// net.train_step(&x, &y, &mut Sgd::new(0.5));
/// assert!(net.loss(&x, &y) < before);
/// assert_eq!(Xor::WIDTHS, [2, 3, 1]);
/// ```
pub trait Network:
    Clone + Sized + Send + Sync + 'static + Passes<Self::Float, Self::Input, Self::Output, Self::Target>
{
    /// The element type, `f32` or `f64`.
    type Float: Float;
    /// One input sample, `[Self::Float; Self::INPUTS]`.
    type Input: Row<Self::Float>;
    /// One output sample, `[Self::Float; Self::OUTPUTS]`.
    type Output: Row<Self::Float>;
    /// One target sample of the built-in loss: the same as
    /// [`Output`](Network::Output), or [`NoBuiltInLoss`] for a network
    /// declared with `loss = none`.
    type Target: Row<Self::Float>;

    /// Widths of the input and of every layer: `[n₀, n₁, …, n_L]`.
    const WIDTHS: &'static [usize];
    /// Every layer's activation, with its parameters.
    const ACTIVATIONS: &'static [ActivationKind];
    /// The built-in loss, with its parameters; `None` for a network
    /// declared with `loss = none`, which is trained only from gradients
    /// supplied to [`backward`](Network::backward) or a [`Trace`].
    const LOSS: Option<LossKind>;
    /// The initialisation `init = …` names for every layer, if any; else
    /// each layer's activation chooses ([`Init::for_activation`]).
    const INIT: Option<Init> = None;
    /// The forward and backward equations of this network, with its shapes,
    /// as Unicode text.
    const EQUATIONS: &'static str;
    /// [`EQUATIONS`](Network::EQUATIONS) as LaTeX, an `aligned` environment.
    const EQUATIONS_LATEX: &'static str;
    /// Width of the input, `n₀`.
    const INPUTS: usize = Self::WIDTHS[0];
    /// Number of layers with parameters, `L`.
    const LAYERS: usize = Self::WIDTHS.len() - 1;
    /// Width of the output layer, `n_L`.
    const OUTPUTS: usize = Self::WIDTHS[Self::WIDTHS.len() - 1];
    /// Number of parameters: every layer's weights and biases.
    const PARAMS: usize = parameter_count(Self::WIDTHS);
    /// Bytes of the parameters: what a network occupies, and what a weight
    /// file holds besides its header.
    const PARAM_BYTES: usize = Self::PARAMS * size_of::<Self::Float>();
    /// Multiply-adds of one sample's forward pass, `Σ n_{l−1}·n_l`; a
    /// training step costs about three times as many per sample.
    ///
    /// ```
    /// use backprop::Network;
    ///
    /// backprop::network! {
    ///     /// W2, a control network.
    ///     Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse
    /// }
    /// assert_eq!(Control::MACS, 8 * 32 + 32 * 32 + 32 * 2);
    /// assert_eq!(Control::PARAM_BYTES, 4 * Control::PARAMS);
    /// assert!(Control::workspace_bytes::<1>() < 1024);
    /// ```
    const MACS: usize = forward_multiply_adds(Self::WIDTHS);

    /// Bytes of stack a pass over `B` rows uses besides the network: the
    /// tape of every layer's `Z` and `H`, and one `Δ` per layer.
    #[must_use]
    fn workspace_bytes<const B: usize>() -> usize {
        size_of::<Self::Tape<B>>() + B * units(Self::WIDTHS) * size_of::<Self::Float>()
    }

    /// A network whose parameters are all zero.
    fn zeros() -> Self;

    /// All parameters, layer by layer: `W¹` row by row, `b¹`, `W²`, `b²`, …
    fn params(&self) -> &[Self::Float];

    /// All parameters, mutable, in the order of [`params`](Network::params).
    fn params_mut(&mut self) -> &mut [Self::Float];

    /// The outputs `Ŷ` for a batch of `B` samples.
    ///
    /// A `Vec` or a slice, whose length is known only at run time, goes to
    /// [`forward_slice`](Network::forward_slice).
    #[must_use]
    fn forward<const B: usize>(&self, x: &[Self::Input; B]) -> [Self::Output; B] {
        let mut tape = Self::tape::<B>();
        self.forward_rows(x, &mut tape, false);
        *Self::output(&tape)
    }

    /// The mean loss over a batch of `B` samples.
    ///
    /// A `Vec` or a slice, whose length is known only at run time, goes to
    /// [`loss_slice`](Network::loss_slice).
    #[must_use]
    fn loss<const B: usize>(&self, x: &[Self::Input; B], y: &[Self::Target; B]) -> Self::Float {
        let mut tape = Self::tape::<B>();
        self.forward_rows(x, &mut tape, Self::LOSS.is_some_and(LossKind::reads_logits));
        Self::loss_rows(&tape, y, B, B, None)
    }

    /// The mean loss and its gradient with respect to every parameter, in a
    /// value of the network's own type (so `grad.params()[i]` is `∂L/∂θᵢ`).
    /// [`EQUATIONS`](Network::EQUATIONS) shows what it computes.
    ///
    /// A `Vec` or a slice, whose length is known only at run time, goes to
    /// [`gradients_slice`](Network::gradients_slice).
    #[must_use]
    fn gradients<const B: usize>(
        &self,
        x: &[Self::Input; B],
        y: &[Self::Target; B],
    ) -> (Self::Float, Self) {
        let mut grad = Self::zeros();
        let loss = gradients_of_batch(self, x, y, &mut grad);
        (loss, grad)
    }

    /// The mean loss and its gradient with respect to the inputs, `∂L/∂X`.
    ///
    /// A `Vec` or a slice, whose length is known only at run time, goes to
    /// [`input_gradients_slice`](Network::input_gradients_slice).
    #[must_use]
    fn input_gradients<const B: usize>(
        &self,
        x: &[Self::Input; B],
        y: &[Self::Target; B],
    ) -> (Self::Float, [Self::Input; B]) {
        let mut grad_x = [Self::Input::ZERO; B];
        let loss = self.backprop(x, y, B, B, None, Some(&mut grad_x));
        (loss, grad_x)
    }

    /// Backpropagates a gradient you computed: given `∂L/∂Ŷ` for a batch
    /// (from a loss of your own, or from a network downstream), the
    /// gradient of that `L` with respect to every parameter, in a value of
    /// the network's type, and with respect to the inputs, `∂L/∂X`. The
    /// backward pass starts from `Δᴸ = ∂L/∂Ŷ ⊙ f'(Zᴸ)` (for a `softmax`
    /// output, its Jacobian–vector product); the network's own loss plays
    /// no part.
    ///
    /// A `Vec` or a slice, whose length is known only at run time, goes to
    /// [`backward_slice`](Network::backward_slice), which adds `∂L/∂θ` into
    /// a gradient you hold.
    ///
    /// ```
    /// use backprop::Network;
    ///
    /// backprop::network! {
    ///     /// A critic: state ⊕ action → value.
    ///     Critic = 3 -> tanh(8) -> linear(1); loss = mse
    /// }
    ///
    /// let critic = Critic::seeded(1);
    /// let state_action = [[0.5, -0.2, 0.1]];
    /// // Gradient ascent on Q: the loss is −Q, so ∂L/∂Q = −1.
    /// let (grad, grad_input) = critic.backward(&state_action, &[[-1.0]]);
    /// assert_eq!(grad.params().len(), Critic::PARAMS);
    /// let dq_daction = -grad_input[0][2]; // ∂Q/∂action, for an actor's update
    /// assert!(dq_daction.is_finite());
    /// ```
    #[must_use]
    fn backward<const B: usize>(
        &self,
        x: &[Self::Input; B],
        grad_output: &[Self::Output; B],
    ) -> (Self, [Self::Input; B]) {
        let mut grad = Self::zeros();
        let mut grad_x = [Self::Input::ZERO; B];
        let store = Some((&mut grad, Store::Overwrite));
        self.trace(x)
            .backward(grad_output, store, Some(&mut grad_x));
        (grad, grad_x)
    }

    /// The forward pass on `x`, kept for a backward pass from a gradient you
    /// compute from its output: see [`Trace`].
    ///
    /// A batch whose size is known only at run time has no kept pass: pass
    /// the `∂L/∂Ŷ` you compute from [`forward_slice`](Network::forward_slice)'s
    /// output to [`backward_slice`](Network::backward_slice).
    #[must_use]
    fn trace<'a, const B: usize>(&'a self, x: &'a [Self::Input; B]) -> Trace<'a, Self, B> {
        Trace::new(self, x)
    }

    /// [`backward`](Network::backward) that adds this batch's `∂L/∂θ` into
    /// `grad` rather than returning it, as PyTorch's `backward` accumulates
    /// into `.grad`: start from [`Network::zeros`] and call it once per
    /// batch, loss term or head to sum their gradients, then step an
    /// optimizer with `grad.params()`. `grad_x`, if given, is overwritten
    /// with `∂L/∂X`. A `Vec` or a slice, whose length is known only at run
    /// time, goes to [`backward_slice`](Network::backward_slice).
    ///
    /// ```
    /// use backprop::{Network, Optimizer, Sgd};
    ///
    /// backprop::network! {
    ///     Policy = 2 -> tanh(8) -> linear(2); loss = mse
    /// }
    ///
    /// let mut policy = Policy::seeded(7);
    /// let mut grad = Policy::zeros();
    /// // Two batches whose ∂L/∂Ŷ the caller computed.
    /// policy.backward_into(&[[0.1, 0.2]], &[[1.0, -1.0]], &mut grad, None);
    /// policy.backward_into(&[[0.3, -0.4], [0.0, 1.0]], &[[0.5, 0.0], [0.0, 0.5]], &mut grad, None);
    /// Sgd::new(0.01).step(policy.params_mut(), grad.params());
    /// ```
    fn backward_into<const B: usize>(
        &self,
        x: &[Self::Input; B],
        grad_output: &[Self::Output; B],
        grad: &mut Self,
        grad_x: Option<&mut [Self::Input; B]>,
    ) {
        self.trace(x).backward_into(grad_output, grad, grad_x);
    }

    /// [`backward_into`](Network::backward_into) for a batch whose size is
    /// known only at run time: adds `∂L/∂θ` into `grad` and, if given,
    /// overwrites `grad_x` with `∂L/∂X`.
    ///
    /// # Errors
    ///
    /// [`BatchError`] if `x`, `grad_output` (and `grad_x`) differ in length
    /// or are empty; `grad` and `grad_x` are then left as they were.
    fn backward_slice(
        &self,
        x: &[Self::Input],
        grad_output: &[Self::Output],
        grad: &mut Self,
        mut grad_x: Option<&mut [Self::Input]>,
    ) -> Result<(), BatchError> {
        let rows = check_batch("output-gradient", x.len(), grad_output.len())?;
        if let Some(grad_x) = &grad_x {
            check_rows("input-gradient", rows, grad_x.len())?;
        }
        // Rows that pad the last chunk have `∂L/∂Ŷ = 0`, so `Δ = 0` and
        // they add nothing.
        let chunks = chunks::<_, CHUNK_ROWS>(x, Self::Input::ZERO)
            .zip(chunks::<_, CHUNK_ROWS>(grad_output, Self::Output::ZERO));
        for ((start, x), (_, grad_output)) in chunks {
            let live = (rows - start).min(CHUNK_ROWS);
            let mut chunk_grad_x = [Self::Input::ZERO; CHUNK_ROWS];
            let wants_grad_x = grad_x.is_some();
            self.backward_into(
                &x,
                &grad_output,
                grad,
                wants_grad_x.then_some(&mut chunk_grad_x),
            );
            if let Some(grad_x) = grad_x.as_deref_mut() {
                grad_x[start..start + live].copy_from_slice(&chunk_grad_x[..live]);
            }
        }
        Ok(())
    }

    /// One step of training on a batch: forward pass, loss, backward pass and
    /// the optimizer's update. Returns the loss before the update.
    ///
    /// A `Vec` or a slice, whose length is known only at run time, goes to
    /// [`train_step_slice`](Network::train_step_slice).
    ///
    /// With plain SGD (see [`Optimizer::plain_learning_rate`]) the update is
    /// applied layer by layer during the backward pass, without storing the
    /// gradient; the result is the same up to rounding.
    fn train_step<const B: usize, O: Optimizer<Self::Float> + ?Sized>(
        &mut self,
        x: &[Self::Input; B],
        y: &[Self::Target; B],
        optimizer: &mut O,
    ) -> Self::Float {
        #[cfg(feature = "parallel")]
        if const { crate::parallel::worth_splitting::<Self>(B) } {
            if let Some(rate) = optimizer.plain_learning_rate() {
                return crate::parallel::descend(self, x, y, rate);
            }
            let mut grad = self.take_gradient_buffer();
            let loss = crate::parallel::gradients(self, x, y, &mut grad);
            optimizer.step(self.params_mut(), grad.params());
            self.keep_gradient_buffer(grad);
            return loss;
        }
        // One forward pass and one loss for both ways of stepping, so that
        // the compiler sees one call of each and can inline them whole.
        let mut tape = Self::tape::<B>();
        let of_logits = Self::LOSS.is_some_and(LossKind::reads_logits);
        self.forward_rows(x, &mut tape, of_logits);
        let mut delta = [Self::Output::ZERO; B];
        let loss = Self::loss_rows(&tape, y, B, B, Some(&mut delta));
        if let Some(rate) = optimizer.plain_learning_rate() {
            self.descend_rows(x, &tape, &mut delta, of_logits, rate);
        } else {
            let mut grad = self.take_gradient_buffer();
            let store = Some((&mut grad, Store::Overwrite));
            self.backward_rows(x, &tape, &mut delta, of_logits, store, None);
            optimizer.step(self.params_mut(), grad.params());
            self.keep_gradient_buffer(grad);
        }
        loss
    }

    /// [`train_step`](Network::train_step), guarded: if the loss or any
    /// gradient entry is NaN or infinite, the update is not applied and the
    /// error says which, so one bad batch cannot destroy trained weights.
    /// The gradient is always stored first, so with plain SGD the result
    /// equals `train_step`'s up to rounding. A `Vec` or a slice, whose
    /// length is known only at run time, goes to
    /// [`train_step_slice_checked`](Network::train_step_slice_checked).
    ///
    /// # Errors
    ///
    /// [`TrainError::NonFiniteLoss`] or [`TrainError::NonFiniteGradient`];
    /// or, if the batch itself holds a NaN or infinite value, the first one
    /// as [`TrainError::Batch`] with [`BatchError::NonFinite`], naming its
    /// row of the batch and its column. The parameters (and the optimizer's
    /// state) are then left as they were.
    ///
    /// ```
    /// use backprop::{Network, Sgd};
    ///
    /// backprop::network! { pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse }
    ///
    /// let mut net = Xor::seeded(1);
    /// let before = net.clone();
    /// let x = [[0.0, 1.0], [f32::INFINITY, 0.0]];
    /// let error = net.train_step_checked(&x, &[[1.0], [1.0]], &mut Sgd::new(0.1)).unwrap_err();
    /// assert_eq!(error.to_string(), "input row 1, column 0 is NaN or infinite; use finite values");
    /// assert_eq!(net, before);
    /// ```
    fn train_step_checked<const B: usize, O: Optimizer<Self::Float> + ?Sized>(
        &mut self,
        x: &[Self::Input; B],
        y: &[Self::Target; B],
        optimizer: &mut O,
    ) -> Result<Self::Float, TrainError> {
        let mut grad = self.take_gradient_buffer();
        let loss = gradients_of_batch(self, x, y, &mut grad);
        let finite = check_finite(loss, grad.params()).map_err(|error| blame_batch(error, x, y));
        if finite.is_ok() {
            optimizer.step(self.params_mut(), grad.params());
        }
        self.keep_gradient_buffer(grad);
        finite.map(|()| loss)
    }

    /// [`forward`](Network::forward) for a batch whose size is known only at run time.
    ///
    /// # Errors
    ///
    /// [`BatchError::RowMismatch`] if `out` does not have one row per row of `x`.
    fn forward_slice(&self, x: &[Self::Input], out: &mut [Self::Output]) -> Result<(), BatchError> {
        check_rows("output", x.len(), out.len())?;
        #[cfg(feature = "parallel")]
        if crate::parallel::worth_splitting::<Self>(x.len()) {
            crate::parallel::forward(self, x, out);
            return Ok(());
        }
        forward_rows_of(self, x, out);
        Ok(())
    }

    /// [`loss`](Network::loss) for a batch whose size is known only at run time.
    ///
    /// # Errors
    ///
    /// [`BatchError`] if `x` and `y` differ in length or are empty.
    fn loss_slice(&self, x: &[Self::Input], y: &[Self::Target]) -> Result<Self::Float, BatchError> {
        let rows = check_batch("target", x.len(), y.len())?;
        let mut loss = Self::Float::ZERO;
        for ((start, x), (_, y)) in
            chunks::<_, CHUNK_ROWS>(x, Self::Input::ZERO)
                .zip(chunks::<_, CHUNK_ROWS>(y, Self::Target::ZERO))
        {
            let mut tape = Self::tape::<CHUNK_ROWS>();
            self.forward_rows(
                &x,
                &mut tape,
                Self::LOSS.is_some_and(LossKind::reads_logits),
            );
            let live = (rows - start).min(CHUNK_ROWS);
            loss += Self::loss_rows(&tape, &y, live, rows, None);
        }
        Ok(loss)
    }

    /// [`gradients`](Network::gradients) for a batch whose size is known only
    /// at run time: `grad` is overwritten with `∂L/∂θ`; returns the loss.
    ///
    /// # Errors
    ///
    /// [`BatchError`] if `x` and `y` differ in length or are empty; `grad` is
    /// then left as it was.
    fn gradients_slice(
        &self,
        x: &[Self::Input],
        y: &[Self::Target],
        grad: &mut Self,
    ) -> Result<Self::Float, BatchError> {
        let rows = check_batch("target", x.len(), y.len())?;
        #[cfg(feature = "parallel")]
        if crate::parallel::worth_splitting::<Self>(rows) {
            return Ok(crate::parallel::gradients(self, x, y, grad));
        }
        Ok(gradients_of_rows(
            self,
            x,
            y,
            rows,
            grad,
            &mut Store::Overwrite,
        ))
    }

    /// [`input_gradients`](Network::input_gradients) for a batch whose size
    /// is known only at run time: `grad_x` is overwritten with `∂L/∂X`;
    /// returns the loss.
    ///
    /// # Errors
    ///
    /// [`BatchError`] if `x`, `y` and `grad_x` differ in length or are empty;
    /// `grad_x` is then left as it was.
    fn input_gradients_slice(
        &self,
        x: &[Self::Input],
        y: &[Self::Target],
        grad_x: &mut [Self::Input],
    ) -> Result<Self::Float, BatchError> {
        let rows = check_batch("target", x.len(), y.len())?;
        check_rows("input-gradient", x.len(), grad_x.len())?;
        let mut loss = Self::Float::ZERO;
        for ((start, x), (_, y)) in
            chunks::<_, CHUNK_ROWS>(x, Self::Input::ZERO)
                .zip(chunks::<_, CHUNK_ROWS>(y, Self::Target::ZERO))
        {
            let live = (rows - start).min(CHUNK_ROWS);
            let mut chunk_grad_x = [Self::Input::ZERO; CHUNK_ROWS];
            loss += self.backprop(&x, &y, live, rows, None, Some(&mut chunk_grad_x));
            grad_x[start..start + live].copy_from_slice(&chunk_grad_x[..live]);
        }
        Ok(loss)
    }

    /// [`train_step`](Network::train_step) for a batch whose size is known
    /// only at run time. The gradient of the chunks is stored first, so
    /// with plain SGD the result equals `train_step`'s up to rounding.
    ///
    /// # Errors
    ///
    /// [`BatchError`] if `x` and `y` differ in length or are empty; the
    /// parameters are then left as they were.
    fn train_step_slice<O: Optimizer<Self::Float> + ?Sized>(
        &mut self,
        x: &[Self::Input],
        y: &[Self::Target],
        optimizer: &mut O,
    ) -> Result<Self::Float, BatchError> {
        #[cfg(feature = "parallel")]
        if let Some(rate) = optimizer.plain_learning_rate() {
            let rows = check_batch("target", x.len(), y.len())?;
            if crate::parallel::worth_splitting::<Self>(rows) {
                return Ok(crate::parallel::descend(self, x, y, rate));
            }
        }
        let mut grad = self.take_gradient_buffer();
        let loss = self.gradients_slice(x, y, &mut grad);
        if loss.is_ok() {
            optimizer.step(self.params_mut(), grad.params());
        }
        self.keep_gradient_buffer(grad);
        loss
    }

    /// [`train_step_slice`](Network::train_step_slice), guarded as
    /// [`train_step_checked`](Network::train_step_checked) is.
    ///
    /// # Errors
    ///
    /// [`TrainError::Batch`] if `x` and `y` differ in length or are empty;
    /// [`TrainError::NonFiniteLoss`] or [`TrainError::NonFiniteGradient`],
    /// or the batch's first NaN or infinite value as
    /// [`train_step_checked`](Network::train_step_checked) reports it.
    /// The parameters are then left as they were.
    fn train_step_slice_checked<O: Optimizer<Self::Float> + ?Sized>(
        &mut self,
        x: &[Self::Input],
        y: &[Self::Target],
        optimizer: &mut O,
    ) -> Result<Self::Float, TrainError> {
        let mut grad = self.take_gradient_buffer();
        let loss = self
            .gradients_slice(x, y, &mut grad)
            .map_err(TrainError::from)
            .and_then(|loss| {
                check_finite(loss, grad.params())
                    .map(|()| loss)
                    .map_err(|error| blame_batch(error, x, y))
            });
        if loss.is_ok() {
            optimizer.step(self.params_mut(), grad.params());
        }
        self.keep_gradient_buffer(grad);
        loss
    }

    /// Forward pass, loss and backward pass for `B` rows of which the first
    /// `live` count, out of a batch of `batch_rows`; returns their share of
    /// the loss.
    #[doc(hidden)]
    fn backprop<const B: usize>(
        &self,
        x: &[Self::Input; B],
        y: &[Self::Target; B],
        live: usize,
        batch_rows: usize,
        grad: Option<(&mut Self, Store)>,
        grad_x: Option<&mut [Self::Input; B]>,
    ) -> Self::Float {
        let mut tape = Self::tape::<B>();
        let of_logits = Self::LOSS.is_some_and(LossKind::reads_logits);
        self.forward_rows(x, &mut tape, of_logits);
        let mut delta = [Self::Output::ZERO; B];
        let loss = Self::loss_rows(&tape, y, live, batch_rows, Some(&mut delta));
        self.backward_rows(x, &tape, &mut delta, of_logits, grad, grad_x);
        loss
    }
}

/// The loss of a batch of `B` rows and its `∂L/∂θ`, written into `grad`:
/// split across threads when the batch is worth it (with `parallel`; the
/// compiler decides), else in one backward pass.
fn gradients_of_batch<N: Network, const B: usize>(
    network: &N,
    x: &[N::Input; B],
    y: &[N::Target; B],
    grad: &mut N,
) -> N::Float {
    #[cfg(feature = "parallel")]
    if const { crate::parallel::worth_splitting::<N>(B) } {
        return crate::parallel::gradients(network, x, y, grad);
    }
    network.backprop(x, y, B, B, Some((grad, Store::Overwrite)), None)
}

/// A forward pass as a [`Kernel`]: [`Passes::forward_rows`]'s arguments.
struct ForwardRows<'a, N: Passes<T, I, O, Y>, T, I, O, Y, const B: usize> {
    network: &'a N,
    x: &'a [I; B],
    tape: &'a mut N::Tape<B>,
    logits_only: bool,
    types: PhantomData<(T, O, Y)>,
}

impl<N: Passes<T, I, O, Y>, T, I, O, Y, const B: usize> Kernel
    for ForwardRows<'_, N, T, I, O, Y, B>
{
    type Output = ();

    // Always: see `Kernel::run`.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn run<const WIDE: bool>(self) {
        self.network
            .forward_rows_in::<WIDE, B>(self.x, self.tape, self.logits_only);
    }
}

/// [`Network::forward_slice`] on one thread: `x` and `out` of equal length.
pub(crate) fn forward_rows_of<N: Network>(network: &N, x: &[N::Input], out: &mut [N::Output]) {
    for (start, x) in chunks::<_, CHUNK_ROWS>(x, N::Input::ZERO) {
        let mut tape = N::tape::<CHUNK_ROWS>();
        network.forward_rows(&x, &mut tape, false);
        let rows = &mut out[start..];
        let live = rows.len().min(CHUNK_ROWS);
        rows[..live].copy_from_slice(&N::output(&tape)[..live]);
    }
}

/// The share of the loss of the rows `x`, `y` (of equal length) out of a
/// batch of `batch_rows`, on one thread, with their `∂L/∂θ` stored in
/// `grad` as `store` says (then `store` is set to add).
pub(crate) fn gradients_of_rows<N: Network>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    batch_rows: usize,
    grad: &mut N,
    store: &mut Store,
) -> N::Float {
    // Whole chunks of `LARGE_CHUNK_ROWS` first, whose products run faster
    // than those of small chunks, then the rest in small ones.
    let (mut x, mut y) = (x, y);
    let loss =
        whole_chunks::<_, LARGE_CHUNK_ROWS>(network, &mut x, &mut y, batch_rows, grad, store);
    loss + gradients_of_chunks::<_, CHUNK_ROWS>(network, x, y, batch_rows, grad, store)
}

/// [`gradients_of_chunks`] for the whole chunks of `C` rows at the start of
/// `x` and `y`, which are then left holding the rows after them.
pub(crate) fn whole_chunks<N: Network, const C: usize>(
    network: &N,
    x: &mut &[N::Input],
    y: &mut &[N::Target],
    batch_rows: usize,
    grad: &mut N,
    store: &mut Store,
) -> N::Float {
    let whole = x.len() - x.len() % C;
    let ((chunked_x, rest_x), (chunked_y, rest_y)) = (x.split_at(whole), y.split_at(whole));
    (*x, *y) = (rest_x, rest_y);
    gradients_of_chunks::<_, C>(network, chunked_x, chunked_y, batch_rows, grad, store)
}

/// The share of the loss of the rows `x`, `y` out of a batch of
/// `batch_rows`, in chunks of `C`, with their `∂L/∂θ` stored in `grad`: the
/// first chunk as `store` says, the others added (and `store` set to add).
/// Rows that pad the last chunk have `Δ = 0`, so they add nothing.
fn gradients_of_chunks<N: Network, const C: usize>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    batch_rows: usize,
    grad: &mut N,
    store: &mut Store,
) -> N::Float {
    let mut loss = N::Float::ZERO;
    for ((start, chunk_x), (_, chunk_y)) in
        chunks::<_, C>(x, N::Input::ZERO).zip(chunks::<_, C>(y, N::Target::ZERO))
    {
        let live = (x.len() - start).min(C);
        loss += network.backprop(
            &chunk_x,
            &chunk_y,
            live,
            batch_rows,
            Some((grad, *store)),
            None,
        );
        *store = Store::Add;
    }
    loss
}

/// Rows of a run-time-size batch taken together by the `*_slice` methods:
/// whole chunks, then the last rows padded with zeros to a whole chunk (so
/// every pass is compiled for one number of rows). Each comes with the
/// index of its first row.
fn chunks<R: Copy, const C: usize>(
    rows: &[R],
    zero: R,
) -> impl Iterator<Item = (usize, [R; C])> + '_ {
    rows.chunks(C).enumerate().map(move |(index, chunk)| {
        let mut padded = [zero; C];
        padded[..chunk.len()].copy_from_slice(chunk);
        (index * C, padded)
    })
}
