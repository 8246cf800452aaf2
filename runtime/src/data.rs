//! Data sets in mini-batches: seeded shuffles, fixed-size batch buffers and
//! a small training loop.
//!
//! A [`DataSet`] pairs input rows with target rows. Each epoch visits every
//! row exactly once, in [`Batch`]es of a compile-time size `B`: the rows are
//! gathered into `[X; B]` and `[Y; B]` arrays, so a full batch goes to the
//! network's `train_step::<B>` with every size known to the compiler. When
//! `B` does not divide the number of rows, the epoch ends with one partial
//! batch of the remaining rows, for the run-time-size `train_step_slice`.
//!
//! Shuffles are reproducible: the order of epoch `e` is a function of the
//! seed and `e` alone ([`shuffle`]), the same on every platform, so a run
//! can be repeated, or resumed at any epoch, exactly.
//!
//! # Writing the loop yourself
//!
//! The loop is yours to write, with any optimizer, schedule, logging or
//! stopping rule:
//!
//! ```
//! use backprop::data::DataSet;
//! use backprop::{Network, Sgd};
//!
//! backprop::network! { Net = 1 -> tanh(8) -> linear(1); loss = mse }
//!
//! let x: Vec<[f32; 1]> = (0..50).map(|i| [i as f32 / 25.0 - 1.0]).collect();
//! let y: Vec<[f32; 1]> = x.iter().map(|[x]| [x * x]).collect();
//! let data = DataSet::new(&x, &y)?;
//!
//! let mut net = Net::seeded(1);
//! let mut sgd = Sgd::new(0.1);
//! let before = net.loss_slice(&x, &y)?;
//! for epoch in 0..200 {
//!     for batch in data.shuffled::<16>(7, epoch) {
//!         // Three full batches of 16 rows, then one partial batch of 2.
//!         if let Some((x, y)) = batch.full() {
//!             net.train_step(x, y, &mut sgd);
//!         } else {
//!             net.train_step_slice(batch.inputs(), batch.targets(), &mut sgd)?;
//!         }
//!     }
//! }
//! assert!(net.loss_slice(&x, &y)? < before / 4.0);
//! # Ok::<(), backprop::BatchError>(())
//! ```
//!
//! [`Batch::train_step`] is that `if`, and [`Trainer`] is that loop with
//! the mean loss of each epoch and a callback that can stop it.
//!
//! # Without an allocator
//!
//! [`DataSet::shuffled`] and [`Trainer`] keep the order of an epoch in a
//! `Vec` (feature `alloc`). [`DataSet::shuffled_in`] writes it to a buffer
//! of yours instead, and [`DataSet::in_order`] needs no buffer at all.
//! Each batch is handed out by value, on the stack; for wide rows in large
//! batches, [`Batches::next_into`] gathers into a batch that stays where
//! you keep it, on the heap for instance, and is reused for every batch.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;
#[cfg(feature = "alloc")]
use core::ops::ControlFlow;
use core::{fmt, iter::FusedIterator};

use rand_core::Rng;

use crate::init::seeded_rng;
use crate::network::check_batch;
use crate::{BatchError, Float, Network, Optimizer, Row};

/// Input rows and their target rows, one target per input: a training or a
/// test set.
///
/// ```
/// use backprop::data::DataSet;
/// use backprop::BatchError;
///
/// let x = [[0.0_f32, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let y = [[1.0_f32], [1.0]];
/// let error = DataSet::new(&x, &y).unwrap_err();
/// assert_eq!(error, BatchError::RowMismatch { what: "target", inputs: 3, rows: 2 });
/// assert_eq!(
///     error.to_string(),
///     "the batch has 3 input rows but 2 target rows; give one row per sample"
/// );
/// ```
#[derive(Debug)]
pub struct DataSet<'a, X, Y> {
    inputs: &'a [X],
    targets: &'a [Y],
}

// Derived `Clone` and `Copy` would require `X: Copy` and `Y: Copy`; the
// data set is two shared slices, copyable whatever the rows are.
impl<X, Y> Clone for DataSet<'_, X, Y> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<X, Y> Copy for DataSet<'_, X, Y> {}

impl<'a, X: Copy, Y: Copy> DataSet<'a, X, Y> {
    /// The data set of `inputs[i]` with target `targets[i]`.
    ///
    /// # Errors
    ///
    /// [`BatchError::RowMismatch`] if the slices differ in length,
    /// [`BatchError::Empty`] if they have no rows, and
    /// [`BatchError::NonFinite`] at the first NaN or infinite value, which
    /// would turn every parameter it reaches into NaN:
    ///
    /// ```
    /// use backprop::data::DataSet;
    ///
    /// let x = [[0.0_f32, 1.0], [2.0, f32::NAN]];
    /// let error = DataSet::new(&x, &[[0.0], [1.0]]).unwrap_err();
    /// assert_eq!(error.to_string(), "input row 1, column 1 is NaN or infinite; use finite values");
    /// ```
    pub fn new<T: Float>(inputs: &'a [X], targets: &'a [Y]) -> Result<Self, BatchError>
    where
        X: Row<T>,
        Y: Row<T>,
    {
        check_batch("target", inputs.len(), targets.len())?;
        non_finite("input", inputs)?;
        non_finite("target", targets)?;
        Ok(Self { inputs, targets })
    }

    /// The number of samples (never zero).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always `false`: [`new`](DataSet::new) refuses an empty data set.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The input rows, in the order given.
    #[must_use]
    pub const fn inputs(&self) -> &'a [X] {
        self.inputs
    }

    /// The target rows, in the order given.
    #[must_use]
    pub const fn targets(&self) -> &'a [Y] {
        self.targets
    }

    /// The number of batches of `B` rows in an epoch, the last one partial
    /// if `B` does not divide [`len`](DataSet::len).
    #[must_use]
    pub const fn batches_per_epoch<const B: usize>(&self) -> usize {
        self.len().div_ceil(B)
    }

    /// Batches of `B` rows in the order given, without shuffling: for
    /// evaluation, or data that is already shuffled. Needs no buffer.
    ///
    /// ```
    /// use backprop::data::DataSet;
    ///
    /// let x = [[0.0_f32], [1.0], [2.0], [3.0], [4.0]];
    /// let data = DataSet::new(&x, &x)?;
    /// let sizes: Vec<usize> = data.in_order::<2>().map(|batch| batch.rows()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub fn in_order<const B: usize>(&self) -> Batches<'a, X, Y, B> {
        Batches::new(*self, Order::Given)
    }

    /// Batches of `B` rows in the shuffled order of epoch `epoch` of `seed`
    /// (see [`shuffle`]). The same seed and epoch give the same batches;
    /// another epoch, another order.
    ///
    /// ```
    /// use backprop::data::DataSet;
    ///
    /// let x: Vec<[f32; 1]> = (0..10).map(|i| [i as f32]).collect();
    /// let data = DataSet::new(&x, &x)?;
    /// let order = |epoch| -> Vec<f32> {
    ///     data.shuffled::<4>(42, epoch).flat_map(|b| b.inputs().to_vec()).map(|[v]| v).collect()
    /// };
    /// assert_eq!(order(0), order(0));
    /// assert_ne!(order(0), order(1));
    /// let mut sorted = order(1);
    /// sorted.sort_by(f32::total_cmp);
    /// assert_eq!(sorted, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn shuffled<const B: usize>(&self, seed: u64, epoch: u64) -> Batches<'a, X, Y, B> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        shuffle(&mut order, seed, epoch);
        Batches::new(*self, Order::Owned(order))
    }

    /// [`shuffled`](DataSet::shuffled) without an allocator: the order is
    /// written to `order`, which must have one entry per sample (whatever
    /// its values: they are overwritten).
    ///
    /// ```
    /// use backprop::data::DataSet;
    ///
    /// let x = [[1.0_f32], [2.0], [3.0]];
    /// let data = DataSet::new(&x, &x)?;
    /// let mut order = [0; 3];
    /// let visited: f32 = data.shuffled_in::<2>(&mut order, 1, 0).map(|b| b.inputs().len() as f32).sum();
    /// assert_eq!(visited, 3.0);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `order.len()` differs from [`len`](DataSet::len).
    #[must_use]
    pub fn shuffled_in<'o, const B: usize>(
        &self,
        order: &'o mut [usize],
        seed: u64,
        epoch: u64,
    ) -> Batches<'o, X, Y, B>
    where
        'a: 'o,
    {
        assert!(
            order.len() == self.len(),
            "the order buffer has {} entries but the data set has {} samples; give it one per sample",
            order.len(),
            self.len()
        );
        for (position, index) in order.iter_mut().enumerate() {
            *index = position;
        }
        shuffle(order, seed, epoch);
        let data = DataSet {
            inputs: self.inputs,
            targets: self.targets,
        };
        Batches::new(data, Order::Borrowed(order))
    }
}

/// Shuffles `items` into the order of epoch `epoch` of `seed`.
///
/// A Fisher–Yates shuffle whose draws come from
/// [`seeded_rng`]`(seed ^ mix(epoch))`, where `mix`
/// is `SplitMix64`'s bijective finaliser: epoch 0 draws from `seeded_rng(seed)`
/// itself, no two epochs of a seed start from the same generator state, and
/// any epoch is reached directly, at no cost. Every permutation is equally
/// likely (indices are drawn without modulo bias), and the order is the
/// same on every platform.
///
/// ```
/// use backprop::data::shuffle;
///
/// let mut a = [1, 2, 3, 4, 5, 6, 7, 8];
/// let mut b = a;
/// shuffle(&mut a, 3, 0);
/// shuffle(&mut b, 3, 0);
/// assert_eq!(a, b);
/// shuffle(&mut b, 3, 1); // shuffling again, with the next epoch's draws
/// assert_ne!(a, b);
/// ```
pub fn shuffle<T>(items: &mut [T], seed: u64, epoch: u64) {
    let mut rng = seeded_rng(seed ^ mix(epoch));
    for last in (1..items.len()).rev() {
        items.swap(last, below(&mut rng, last + 1));
    }
}

/// `SplitMix64`'s finaliser: a bijection of `u64` that scatters nearby
/// values, with `mix(0) = 0`.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw from `0..n` (`n > 0`), without modulo bias: Lemire's
/// multiply-and-reject method.
fn below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    let n = n as u64;
    // Draws whose low product word falls below `2⁶⁴ mod n` would make some
    // results more likely than others; they are drawn again.
    let threshold = n.wrapping_neg() % n;
    loop {
        let product = u128::from(rng.next_u64()) * u128::from(n);
        // Truncation is the point: the low and high 64-bit words of the product.
        #[allow(clippy::cast_possible_truncation)]
        let (low, high) = (product as u64, (product >> 64) as usize);
        if low >= threshold {
            return high;
        }
    }
}

/// Where an epoch's order comes from.
#[derive(Debug)]
enum Order<'o> {
    /// The data set's own order.
    Given,
    /// A caller's buffer ([`DataSet::shuffled_in`]).
    Borrowed(&'o [usize]),
    /// A shuffled order of our own ([`DataSet::shuffled`]).
    #[cfg(feature = "alloc")]
    Owned(Vec<usize>),
}

impl Order<'_> {
    #[inline]
    fn get(&self, position: usize) -> usize {
        match self {
            Self::Given => position,
            Self::Borrowed(order) => order[position],
            #[cfg(feature = "alloc")]
            Self::Owned(order) => order[position],
        }
    }
}

/// The batches of one epoch, from [`DataSet::in_order`],
/// [`DataSet::shuffled`] or [`DataSet::shuffled_in`]: every sample exactly
/// once, in batches of `B` rows and, if `B` does not divide the number of
/// samples, a last partial batch.
#[derive(Debug)]
pub struct Batches<'a, X, Y, const B: usize> {
    data: DataSet<'a, X, Y>,
    order: Order<'a>,
    position: usize,
}

impl<'a, X: Copy, Y: Copy, const B: usize> Batches<'a, X, Y, B> {
    fn new(data: DataSet<'a, X, Y>, order: Order<'a>) -> Self {
        const {
            assert!(
                B > 0,
                "a batch needs at least one row: `B` must be positive"
            );
        }
        Self {
            data,
            order,
            position: 0,
        }
    }

    /// Gathers the next batch into `batch`, overwriting it; `false` at the
    /// end of the epoch.
    ///
    /// The iterator hands out each batch by value, `B` input and target rows
    /// on the stack. That is what a small network wants, but wide rows in
    /// large batches (784 pixels in batches of 128 is 400 KB) can exhaust a
    /// thread's stack in an unoptimised build, which copies the value several
    /// times. Here the batch stays where it is, such as on the heap, and is
    /// reused from one batch to the next:
    ///
    /// ```
    /// use backprop::data::{Batch, DataSet};
    ///
    /// let x = vec![[0.5_f32; 784]; 300];
    /// let y = vec![[0.0_f32; 10]; 300];
    /// let data = DataSet::new(&x, &y)?;
    /// let mut batch = Box::new(Batch::<_, _, 128>::filled(x[0], y[0]));
    /// let mut batches = data.shuffled::<128>(1, 0);
    /// let mut sizes = Vec::new();
    /// while batches.next_into(&mut batch) {
    ///     sizes.push(batch.rows()); // and a training step on `batch`
    /// }
    /// assert_eq!(sizes, [128, 128, 44]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    pub fn next_into(&mut self, batch: &mut Batch<X, Y, B>) -> bool {
        let start = self.position;
        let rows = (self.data.len() - start).min(B);
        if rows == 0 {
            return false;
        }
        self.position += rows;
        for k in 0..rows {
            let index = self.order.get(start + k);
            batch.inputs[k] = self.data.inputs[index];
            batch.targets[k] = self.data.targets[index];
        }
        batch.rows = rows;
        true
    }
}

impl<X: Copy, Y: Copy, const B: usize> Iterator for Batches<'_, X, Y, B> {
    type Item = Batch<X, Y, B>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.position;
        let rows = self.data.len().checked_sub(start)?.min(B);
        if rows == 0 {
            return None;
        }
        self.position += rows;
        // A partial batch's unused rows repeat its last row; they are never
        // exposed, but keep the arrays fully initialised without `X: Default`.
        let index = |k: usize| self.order.get(start + k.min(rows - 1));
        Some(Batch {
            inputs: core::array::from_fn(|k| self.data.inputs[index(k)]),
            targets: core::array::from_fn(|k| self.data.targets[index(k)]),
            rows,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.data.len() - self.position).div_ceil(B);
        (left, Some(left))
    }
}

impl<X: Copy, Y: Copy, const B: usize> ExactSizeIterator for Batches<'_, X, Y, B> {}

impl<X: Copy, Y: Copy, const B: usize> FusedIterator for Batches<'_, X, Y, B> {}

/// Up to `B` samples gathered from a [`DataSet`]: a full batch, for the
/// compile-time-size methods (`train_step::<B>`), or the last, partial
/// batch of an epoch, for the run-time-size ones (`train_step_slice`).
#[derive(Clone, Copy)]
pub struct Batch<X, Y, const B: usize> {
    inputs: [X; B],
    targets: [Y; B],
    rows: usize,
}

impl<X: fmt::Debug, Y: fmt::Debug, const B: usize> fmt::Debug for Batch<X, Y, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("inputs", &&self.inputs[..self.rows])
            .field("targets", &&self.targets[..self.rows])
            .finish()
    }
}

impl<X: Copy, Y: Copy, const B: usize> Batch<X, Y, B> {
    /// A full batch of `B` copies of one sample: storage for
    /// [`Batches::next_into`] to overwrite.
    #[must_use]
    pub const fn filled(input: X, target: Y) -> Self {
        Self {
            inputs: [input; B],
            targets: [target; B],
            rows: B,
        }
    }
}

impl<X, Y, const B: usize> Batch<X, Y, B> {
    /// The number of samples, from 1 to `B`.
    #[must_use]
    pub const fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the batch has all `B` rows.
    #[must_use]
    pub const fn is_full(&self) -> bool {
        self.rows == B
    }

    /// The input rows, [`rows`](Batch::rows) of them.
    #[must_use]
    pub fn inputs(&self) -> &[X] {
        &self.inputs[..self.rows]
    }

    /// The target rows, one per input row.
    #[must_use]
    pub fn targets(&self) -> &[Y] {
        &self.targets[..self.rows]
    }

    /// The inputs and targets as `B`-row arrays, if the batch is full.
    #[must_use]
    pub const fn full(&self) -> Option<(&[X; B], &[Y; B])> {
        if self.is_full() {
            Some((&self.inputs, &self.targets))
        } else {
            None
        }
    }

    /// One training step on this batch: [`Network::train_step`] if it is
    /// full, [`Network::train_step_slice`] if not. Returns the batch's mean
    /// loss before the update.
    ///
    /// ```
    /// use backprop::data::DataSet;
    /// use backprop::{Network, Sgd};
    ///
    /// backprop::network! { Net = 2 -> relu(4) -> linear(1); loss = mse }
    ///
    /// let x = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let y = [[1.0], [1.0], [2.0]];
    /// let mut net = Net::seeded(1);
    /// let mut sgd = Sgd::new(0.05);
    /// for batch in DataSet::new(&x, &y)?.in_order::<2>() {
    ///     let loss = batch.train_step(&mut net, &mut sgd);
    ///     assert!(loss.is_finite());
    /// }
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Never for a batch from [`Batches`], which is never empty and has one
    /// target per input.
    pub fn train_step<N, O>(&self, network: &mut N, optimizer: &mut O) -> N::Float
    where
        N: Network<Input = X, Target = Y>,
        O: Optimizer<N::Float> + ?Sized,
    {
        match self.full() {
            Some((x, y)) => network.train_step(x, y, optimizer),
            None => network
                .train_step_slice(self.inputs(), self.targets(), optimizer)
                .expect("a batch is never empty and has one target per input"),
        }
    }

    /// The batch's mean loss: [`Network::loss`] if it is full,
    /// [`Network::loss_slice`] if not.
    ///
    /// # Panics
    ///
    /// Never for a batch from [`Batches`], as for [`train_step`](Batch::train_step).
    #[must_use]
    pub fn loss<N>(&self, network: &N) -> N::Float
    where
        N: Network<Input = X, Target = Y>,
    {
        match self.full() {
            Some((x, y)) => network.loss(x, y),
            None => network
                .loss_slice(self.inputs(), self.targets())
                .expect("a batch is never empty and has one target per input"),
        }
    }
}

/// A training loop over shuffled mini-batches of `B` rows: for each epoch,
/// the batches of [`DataSet::shuffled`] with the seed and the epoch's
/// number, one [`Batch::train_step`] each, then an optional callback that
/// sees the epoch's mean loss and may stop the loop.
///
/// ```
/// use std::ops::ControlFlow;
///
/// use backprop::data::{DataSet, Trainer};
/// use backprop::{Adam, Network};
///
/// backprop::network! { Net = 2 -> tanh(8) -> linear(1); loss = mse }
///
/// let x: Vec<[f32; 2]> = (0..40).map(|i| [(i % 8) as f32 / 4.0 - 1.0, (i / 8) as f32 / 2.0 - 1.0]).collect();
/// let y: Vec<[f32; 1]> = x.iter().map(|[a, b]| [a * b]).collect();
/// let data = DataSet::new(&x, &y)?;
///
/// let mut net = Net::seeded(3);
/// let mut adam = Adam::new(0.01);
/// let losses = Trainer::<8>::new(500).seed(1).run_with(&mut net, &mut adam, &data, |end| {
///     if end.mean_loss < 1e-3 {
///         return ControlFlow::Break(()); // good enough: stop early
///     }
///     if end.epoch == 250 {
///         end.optimizer.learning_rate /= 2.0; // a schedule: halve the rate
///     }
///     ControlFlow::Continue(())
/// });
/// assert!(losses.len() < 500, "stopped early");
/// assert!(*losses.last().unwrap() < 1e-3);
/// # Ok::<(), backprop::BatchError>(())
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trainer<const B: usize> {
    /// The number of epochs to run, unless the callback stops sooner.
    pub epochs: u64,
    /// The seed of the shuffles; default `0`.
    pub seed: u64,
}

/// What a [`Trainer`]'s callback sees at the end of each epoch.
#[cfg(feature = "alloc")]
#[derive(Debug)]
pub struct EpochEnd<'a, N: Network, O: ?Sized> {
    /// The epoch that just ended, counting from 0.
    pub epoch: u64,
    /// The number of epochs the loop was asked to run.
    pub epochs: u64,
    /// The mean over the epoch's samples of the loss each batch had before
    /// its update.
    pub mean_loss: N::Float,
    /// The network, after the epoch's updates: evaluate it on a test set.
    pub network: &'a N,
    /// The optimizer, to change its learning rate between epochs.
    pub optimizer: &'a mut O,
}

#[cfg(feature = "alloc")]
impl<const B: usize> Trainer<B> {
    /// A loop of `epochs` epochs with seed `0`.
    #[must_use]
    pub const fn new(epochs: u64) -> Self {
        Self { epochs, seed: 0 }
    }

    /// Sets the seed of the shuffles.
    #[must_use]
    pub const fn seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// Trains `network` on `data` with `optimizer` for every epoch; returns
    /// each epoch's mean loss.
    ///
    /// ```
    /// use backprop::data::{DataSet, Trainer};
    /// use backprop::Sgd;
    ///
    /// backprop::network! { Net = 1 -> linear(1); loss = mse }
    ///
    /// let x = [[0.0_f32], [1.0], [2.0], [3.0], [4.0]];
    /// let y = [[1.0_f32], [3.0], [5.0], [7.0], [9.0]];
    /// let mut net = Net::seeded(1);
    /// let losses = Trainer::<2>::new(300).run(&mut net, &mut Sgd::new(0.02), &DataSet::new(&x, &y)?);
    /// assert_eq!(losses.len(), 300);
    /// assert!(losses[299] < 1e-4 && losses[299] < losses[0]);
    /// assert!((net.w1()[0][0] - 2.0).abs() < 0.01); // y = 2x + 1
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    pub fn run<N, O>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
    ) -> Vec<N::Float>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
    {
        self.run_with(network, optimizer, data, |_| ControlFlow::Continue(()))
    }

    /// [`run`](Trainer::run), calling `on_epoch` after each epoch; the loop
    /// stops early when it returns [`ControlFlow::Break`]. Returns the mean
    /// loss of each epoch that ran.
    pub fn run_with<N, O, F>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
        mut on_epoch: F,
    ) -> Vec<N::Float>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
        F: FnMut(EpochEnd<'_, N, O>) -> ControlFlow<()>,
    {
        let mut losses = Vec::new();
        let samples = N::Float::from_usize(data.len());
        for epoch in 0..self.epochs {
            let mut total = N::Float::ZERO;
            for batch in data.shuffled::<B>(self.seed, epoch) {
                let loss = batch.train_step(network, optimizer);
                total += loss * N::Float::from_usize(batch.rows());
            }
            let mean_loss = total / samples;
            losses.push(mean_loss);
            let end = EpochEnd {
                epoch,
                epochs: self.epochs,
                mean_loss,
                network,
                optimizer,
            };
            if on_epoch(end).is_break() {
                break;
            }
        }
        losses
    }
}

/// [`BatchError::NonFinite`] at the first NaN or infinite value of `rows`.
fn non_finite<T: Float, R: Row<T>>(what: &'static str, rows: &[R]) -> Result<(), BatchError> {
    for (row, values) in rows.iter().enumerate() {
        if let Some(column) = values.as_ref().iter().position(|value| !value.is_finite()) {
            return Err(BatchError::NonFinite { what, row, column });
        }
    }
    Ok(())
}
