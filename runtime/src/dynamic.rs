//! [`DynNetwork`]: any [`Network`] seen through a trait object, so that
//! networks of different sizes, activations and losses can share one
//! collection.
//!
//! [`Network`] cannot be a trait object: its methods take batches of
//! `[Self::Input; B]` with `B` a constant, and its rows are associated
//! types. `DynNetwork<T>` takes flat, row-major buffers of `T` instead and
//! hands each call to the run-time-size (`*_slice`) method of the network
//! behind it, with the buffers read in place as its rows, so a call through
//! the view returns what the `*_slice` method returns, bit for bit. It is
//! implemented for every network, so nothing in the generated code knows
//! of it.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;
use core::fmt;

use crate::{ActivationKind, BatchError, Float, LossKind, Network, Optimizer, Row, TrainError};

/// A network's architecture as the `network!` DSL spells it:
/// `4 -> tanh(5) -> linear(3); loss = mse; float = f32`, from what the
/// network says of itself ([`Network::WIDTHS`], [`Network::ACTIVATIONS`],
/// [`Network::LOSS`] and its float type).
///
/// ```
/// use backprop::{Architecture, DynNetwork, LossKind};
///
/// backprop::network! {
///     Classifier = 4 -> leaky_relu(16, slope = 0.2) -> softmax(3); loss = cross_entropy
/// }
/// let architecture = Architecture::of::<Classifier>();
/// assert_eq!(
///     architecture.to_string(),
///     "4 -> leaky_relu(16, slope = 0.2) -> softmax(3); loss = cross_entropy; float = f32"
/// );
/// assert_eq!(architecture.widths(), [4, 16, 3]);
/// assert_eq!(architecture.loss(), Some(LossKind::CrossEntropy));
/// assert_eq!(Classifier::zeros().architecture(), architecture);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Architecture {
    widths: &'static [usize],
    activations: &'static [ActivationKind],
    loss: Option<LossKind>,
    float: &'static str,
}

impl Architecture {
    /// The architecture of the network type `N`.
    #[must_use]
    pub const fn of<N: Network>() -> Self {
        Self {
            widths: N::WIDTHS,
            activations: N::ACTIVATIONS,
            loss: N::LOSS,
            float: N::Float::NAME,
        }
    }

    /// Widths of the input and of every layer: `[n₀, n₁, …, n_L]`.
    #[must_use]
    pub const fn widths(&self) -> &'static [usize] {
        self.widths
    }

    /// Every layer's activation, with its parameters.
    #[must_use]
    pub const fn activations(&self) -> &'static [ActivationKind] {
        self.activations
    }

    /// The built-in loss; `None` for a network declared with `loss = none`.
    #[must_use]
    pub const fn loss(&self) -> Option<LossKind> {
        self.loss
    }

    /// The element type's name, `"f32"` or `"f64"`.
    #[must_use]
    pub const fn float(&self) -> &'static str {
        self.float
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (inputs, layers) = self.widths.split_first().unwrap_or((&0, &[]));
        write!(f, "{inputs}")?;
        for (activation, &width) in self.activations.iter().zip(layers) {
            write!(f, " -> {}", activation.layer(width))?;
        }
        match self.loss {
            Some(loss) => write!(f, "; loss = {loss}")?,
            None => f.write_str("; loss = none")?,
        }
        write!(f, "; float = {}", self.float)
    }
}

/// An object-safe view of a [`Network`], for collections of different
/// networks: `Vec<Box<dyn DynNetwork<f32>>>`.
///
/// Batches are flat, row-major buffers: `x` holds
/// [`inputs()`](DynNetwork::inputs) values per sample, outputs and targets
/// [`outputs()`](DynNetwork::outputs), gradients of the parameters
/// [`param_count()`](DynNetwork::param_count), in the order of
/// [`parameters()`](DynNetwork::parameters). Each method is the
/// network's run-time-size method of the same name ([`forward_slice`],
/// [`loss_slice`], …) on the same rows, read in place, and returns the same
/// values, bit for bit.
///
/// A buffer that is not a whole number of rows, a gradient buffer of the
/// wrong length, or a loss asked of a `loss = none` network is a
/// [`BatchError`]; a call that fails leaves the network, the optimizer and
/// every buffer as they were. None allocates, but
/// [`gradients_flat`](DynNetwork::gradients_flat) and
/// [`backward_flat`](DynNetwork::backward_flat) of a network whose
/// parameters live on the heap (above 16 KiB) allocate their gradient
/// as [`Network::gradients`] does.
///
/// ```
/// use backprop::{DynNetwork, Sgd};
///
/// backprop::network! { Regressor = 2 -> tanh(8) -> linear(1); loss = mse }
/// backprop::network! { Classifier = 3 -> relu(4) -> softmax(2); loss = cross_entropy }
///
/// let mut networks: Vec<Box<dyn DynNetwork<f32>>> =
///     vec![Box::new(Regressor::seeded(1)), Box::new(Classifier::seeded(2))];
/// let mut sgd = Sgd::new(0.1);
/// for net in &mut networks {
///     // Two samples: each row is `inputs()` values, each target `outputs()`.
///     let x: Vec<f32> = (0..2 * net.inputs()).map(|i| i as f32 / 4.0).collect();
///     let mut y = vec![0.0; 2 * net.outputs()];
///     y[0] = 1.0;
///     y[net.outputs()] = 1.0;
///     let before = net.loss_flat(&x, &y)?;
///     for _ in 0..20 {
///         net.train_step_flat(&x, &y, &mut sgd)?;
///     }
///     assert!(net.loss_flat(&x, &y)? < before, "{}", net.architecture());
/// }
/// assert_eq!(networks[0].architecture().to_string(), "2 -> tanh(8) -> linear(1); loss = mse; float = f32");
/// # Ok::<(), backprop::BatchError>(())
/// ```
///
/// [`forward_slice`]: Network::forward_slice
/// [`loss_slice`]: Network::loss_slice
pub trait DynNetwork<T: Float> {
    /// The values in one input row, [`Network::INPUTS`].
    fn inputs(&self) -> usize;

    /// The values in one output (and target) row, [`Network::OUTPUTS`].
    fn outputs(&self) -> usize;

    /// The number of parameters, [`Network::PARAMS`].
    fn param_count(&self) -> usize;

    /// What the network is: its widths, activations, loss and float type,
    /// written as the `network!` DSL spells it by `Display`.
    fn architecture(&self) -> Architecture;

    /// All parameters, layer by layer, as [`Network::params`].
    fn parameters(&self) -> &[T];

    /// All parameters, mutable, as [`Network::params_mut`].
    fn parameters_mut(&mut self) -> &mut [T];

    /// Writes the outputs `Ŷ` of the rows of `x` to `out`, as
    /// [`Network::forward_slice`].
    ///
    /// ```
    /// use backprop::{DynNetwork, Network};
    ///
    /// backprop::network! { Net = 2 -> sigmoid(3) -> linear(2); loss = mse }
    ///
    /// let net = Net::seeded(1);
    /// let view: &dyn DynNetwork<f32> = &net;
    /// let mut out = [0.0; 4];
    /// view.forward_flat(&[0.0, 1.0, 1.0, 0.0], &mut out).unwrap();
    /// assert_eq!(out, *net.forward(&[[0.0, 1.0], [1.0, 0.0]]).as_flattened());
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::Ragged`] if `x` or `out` is not a whole number of
    /// rows; [`BatchError::RowMismatch`] if they differ in rows. `out` is
    /// then left as it was.
    fn forward_flat(&self, x: &[T], out: &mut [T]) -> Result<(), BatchError>;

    /// The mean loss over the rows of `x` and `y`, as [`Network::loss_slice`].
    ///
    /// ```
    /// use backprop::{BatchError, DynNetwork};
    ///
    /// backprop::network! { Net = 2 -> sigmoid(3) -> linear(1); loss = mse }
    ///
    /// let net: Box<dyn DynNetwork<f32>> = Box::new(Net::seeded(1));
    /// assert!(net.loss_flat(&[0.0, 1.0, 1.0, 1.0], &[1.0, 0.0]).unwrap() > 0.0);
    /// assert_eq!(
    ///     net.loss_flat(&[0.0, 1.0, 1.0], &[1.0, 0.0]),
    ///     Err(BatchError::Ragged { what: "input", len: 3, width: 2 })
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::NoLoss`] for a network declared with `loss = none`;
    /// [`BatchError::Ragged`] if `x` or `y` is not a whole number of rows;
    /// [`BatchError::RowMismatch`] or [`BatchError::Empty`] as
    /// [`Network::loss_slice`] returns them.
    fn loss_flat(&self, x: &[T], y: &[T]) -> Result<T, BatchError>;

    /// Overwrites `grad` with the gradient of the mean loss with respect to
    /// every parameter, `grad[i] = ∂L/∂θᵢ`, and returns the loss, as
    /// [`Network::gradients_slice`].
    ///
    /// ```
    /// use backprop::{DynNetwork, Optimizer, Sgd};
    ///
    /// backprop::network! { Net = 2 -> tanh(4) -> linear(1); loss = mse }
    ///
    /// let mut net: Box<dyn DynNetwork<f32>> = Box::new(Net::seeded(3));
    /// let (x, y) = ([0.5, -0.5], [1.0]);
    /// let mut grad = vec![0.0; net.param_count()];
    /// let before = net.gradients_flat(&x, &y, &mut grad).unwrap();
    /// Sgd::new(0.1).step(net.parameters_mut(), &grad);
    /// assert!(net.loss_flat(&x, &y).unwrap() < before);
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::NoLoss`] for a network declared with `loss = none`;
    /// [`BatchError::GradientLength`] if `grad` does not hold one value per
    /// parameter; [`BatchError::Ragged`] if `x` or `y` is not a whole
    /// number of rows; [`BatchError::RowMismatch`] or [`BatchError::Empty`]
    /// as [`Network::gradients_slice`] returns them. `grad` is then left as
    /// it was.
    fn gradients_flat(&self, x: &[T], y: &[T], grad: &mut [T]) -> Result<T, BatchError>;

    /// Backpropagates a gradient you computed, `∂L/∂Ŷ` for the rows of
    /// `x`: adds `∂L/∂θ` into `grad` and, if given, overwrites `grad_x`
    /// with `∂L/∂X`, as [`Network::backward_slice`]. The network's own
    /// loss plays no part, so this is how a `loss = none` network learns.
    ///
    /// ```
    /// use backprop::DynNetwork;
    ///
    /// backprop::network! { Actor = 3 -> tanh(8) -> tanh(1); loss = none }
    ///
    /// let actor: Box<dyn DynNetwork<f32>> = Box::new(Actor::seeded(1));
    /// let mut grad = vec![0.0; actor.param_count()];
    /// let mut grad_x = [0.0; 3];
    /// actor.backward_flat(&[0.5, -0.2, 0.1], &[-1.0], &mut grad, Some(&mut grad_x)).unwrap();
    /// assert!(grad.iter().any(|g| *g != 0.0) && grad_x.iter().any(|g| *g != 0.0));
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::GradientLength`] if `grad` does not hold one value per
    /// parameter; [`BatchError::Ragged`] if `x`, `grad_output` or `grad_x`
    /// is not a whole number of rows; [`BatchError::RowMismatch`] or
    /// [`BatchError::Empty`] as [`Network::backward_slice`] returns them.
    /// `grad` and `grad_x` are then left as they were.
    fn backward_flat(
        &self,
        x: &[T],
        grad_output: &[T],
        grad: &mut [T],
        grad_x: Option<&mut [T]>,
    ) -> Result<(), BatchError>;

    /// One step of training on the rows of `x` and `y` with any optimizer,
    /// as [`Network::train_step_slice`]; returns the loss before the
    /// update.
    ///
    /// ```
    /// use backprop::{Adam, DynNetwork, Optimizer};
    ///
    /// backprop::network! { Net = 2 -> relu(8) -> linear(1); loss = huber }
    ///
    /// let mut net: Box<dyn DynNetwork<f32>> = Box::new(Net::seeded(4));
    /// let mut adam: Box<dyn Optimizer<f32>> = Box::new(Adam::new(0.01));
    /// let (x, y) = ([0.0, 1.0, 1.0, 0.0], [1.0, -1.0]);
    /// let first = net.train_step_flat(&x, &y, &mut *adam).unwrap();
    /// for _ in 0..100 {
    ///     net.train_step_flat(&x, &y, &mut *adam).unwrap();
    /// }
    /// assert!(net.loss_flat(&x, &y).unwrap() < first);
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::NoLoss`] for a network declared with `loss = none`;
    /// [`BatchError::Ragged`] if `x` or `y` is not a whole number of rows;
    /// [`BatchError::RowMismatch`] or [`BatchError::Empty`] as
    /// [`Network::train_step_slice`] returns them. The parameters and the
    /// optimizer are then left as they were.
    ///
    /// # Panics
    ///
    /// As [`Optimizer::step`], if the optimizer keeps state for a different
    /// number of parameters: each network needs an optimizer of its own
    /// once the optimizer has state (momentum, Adam's moments).
    fn train_step_flat(
        &mut self,
        x: &[T],
        y: &[T],
        optimizer: &mut dyn Optimizer<T>,
    ) -> Result<T, BatchError>;

    /// [`train_step_flat`](DynNetwork::train_step_flat), guarded as
    /// [`Network::train_step_slice_checked`] is: if the loss or a gradient
    /// entry is NaN or infinite, the update is not applied.
    ///
    /// ```
    /// use backprop::{BatchError, DynNetwork, Sgd, TrainError};
    ///
    /// backprop::network! { Net = 2 -> sigmoid(3) -> linear(1); loss = mse }
    ///
    /// let mut net: Box<dyn DynNetwork<f32>> = Box::new(Net::seeded(1));
    /// let before = net.parameters().to_vec();
    /// let error = net
    ///     .train_step_flat_checked(&[0.0, f32::NAN], &[1.0], &mut Sgd::new(0.1))
    ///     .unwrap_err();
    /// assert_eq!(
    ///     error,
    ///     TrainError::Batch(BatchError::NonFinite { what: "input", row: 0, column: 1 })
    /// );
    /// assert_eq!(net.parameters(), before);
    /// ```
    ///
    /// # Errors
    ///
    /// The errors of [`train_step_flat`](DynNetwork::train_step_flat) as
    /// [`TrainError::Batch`], and those of
    /// [`Network::train_step_slice_checked`]. The parameters and the
    /// optimizer are then left as they were.
    ///
    /// # Panics
    ///
    /// As [`train_step_flat`](DynNetwork::train_step_flat).
    fn train_step_flat_checked(
        &mut self,
        x: &[T],
        y: &[T],
        optimizer: &mut dyn Optimizer<T>,
    ) -> Result<T, TrainError>;

    /// A copy of the network in a new box; `Box<dyn DynNetwork<T>>` is
    /// [`Clone`] through it.
    ///
    /// ```
    /// use backprop::DynNetwork;
    ///
    /// backprop::network! { Net = 2 -> sigmoid(3) -> linear(1); loss = mse }
    ///
    /// let online: Box<dyn DynNetwork<f32>> = Box::new(Net::seeded(1));
    /// let mut target = online.clone();
    /// target.parameters_mut()[0] += 1.0;
    /// assert_ne!(online.parameters(), target.parameters());
    /// ```
    #[cfg(feature = "alloc")]
    fn clone_boxed<'a>(&self) -> Box<dyn DynNetwork<T> + 'a>
    where
        Self: 'a;
}

/// `values` as rows of `R`, or [`BatchError::Ragged`].
fn rows<'a, T: Float, R: Row<T>>(
    what: &'static str,
    values: &'a [T],
) -> Result<&'a [R], BatchError> {
    R::of_flat(values).ok_or(BatchError::Ragged {
        what,
        len: values.len(),
        width: R::LEN,
    })
}

/// [`rows`], mutable.
fn rows_mut<'a, T: Float, R: Row<T>>(
    what: &'static str,
    values: &'a mut [T],
) -> Result<&'a mut [R], BatchError> {
    let len = values.len();
    R::of_flat_mut(values).ok_or(BatchError::Ragged {
        what,
        len,
        width: R::LEN,
    })
}

/// [`BatchError::NoLoss`] for a network declared with `loss = none`.
fn check_loss<N: Network>() -> Result<(), BatchError> {
    match N::LOSS {
        Some(_) => Ok(()),
        None => Err(BatchError::NoLoss),
    }
}

/// The input and target rows of a batch for the built-in loss, once the
/// network has one ([`check_loss`]).
#[allow(clippy::type_complexity)]
fn labelled<'a, N: Network>(
    x: &'a [N::Float],
    y: &'a [N::Float],
) -> Result<(&'a [N::Input], &'a [N::Target]), BatchError> {
    check_loss::<N>()?;
    Ok((rows("input", x)?, rows("target", y)?))
}

/// [`BatchError::GradientLength`] unless `grad` holds one value per parameter.
fn check_gradient<N: Network>(grad: &[N::Float]) -> Result<(), BatchError> {
    if grad.len() == N::PARAMS {
        Ok(())
    } else {
        Err(BatchError::GradientLength {
            params: N::PARAMS,
            len: grad.len(),
        })
    }
}

impl<N: Network> DynNetwork<N::Float> for N {
    fn inputs(&self) -> usize {
        N::INPUTS
    }

    fn outputs(&self) -> usize {
        N::OUTPUTS
    }

    fn param_count(&self) -> usize {
        N::PARAMS
    }

    fn architecture(&self) -> Architecture {
        Architecture::of::<N>()
    }

    fn parameters(&self) -> &[N::Float] {
        self.params()
    }

    fn parameters_mut(&mut self) -> &mut [N::Float] {
        self.params_mut()
    }

    fn forward_flat(&self, x: &[N::Float], out: &mut [N::Float]) -> Result<(), BatchError> {
        let x = rows::<_, N::Input>("input", x)?;
        let out = rows_mut::<_, N::Output>("output", out)?;
        self.forward_slice(x, out)
    }

    fn loss_flat(&self, x: &[N::Float], y: &[N::Float]) -> Result<N::Float, BatchError> {
        let (x, y) = labelled::<N>(x, y)?;
        self.loss_slice(x, y)
    }

    fn gradients_flat(
        &self,
        x: &[N::Float],
        y: &[N::Float],
        grad: &mut [N::Float],
    ) -> Result<N::Float, BatchError> {
        check_loss::<N>()?;
        check_gradient::<N>(grad)?;
        let (x, y) = labelled::<N>(x, y)?;
        // The passes write the gradient into a network of this type.
        let mut scratch = N::zeros();
        let loss = self.gradients_slice(x, y, &mut scratch)?;
        grad.copy_from_slice(scratch.params());
        Ok(loss)
    }

    fn backward_flat(
        &self,
        x: &[N::Float],
        grad_output: &[N::Float],
        grad: &mut [N::Float],
        grad_x: Option<&mut [N::Float]>,
    ) -> Result<(), BatchError> {
        check_gradient::<N>(grad)?;
        let x = rows::<_, N::Input>("input", x)?;
        let grad_output = rows::<_, N::Output>("output-gradient", grad_output)?;
        let grad_x = match grad_x {
            Some(grad_x) => Some(rows_mut::<_, N::Input>("input-gradient", grad_x)?),
            None => None,
        };
        // `backward_slice` adds into a network of this type: start it from
        // what `grad` holds.
        let mut sum = N::zeros();
        sum.params_mut().copy_from_slice(grad);
        self.backward_slice(x, grad_output, &mut sum, grad_x)?;
        grad.copy_from_slice(sum.params());
        Ok(())
    }

    fn train_step_flat(
        &mut self,
        x: &[N::Float],
        y: &[N::Float],
        optimizer: &mut dyn Optimizer<N::Float>,
    ) -> Result<N::Float, BatchError> {
        let (x, y) = labelled::<N>(x, y)?;
        self.train_step_slice(x, y, optimizer)
    }

    fn train_step_flat_checked(
        &mut self,
        x: &[N::Float],
        y: &[N::Float],
        optimizer: &mut dyn Optimizer<N::Float>,
    ) -> Result<N::Float, TrainError> {
        let (x, y) = labelled::<N>(x, y)?;
        self.train_step_slice_checked(x, y, optimizer)
    }

    #[cfg(feature = "alloc")]
    fn clone_boxed<'a>(&self) -> Box<dyn DynNetwork<N::Float> + 'a>
    where
        Self: 'a,
    {
        Box::new(self.clone())
    }
}

#[cfg(feature = "alloc")]
impl<T: Float> Clone for Box<dyn DynNetwork<T> + '_> {
    fn clone(&self) -> Self {
        (**self).clone_boxed()
    }
}

impl<T: Float> fmt::Debug for dyn DynNetwork<T> + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynNetwork")
            .field("architecture", &format_args!("{}", self.architecture()))
            .finish_non_exhaustive()
    }
}
