//! Data sets in mini-batches: seeded shuffles, fixed-size batch buffers and
//! a small training loop; and the helpers around them, from the file to the
//! score.
//!
//! | helper | what it does | feature |
//! | --- | --- | --- |
//! | `Table` | reads a CSV file's numeric columns into rows `[T; N]` and a class column into labels, with `Classes` and one-hot rows | `csv` |
//! | [`Standardiser`] | each column's mean and population standard deviation, applied and inverted; saved with the weights by `io::save_with_standardiser` | none |
//! | `split`, `split_stratified` | a seeded train/test split, optionally keeping each class's share | `alloc` |
//! | [`argmax`], [`accuracy`], [`ConfusionMatrix`] | the predicted class, how often it is right, and per class | none |
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
//! [`Trainer::run_checked`] guards each step against a NaN or infinite loss
//! or gradient, stopping at or skipping the batch ([`OnNonFinite`]).
//!
//! # A batch size chosen at run time
//!
//! When the batch size comes from a configuration file or the command line,
//! [`DataSet::shuffled_batches`] gathers each batch into buffers of its own
//! and lends it out as slices, for the run-time-size `train_step_slice`, and
//! [`DynamicTrainer`] is [`Trainer`] with its batch size a value. A seed
//! visits the same samples in the same order whichever way the size is
//! given, so the two train the same network, up to rounding:
//!
//! ```
//! use std::num::NonZeroUsize;
//!
//! use backprop::data::{DataSet, DynamicTrainer};
//! use backprop::Adam;
//!
//! backprop::network! { Net = 1 -> tanh(8) -> linear(1); loss = mse }
//!
//! // `cargo run -- 16` trains in batches of 16; with no argument, of 32.
//! let batch_size: NonZeroUsize = match std::env::args().nth(1) {
//!     Some(arg) => arg.parse().map_err(|e| format!("the batch size `{arg}`: {e}"))?,
//!     None => NonZeroUsize::new(32).unwrap(),
//! };
//! # let batch_size = NonZeroUsize::new(16).unwrap(); // a doc test's arguments are the test runner's
//! let x: Vec<[f32; 1]> = (0..200).map(|i| [i as f32 / 100.0 - 1.0]).collect();
//! let y: Vec<[f32; 1]> = x.iter().map(|[x]| [x * x]).collect();
//! let data = DataSet::new(&x, &y)?;
//!
//! let mut net = Net::seeded(1);
//! let losses = DynamicTrainer::new(100, batch_size).seed(7).run(&mut net, &mut Adam::new(0.01), &data);
//! println!("batches of {batch_size}: loss {} after {} epochs", losses[99], losses.len());
//! assert!(losses[99] < losses[0] / 10.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
use core::num::NonZeroUsize;
#[cfg(feature = "alloc")]
use core::ops::ControlFlow;
use core::{fmt, iter::FusedIterator};

use rand_core::Rng;

mod metrics;
#[cfg(feature = "alloc")]
mod split;
mod standardise;
#[cfg(feature = "csv")]
mod table;

pub use metrics::{ConfusionMatrix, Labelled, accuracy, argmax};
#[cfg(feature = "alloc")]
pub use split::{Split, SplitError, split, split_stratified};
pub use standardise::{Standardiser, StandardiserError};
#[cfg(feature = "csv")]
pub use table::{Classes, CsvError, CsvErrorKind, Table};

#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::init::seeded_rng;
use crate::network::{check_batch, non_finite};
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

    /// The batches of epoch `epoch` of `seed` in batches of `batch_size`
    /// rows, a size known only at run time: the same samples in the same
    /// order as [`shuffled::<B>`](DataSet::shuffled) with `B = batch_size`.
    ///
    /// Each batch is gathered into buffers the batches own and lent out by
    /// [`ShuffledBatches::next_batch`] as slices, for the network's
    /// `*_slice` methods. [`ShuffledBatches::restart`] begins another epoch
    /// in the same buffers, so a whole run allocates only here.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::DataSet;
    ///
    /// let x: Vec<[f32; 1]> = (0..10).map(|i| [i as f32]).collect();
    /// let data = DataSet::new(&x, &x)?;
    /// let mut batches = data.shuffled_batches(NonZeroUsize::new(4).unwrap(), 42, 0);
    /// let mut run_time = Vec::new();
    /// while let Some((inputs, _targets)) = batches.next_batch() {
    ///     run_time.push(inputs.to_vec());
    /// }
    /// let compile_time: Vec<_> = data.shuffled::<4>(42, 0).map(|b| b.inputs().to_vec()).collect();
    /// assert_eq!(run_time, compile_time);
    /// assert_eq!(run_time.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn shuffled_batches(
        &self,
        batch_size: NonZeroUsize,
        seed: u64,
        epoch: u64,
    ) -> ShuffledBatches<'a, X, Y> {
        let batch_size = batch_size.get();
        // Never more rows than the data set has: a batch size of a million
        // for a hundred samples reserves a hundred rows.
        let capacity = batch_size.min(self.len());
        let mut batches = ShuffledBatches {
            data: *self,
            order: (0..self.len()).collect(),
            batch_size,
            position: 0,
            inputs: Vec::with_capacity(capacity),
            targets: Vec::with_capacity(capacity),
        };
        batches.restart(seed, epoch);
        batches
    }
}

/// The batches of one epoch with a batch size known only at run time, from
/// [`DataSet::shuffled_batches`]: every sample exactly once, in batches of
/// [`batch_size`](ShuffledBatches::batch_size) rows and, if that does not
/// divide the number of samples, a last partial batch.
///
/// Not an [`Iterator`]: each batch is lent out of buffers the batches keep
/// and reuse, so it lives until the next call of
/// [`next_batch`](ShuffledBatches::next_batch).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug)]
pub struct ShuffledBatches<'a, X, Y> {
    data: DataSet<'a, X, Y>,
    order: Vec<usize>,
    batch_size: usize,
    position: usize,
    inputs: Vec<X>,
    targets: Vec<Y>,
}

#[cfg(feature = "alloc")]
impl<X: Copy, Y: Copy> ShuffledBatches<'_, X, Y> {
    /// The next batch's input and target rows, one target per input, or
    /// `None` at the end of the epoch. Allocates nothing.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::DataSet;
    /// use backprop::{Network, Sgd};
    ///
    /// backprop::network! { Net = 2 -> relu(4) -> linear(1); loss = mse }
    ///
    /// let x = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let y = [[1.0], [1.0], [2.0]];
    /// let mut net = Net::seeded(1);
    /// let mut sgd = Sgd::new(0.05);
    /// let mut batches = DataSet::new(&x, &y)?.shuffled_batches(NonZeroUsize::new(2).unwrap(), 5, 0);
    /// while let Some((x, y)) = batches.next_batch() {
    ///     let loss = net.train_step_slice(x, y, &mut sgd)?;
    ///     assert!(loss.is_finite());
    /// }
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    pub fn next_batch(&mut self) -> Option<(&[X], &[Y])> {
        let start = self.position;
        let rows = (self.data.len() - start).min(self.batch_size);
        if rows == 0 {
            return None;
        }
        self.position += rows;
        self.inputs.clear();
        self.targets.clear();
        for &index in &self.order[start..start + rows] {
            self.inputs.push(self.data.inputs[index]);
            self.targets.push(self.data.targets[index]);
        }
        Some((&self.inputs, &self.targets))
    }

    /// Begins epoch `epoch` of `seed` in the same buffers, allocating
    /// nothing: the batches are then those of
    /// [`DataSet::shuffled_batches`]`(batch_size, seed, epoch)`.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::DataSet;
    ///
    /// let x: Vec<[f32; 1]> = (0..6).map(|i| [i as f32]).collect();
    /// let data = DataSet::new(&x, &x)?;
    /// let three = NonZeroUsize::new(3).unwrap();
    /// let first = |batches: &mut backprop::data::ShuffledBatches<_, _>| batches.next_batch().unwrap().0.to_vec();
    /// let mut batches = data.shuffled_batches(three, 9, 0);
    /// batches.restart(9, 4);
    /// assert_eq!(first(&mut batches), first(&mut data.shuffled_batches(three, 9, 4)));
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    pub fn restart(&mut self, seed: u64, epoch: u64) {
        for (position, index) in self.order.iter_mut().enumerate() {
            *index = position;
        }
        shuffle(&mut self.order, seed, epoch);
        self.position = 0;
    }

    /// The number of rows of every batch but perhaps the last.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::DataSet;
    ///
    /// let x = [[0.0_f32]; 10];
    /// let batches = DataSet::new(&x, &x)?.shuffled_batches(NonZeroUsize::new(4).unwrap(), 0, 0);
    /// assert_eq!((batches.batch_size(), batches.batches_per_epoch()), (4, 3)); // 4 + 4 + 2
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub const fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The number of batches in an epoch, the last one partial if the
    /// batch size does not divide the number of samples.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::DataSet;
    ///
    /// let x = [[0.0_f32]; 10];
    /// let data = DataSet::new(&x, &x)?;
    /// let per_epoch = |n| data.shuffled_batches(NonZeroUsize::new(n).unwrap(), 0, 0).batches_per_epoch();
    /// assert_eq!([per_epoch(1), per_epoch(5), per_epoch(6), per_epoch(99)], [10, 2, 2, 1]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub const fn batches_per_epoch(&self) -> usize {
        self.data.len().div_ceil(self.batch_size)
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
        on_epoch: F,
    ) -> Vec<N::Float>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
        F: FnMut(EpochEnd<'_, N, O>) -> ControlFlow<()>,
    {
        let mut steps = CompileTimeSteps::<_, _, B> {
            data: *data,
            seed: self.seed,
            batches: None,
        };
        let training = run_epochs(
            self.epochs,
            &mut steps,
            network,
            optimizer,
            data,
            None,
            on_epoch,
        );
        unguarded(training)
    }

    /// [`run`](Trainer::run), guarded: every step is
    /// [`train_step_checked`](Network::train_step_checked) (or its
    /// run-time-size form for the last, partial batch), so a NaN or
    /// infinite loss or gradient never reaches the parameters. The
    /// offending batch then stops the loop or is skipped, as
    /// `on_non_finite` says.
    ///
    /// ```
    /// use backprop::data::{DataSet, OnNonFinite, Trainer};
    /// use backprop::{Network, Sgd, TrainError};
    ///
    /// backprop::network! { Net = 1 -> linear(1); loss = mse }
    ///
    /// // Sample 3's target is finite, but its squared error overflows `f32`.
    /// let x = [[0.0_f32], [1.0], [2.0], [3.0], [4.0], [5.0]];
    /// let y = [[1.0_f32], [3.0], [5.0], [1e30], [9.0], [11.0]];
    /// let data = DataSet::new(&x, &y)?;
    ///
    /// let mut net = Net::seeded(1);
    /// let stop = Trainer::<2>::new(10).run_checked(&mut net, &mut Sgd::new(0.01), &data, OnNonFinite::Stop);
    /// let stopped = stop.unwrap_err();
    /// assert_eq!(stopped.epoch, 0); // the first epoch meets it
    /// assert!(matches!(stopped.error, TrainError::NonFiniteLoss { .. }));
    /// assert!(net.params().iter().all(|p| p.is_finite()));
    ///
    /// let mut net = Net::seeded(1);
    /// let skip = Trainer::<2>::new(10).run_checked(&mut net, &mut Sgd::new(0.01), &data, OnNonFinite::Skip)?;
    /// assert_eq!(skip.losses.len(), 10);
    /// assert_eq!(skip.skipped.len(), 10); // one batch of each epoch holds sample 3
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// With [`OnNonFinite::Stop`], the [`StepFailure`] naming the epoch and
    /// batch whose step was refused and why; the network and the optimizer
    /// are then as they were after the step before.
    pub fn run_checked<N, O>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
        on_non_finite: OnNonFinite,
    ) -> Result<Training<N::Float>, StepFailure>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
    {
        self.run_checked_with(network, optimizer, data, on_non_finite, |_| {
            ControlFlow::Continue(())
        })
    }

    /// [`run_checked`](Trainer::run_checked), calling `on_epoch` after each
    /// epoch as [`run_with`](Trainer::run_with) does.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    ///
    /// use backprop::data::{DataSet, OnNonFinite, Trainer};
    /// use backprop::Sgd;
    ///
    /// backprop::network! { Net = 1 -> linear(1); loss = mse }
    ///
    /// let x = [[0.0_f32], [1.0], [2.0]];
    /// let y = [[1.0_f32], [3.0], [5.0]];
    /// let data = DataSet::new(&x, &y)?;
    /// let mut net = Net::seeded(1);
    /// let training = Trainer::<2>::new(50).run_checked_with(&mut net, &mut Sgd::new(0.01), &data, OnNonFinite::Stop, |end| {
    ///     if end.epoch == 9 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    /// })?;
    /// assert_eq!(training.losses.len(), 10);
    /// assert!(training.skipped.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run_checked`](Trainer::run_checked).
    pub fn run_checked_with<N, O, F>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
        on_non_finite: OnNonFinite,
        on_epoch: F,
    ) -> Result<Training<N::Float>, StepFailure>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
        F: FnMut(EpochEnd<'_, N, O>) -> ControlFlow<()>,
    {
        let mut steps = CompileTimeSteps::<_, _, B> {
            data: *data,
            seed: self.seed,
            batches: None,
        };
        let guard = Some(on_non_finite);
        run_epochs(
            self.epochs,
            &mut steps,
            network,
            optimizer,
            data,
            guard,
            on_epoch,
        )
    }
}

/// [`Trainer`] with a batch size chosen at run time, read from a
/// configuration or the command line: for each epoch, the batches of
/// [`DataSet::shuffled_batches`] with the seed and the epoch's number, one
/// [`train_step_slice`](Network::train_step_slice) each.
///
/// A separate type rather than a field of [`Trainer`], whose batch size is
/// part of its type so that full batches compile for that size. The same
/// seed visits the same samples in the same order as `Trainer::<B>`, so the
/// two train the same network up to rounding (the run-time path sums the
/// gradient over chunks of rows). The buffers are made once per run: the
/// steps allocate nothing.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::ops::ControlFlow;
///
/// use backprop::data::{DataSet, DynamicTrainer};
/// use backprop::Adam;
///
/// backprop::network! { Net = 2 -> tanh(8) -> linear(1); loss = mse }
///
/// let x: Vec<[f32; 2]> = (0..40).map(|i| [(i % 8) as f32 / 4.0 - 1.0, (i / 8) as f32 / 2.0 - 1.0]).collect();
/// let y: Vec<[f32; 1]> = x.iter().map(|[a, b]| [a * b]).collect();
/// let data = DataSet::new(&x, &y)?;
///
/// let batch_size: NonZeroUsize = "8".parse()?; // from a configuration, say
/// let mut net = Net::seeded(3);
/// let losses = DynamicTrainer::new(500, batch_size).seed(1).run_with(&mut net, &mut Adam::new(0.01), &data, |end| {
///     if end.mean_loss < 1e-3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
/// });
/// assert!(losses.len() < 500, "stopped early");
///
/// // Zero is not a batch size: the error says so before training starts.
/// assert!("0".parse::<NonZeroUsize>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynamicTrainer {
    /// The number of epochs to run, unless the callback stops sooner.
    pub epochs: u64,
    /// The seed of the shuffles; default `0`.
    pub seed: u64,
    /// The number of rows of every batch but perhaps the last of an epoch.
    pub batch_size: NonZeroUsize,
}

#[cfg(feature = "alloc")]
impl DynamicTrainer {
    /// A loop of `epochs` epochs in batches of `batch_size` rows, with
    /// seed `0`. A zero batch size cannot be given: parse the size as a
    /// [`NonZeroUsize`], whose error says that zero is refused.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::DynamicTrainer;
    ///
    /// let trainer = DynamicTrainer::new(10, NonZeroUsize::new(32).unwrap()).seed(4);
    /// assert_eq!((trainer.epochs, trainer.seed, trainer.batch_size.get()), (10, 4, 32));
    /// ```
    #[must_use]
    pub const fn new(epochs: u64, batch_size: NonZeroUsize) -> Self {
        Self {
            epochs,
            seed: 0,
            batch_size,
        }
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
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::{DataSet, DynamicTrainer};
    /// use backprop::Sgd;
    ///
    /// backprop::network! { Net = 1 -> linear(1); loss = mse }
    ///
    /// let x = [[0.0_f32], [1.0], [2.0], [3.0], [4.0]];
    /// let y = [[1.0_f32], [3.0], [5.0], [7.0], [9.0]];
    /// let mut net = Net::seeded(1);
    /// let trainer = DynamicTrainer::new(300, NonZeroUsize::new(2).unwrap());
    /// let losses = trainer.run(&mut net, &mut Sgd::new(0.02), &DataSet::new(&x, &y)?);
    /// assert!(losses[299] < 1e-4);
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

    /// [`run`](DynamicTrainer::run), calling `on_epoch` after each epoch
    /// as [`Trainer::run_with`] does (see the example of [`DynamicTrainer`]).
    pub fn run_with<N, O, F>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
        on_epoch: F,
    ) -> Vec<N::Float>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
        F: FnMut(EpochEnd<'_, N, O>) -> ControlFlow<()>,
    {
        let mut steps = RunTimeSteps {
            batches: data.shuffled_batches(self.batch_size, self.seed, 0),
            seed: self.seed,
        };
        let training = run_epochs(
            self.epochs,
            &mut steps,
            network,
            optimizer,
            data,
            None,
            on_epoch,
        );
        unguarded(training)
    }

    /// [`run`](DynamicTrainer::run), guarded as [`Trainer::run_checked`]
    /// is, each step a
    /// [`train_step_slice_checked`](Network::train_step_slice_checked).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// use backprop::data::{DataSet, DynamicTrainer, OnNonFinite};
    /// use backprop::Sgd;
    ///
    /// backprop::network! { Net = 1 -> linear(1); loss = mse }
    ///
    /// let x = [[0.0_f32], [1.0], [2.0], [3.0]];
    /// let y = [[1.0_f32], [1e30], [5.0], [7.0]]; // 1e30² overflows f32
    /// let mut net = Net::seeded(1);
    /// let trainer = DynamicTrainer::new(3, NonZeroUsize::new(4).unwrap());
    /// let stopped = trainer.run_checked(&mut net, &mut Sgd::new(0.01), &DataSet::new(&x, &y)?, OnNonFinite::Stop).unwrap_err();
    /// assert_eq!((stopped.epoch, stopped.batch), (0, 0));
    /// assert_eq!(net.params(), Net::seeded(1).params()); // untouched
    /// # use backprop::Network;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Trainer::run_checked`].
    pub fn run_checked<N, O>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
        on_non_finite: OnNonFinite,
    ) -> Result<Training<N::Float>, StepFailure>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
    {
        self.run_checked_with(network, optimizer, data, on_non_finite, |_| {
            ControlFlow::Continue(())
        })
    }

    /// [`run_checked`](DynamicTrainer::run_checked), calling `on_epoch`
    /// after each epoch as [`Trainer::run_with`] does.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::ops::ControlFlow;
    ///
    /// use backprop::data::{DataSet, DynamicTrainer, OnNonFinite};
    /// use backprop::Sgd;
    ///
    /// backprop::network! { Net = 1 -> linear(1); loss = mse }
    ///
    /// let x = [[0.0_f32], [1.0], [2.0]];
    /// let y = [[1.0_f32], [3.0], [5.0]];
    /// let mut net = Net::seeded(1);
    /// let trainer = DynamicTrainer::new(50, NonZeroUsize::new(2).unwrap());
    /// let data = DataSet::new(&x, &y)?;
    /// let training = trainer.run_checked_with(&mut net, &mut Sgd::new(0.01), &data, OnNonFinite::Skip, |end| {
    ///     if end.epoch == 4 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    /// })?;
    /// assert_eq!(training.losses.len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Trainer::run_checked`].
    pub fn run_checked_with<N, O, F>(
        &self,
        network: &mut N,
        optimizer: &mut O,
        data: &DataSet<'_, N::Input, N::Target>,
        on_non_finite: OnNonFinite,
        on_epoch: F,
    ) -> Result<Training<N::Float>, StepFailure>
    where
        N: Network,
        O: Optimizer<N::Float> + ?Sized,
        F: FnMut(EpochEnd<'_, N, O>) -> ControlFlow<()>,
    {
        let mut steps = RunTimeSteps {
            batches: data.shuffled_batches(self.batch_size, self.seed, 0),
            seed: self.seed,
        };
        let guard = Some(on_non_finite);
        run_epochs(
            self.epochs,
            &mut steps,
            network,
            optimizer,
            data,
            guard,
            on_epoch,
        )
    }
}

/// What a guarded training loop ([`Trainer::run_checked`],
/// [`DynamicTrainer::run_checked`]) does with a batch whose loss or
/// gradient is NaN or infinite. Either way, that batch's update is not
/// applied.
///
/// ```
/// use backprop::data::OnNonFinite;
///
/// assert_ne!(OnNonFinite::Stop, OnNonFinite::Skip);
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnNonFinite {
    /// End the loop with a [`StepFailure`], leaving the network as it was
    /// after the last good step.
    Stop,
    /// Leave the batch out, note it in [`Training::skipped`] and go on.
    Skip,
}

/// What a guarded training loop returns when it finishes: the mean loss of
/// each epoch that ran and the batches it skipped.
///
/// ```
/// use backprop::data::{DataSet, OnNonFinite, Trainer};
/// use backprop::Sgd;
///
/// backprop::network! { Net = 1 -> linear(1); loss = mse }
///
/// let x = [[0.0_f32], [1.0]];
/// let training = Trainer::<1>::new(3).run_checked(&mut Net::seeded(1), &mut Sgd::new(0.1), &DataSet::new(&x, &x)?, OnNonFinite::Skip)?;
/// assert_eq!(training.losses.len(), 3);
/// assert!(training.skipped.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct Training<T> {
    /// Each epoch's mean loss over the samples of the batches it trained
    /// on (NaN for an epoch whose every batch was skipped).
    pub losses: Vec<T>,
    /// The batches left out, in the order met ([`OnNonFinite::Skip`]).
    pub skipped: Vec<StepFailure>,
}

/// A training step a guarded loop refused: the batch, counting epochs and
/// batches from 0, and why. The error of [`OnNonFinite::Stop`], and an entry
/// of [`Training::skipped`] with [`OnNonFinite::Skip`].
///
/// ```
/// use backprop::data::StepFailure;
/// use backprop::TrainError;
///
/// let failure = StepFailure { epoch: 3, batch: 7, error: TrainError::NonFiniteLoss { loss: f64::INFINITY } };
/// assert_eq!(
///     failure.to_string(),
///     "epoch 3, batch 7 (from 0): the loss is inf; the update was not applied"
/// );
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepFailure {
    /// The epoch, from 0.
    pub epoch: u64,
    /// The batch within the epoch, from 0.
    pub batch: usize,
    /// Why its update was not applied.
    pub error: TrainError,
}

#[cfg(feature = "alloc")]
impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {}, batch {} (from 0): {}",
            self.epoch, self.batch, self.error
        )
    }
}

#[cfg(feature = "alloc")]
impl core::error::Error for StepFailure {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// One epoch's batches, stepped one at a time: the part in which the
/// compile-time and run-time trainers differ.
#[cfg(feature = "alloc")]
trait EpochSteps<N: Network> {
    /// Begins epoch `epoch`.
    fn start(&mut self, epoch: u64);

    /// One training step on the next batch, guarded if `checked`: its rows
    /// and the step's result, or `None` at the end of the epoch.
    fn step<O: Optimizer<N::Float> + ?Sized>(
        &mut self,
        network: &mut N,
        optimizer: &mut O,
        checked: bool,
    ) -> Option<(usize, Result<N::Float, TrainError>)>;
}

/// [`Trainer`]'s batches: full ones stepped at the compile-time size `B`.
#[cfg(feature = "alloc")]
struct CompileTimeSteps<'a, X, Y, const B: usize> {
    data: DataSet<'a, X, Y>,
    seed: u64,
    batches: Option<Batches<'a, X, Y, B>>,
}

#[cfg(feature = "alloc")]
impl<N: Network, const B: usize> EpochSteps<N> for CompileTimeSteps<'_, N::Input, N::Target, B> {
    fn start(&mut self, epoch: u64) {
        self.batches = Some(self.data.shuffled::<B>(self.seed, epoch));
    }

    fn step<O: Optimizer<N::Float> + ?Sized>(
        &mut self,
        network: &mut N,
        optimizer: &mut O,
        checked: bool,
    ) -> Option<(usize, Result<N::Float, TrainError>)> {
        let batch = self.batches.as_mut()?.next()?;
        let result = match (checked, batch.full()) {
            (false, _) => Ok(batch.train_step(network, optimizer)),
            (true, Some((x, y))) => network.train_step_checked(x, y, optimizer),
            (true, None) => {
                network.train_step_slice_checked(batch.inputs(), batch.targets(), optimizer)
            }
        };
        Some((batch.rows(), result))
    }
}

/// [`DynamicTrainer`]'s batches, all stepped at run-time size.
#[cfg(feature = "alloc")]
struct RunTimeSteps<'a, X, Y> {
    batches: ShuffledBatches<'a, X, Y>,
    seed: u64,
}

#[cfg(feature = "alloc")]
impl<N: Network> EpochSteps<N> for RunTimeSteps<'_, N::Input, N::Target> {
    fn start(&mut self, epoch: u64) {
        self.batches.restart(self.seed, epoch);
    }

    fn step<O: Optimizer<N::Float> + ?Sized>(
        &mut self,
        network: &mut N,
        optimizer: &mut O,
        checked: bool,
    ) -> Option<(usize, Result<N::Float, TrainError>)> {
        let (x, y) = self.batches.next_batch()?;
        let result = if checked {
            network.train_step_slice_checked(x, y, optimizer)
        } else {
            network
                .train_step_slice(x, y, optimizer)
                .map_err(TrainError::from)
        };
        Some((x.len(), result))
    }
}

/// The loop both trainers share: the epochs, each epoch's mean loss, the
/// guard and the callback.
#[cfg(feature = "alloc")]
fn run_epochs<N, O, F, S>(
    epochs: u64,
    steps: &mut S,
    network: &mut N,
    optimizer: &mut O,
    data: &DataSet<'_, N::Input, N::Target>,
    guard: Option<OnNonFinite>,
    mut on_epoch: F,
) -> Result<Training<N::Float>, StepFailure>
where
    N: Network,
    O: Optimizer<N::Float> + ?Sized,
    F: FnMut(EpochEnd<'_, N, O>) -> ControlFlow<()>,
    S: EpochSteps<N>,
{
    let mut training = Training {
        losses: Vec::new(),
        skipped: Vec::new(),
    };
    for epoch in 0..epochs {
        steps.start(epoch);
        let (mut total, mut samples) = (N::Float::ZERO, 0);
        let mut batch = 0;
        while let Some((rows, result)) = steps.step(network, optimizer, guard.is_some()) {
            match result {
                Ok(loss) => {
                    total += loss * N::Float::from_usize(rows);
                    samples += rows;
                }
                Err(error) => {
                    let failure = StepFailure {
                        epoch,
                        batch,
                        error,
                    };
                    match guard {
                        Some(OnNonFinite::Skip) => training.skipped.push(failure),
                        Some(OnNonFinite::Stop) | None => return Err(failure),
                    }
                }
            }
            batch += 1;
        }
        debug_assert!(samples <= data.len());
        let mean_loss = total / N::Float::from_usize(samples);
        training.losses.push(mean_loss);
        let end = EpochEnd {
            epoch,
            epochs,
            mean_loss,
            network,
            optimizer,
        };
        if on_epoch(end).is_break() {
            break;
        }
    }
    Ok(training)
}

/// The losses of an unguarded loop, whose steps cannot fail: the batches of
/// a [`DataSet`] are never empty and have one target per input.
#[cfg(feature = "alloc")]
fn unguarded<T>(training: Result<Training<T>, StepFailure>) -> Vec<T> {
    match training {
        Ok(training) => training.losses,
        Err(failure) => unreachable!("an unguarded step failed: {failure}"),
    }
}
