//! Data-parallel training across processes and machines through MPI
//! (feature `mpi`).
//!
//! Every process holds the same weights and its own share of each batch's
//! rows. A step computes the gradient of the mean loss over the local rows
//! ([`Network::gradients_slice`]), then one all-reduce of
//! `PARAMS + 3` values sums, over every process, `rows · ∂L/∂θ`,
//! `rows · L`, the rows and the processes whose share was invalid; divided
//! by the rows of the whole batch, that is the gradient and the loss of the
//! mean over the global batch, whatever the shares' sizes. Every process
//! then applies its optimizer to the same gradient, so the weights stay
//! identical everywhere: SGD and Adam, data-parallel, compute what one
//! process would on the whole batch, up to rounding (the sums run in a
//! different order).
//!
//! The processes are those of an MPI communicator: started by
//! `mpirun -np 4 program` on one machine, or across machines with a
//! hostfile, and [`mpi::initialize`] in `main`. The [`mpi`] crate (rsmpi)
//! is re-exported, so its version is the one this crate is built with.
//!
//! ```no_run
//! use backprop::Adam;
//! use backprop_runtime::Network;
//! use backprop_runtime::distributed::{DataParallel, mpi};
//!
//! backprop::network! { pub Net = 4 -> relu(16) -> linear(1); loss = mse }
//!
//! let universe = mpi::initialize().expect("MPI is initialised once");
//! let mut parallel = DataParallel::new(universe.world());
//! // Rank 0's initial weights everywhere.
//! let mut net = Net::seeded(1);
//! parallel.broadcast_weights(&mut net);
//!
//! let x: Vec<[f32; 4]> = (0..64).map(|i| [i as f32 / 64.0; 4]).collect();
//! let y: Vec<[f32; 1]> = x.iter().map(|row| [row[0] * 2.0]).collect();
//! let mut adam = Adam::new(1e-2);
//! for _ in 0..100 {
//!     // Every process passes its own rows of the same batch.
//!     let mine = parallel.share(x.len());
//!     let loss = parallel.train_step_slice(&mut net, &x[mine.clone()], &y[mine], &mut adam)?;
//!     // `loss` is the mean over all 64 rows, the same on every process.
//! }
//! assert!(parallel.weights_agree(&net));
//! # Ok::<(), backprop_runtime::distributed::DistributedError>(())
//! ```

#![forbid(unsafe_code)]

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

pub use mpi;
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::datatype::Equivalence;
use mpi::topology::Communicator;

use crate::{BatchError, Float, Network, Optimizer};

/// Values of the all-reduce after the gradient: `rows · L`, the rows, and
/// the processes whose share was invalid.
const TAIL: usize = 3;

/// Data-parallel training steps over the processes of an MPI communicator.
///
/// It holds the communicator and two buffers of `PARAMS + 3` values, the
/// process's contribution and the sum over every process, allocated on the
/// first step and reused by the others.
pub struct DataParallel<C, T> {
    communicator: C,
    /// `rows · ∂L/∂θ` of this process's share, then `rows · L`, the rows,
    /// and 1 if the share was invalid.
    local: Vec<T>,
    /// `local` summed over every process.
    total: Vec<T>,
}

impl<C: Communicator, T: Float + Equivalence> DataParallel<C, T> {
    /// Steps over `communicator`'s processes, such as `universe.world()`.
    pub fn new(communicator: C) -> Self {
        Self {
            communicator,
            local: Vec::new(),
            total: Vec::new(),
        }
    }

    /// The communicator.
    pub fn communicator(&self) -> &C {
        &self.communicator
    }

    /// This process's rank, from 0.
    #[must_use]
    pub fn rank(&self) -> usize {
        count(self.communicator.rank())
    }

    /// The number of processes.
    #[must_use]
    pub fn processes(&self) -> usize {
        count(self.communicator.size())
    }

    /// The rows of a batch of `rows` that this process takes: consecutive
    /// shares in rank order, whose sizes differ by at most one (a process
    /// gets none when there are fewer rows than processes).
    ///
    /// ```
    /// use backprop_runtime::distributed::share;
    ///
    /// assert_eq!([0, 1, 2].map(|rank| share(32, rank, 3)), [0..11, 11..22, 22..32]);
    /// ```
    #[must_use]
    pub fn share(&self, rows: usize) -> Range<usize> {
        share(rows, self.rank(), self.processes())
    }

    /// Copies rank 0's parameters into `net` on every process, so that all
    /// start from the same weights. Every process must call it.
    pub fn broadcast_weights<N: Network<Float = T>>(&self, net: &mut N) {
        self.communicator
            .process_at_rank(0)
            .broadcast_into(net.params_mut());
    }

    /// Whether `net`'s parameters are the same, bit for bit, on every
    /// process: one all-reduce of two 64-bit hashes of them. Every process
    /// must call it.
    #[must_use]
    pub fn weights_agree<N: Network<Float = T>>(&self, net: &N) -> bool {
        let hash = fnv1a(net.params());
        // The largest hash and the largest complement, the smallest hash:
        // equal when every process has the same.
        let mut largest = [0_u64; 2];
        self.communicator.all_reduce_into(
            &[hash, !hash][..],
            &mut largest[..],
            SystemOperation::max(),
        );
        largest[0] == !largest[1]
    }

    /// The loss and gradient of the mean over the whole batch, whose rows
    /// `x` and `y` of this process are its share, the same on every
    /// process. Every process must call it, with a share of no rows if it
    /// has none; `net` must hold the same weights everywhere.
    ///
    /// # Errors
    ///
    /// [`DistributedError::Batch`] with [`BatchError::RowMismatch`] on the
    /// process whose `x` and `y` differ in length, and
    /// [`DistributedError::Elsewhere`] on the others; with
    /// [`BatchError::Empty`] on every process if no process has a row.
    pub fn gradients_slice<N: Network<Float = T>>(
        &mut self,
        net: &mut N,
        x: &[N::Input],
        y: &[N::Target],
    ) -> Result<(T, &[T]), DistributedError> {
        let params = N::PARAMS;
        // Allocates on the first step only (or for a larger network).
        self.local.resize(params + TAIL, T::ZERO);
        self.total.resize(params + TAIL, T::ZERO);

        let mut grad = net.take_gradient_buffer();
        let local = net.gradients_slice(x, y, &mut grad);
        let (weighted, tail) = self.local.split_at_mut(params);
        match local {
            Ok(loss) => {
                let rows = T::from_usize(x.len());
                for (weighted, g) in weighted.iter_mut().zip(grad.params()) {
                    *weighted = rows * *g;
                }
                tail.copy_from_slice(&[rows * loss, rows, T::ZERO]);
            }
            // A process without rows adds nothing; so does an invalid share,
            // which every process learns of from the sum of the last value.
            Err(error) => {
                weighted.fill(T::ZERO);
                let invalid = if error == BatchError::Empty {
                    T::ZERO
                } else {
                    T::ONE
                };
                tail.copy_from_slice(&[T::ZERO, T::ZERO, invalid]);
            }
        }
        net.keep_gradient_buffer(grad);

        // Every process takes part, whether or not its share was valid, so
        // that none waits for the others forever.
        self.communicator.all_reduce_into(
            &self.local[..],
            &mut self.total[..],
            SystemOperation::sum(),
        );

        if let Err(error) = local
            && error != BatchError::Empty
        {
            return Err(DistributedError::Batch(error));
        }
        let (sums, tail) = self.total.split_at_mut(params);
        let [loss, rows, invalid] = [tail[0], tail[1], tail[2]];
        if invalid > T::ZERO {
            // A sum of ones, at most the number of processes: exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let processes = invalid.to_f64() as usize;
            return Err(DistributedError::Elsewhere { processes });
        }
        if rows == T::ZERO {
            return Err(DistributedError::Batch(BatchError::Empty));
        }
        for sum in sums.iter_mut() {
            *sum /= rows;
        }
        Ok((loss / rows, sums))
    }

    /// One data-parallel training step: the gradient of the mean loss over
    /// the whole batch ([`gradients_slice`](Self::gradients_slice)), then
    /// `optimizer`'s update on every process. Returns the mean loss over the
    /// whole batch, before the update. Every process must call it, with its
    /// share of the batch and an optimizer of the same settings and state.
    ///
    /// With one process, the step is
    /// [`Network::train_step_slice`]'s, bit for bit when the batch's rows
    /// are a power of two (dividing `rows · g` by the rows is then exact).
    ///
    /// # Errors
    ///
    /// As [`gradients_slice`](Self::gradients_slice); the parameters and the
    /// optimizer's state are then left as they were, on every process.
    pub fn train_step_slice<N: Network<Float = T>, O: Optimizer<T> + ?Sized>(
        &mut self,
        net: &mut N,
        x: &[N::Input],
        y: &[N::Target],
        optimizer: &mut O,
    ) -> Result<T, DistributedError> {
        let (loss, grad) = self.gradients_slice(net, x, y)?;
        optimizer.step(net.params_mut(), grad);
        Ok(loss)
    }
}

/// The rows `rank` takes of a batch of `rows` shared by `processes`:
/// consecutive shares in rank order, whose sizes differ by at most one.
///
/// # Panics
///
/// If `processes` is 0.
#[must_use]
pub fn share(rows: usize, rank: usize, processes: usize) -> Range<usize> {
    let (each, extra) = (rows / processes, rows % processes);
    let start = |rank: usize| rank * each + rank.min(extra);
    start(rank)..start(rank + 1)
}

/// A rank or a size, which MPI gives as a non-negative `i32`.
fn count(value: i32) -> usize {
    usize::try_from(value).unwrap_or(0)
}

/// The 64-bit FNV-1a hash of the values' bits.
fn fnv1a<T: Float>(values: &[T]) -> u64 {
    values.iter().fold(0xcbf2_9ce4_8422_2325, |hash, value| {
        value
            .to_f64()
            .to_bits()
            .to_le_bytes()
            .iter()
            .fold(hash, |hash, byte| {
                (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
            })
    })
}

/// Why a data-parallel step left the parameters as they were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DistributedError {
    /// This process's share of the batch is invalid, or no process had a
    /// row ([`BatchError::Empty`]).
    Batch(BatchError),
    /// The shares of other processes are invalid; this one's is not.
    Elsewhere {
        /// How many processes' shares are invalid.
        processes: usize,
    },
}

impl fmt::Display for DistributedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Batch(BatchError::Empty) => {
                f.write_str("no process has a row of the batch; a loss needs at least one sample")
            }
            Self::Batch(error) => write!(f, "this process's share of the batch: {error}"),
            Self::Elsewhere { processes: 1 } => f.write_str(
                "another process's share of the batch is invalid; the update was not applied",
            ),
            Self::Elsewhere { processes } => write!(
                f,
                "the shares of {processes} other processes are invalid; the update was not applied"
            ),
        }
    }
}

impl core::error::Error for DistributedError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Batch(error) => Some(error),
            Self::Elsewhere { .. } => None,
        }
    }
}
