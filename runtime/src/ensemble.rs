//! Many networks of one type trained together: Q-ensembles, populations,
//! bootstrapped committees (feature `alloc`).
//!
//! An [`Ensemble`] holds `K` networks, each drawn from its own seed, and
//! trains all of them in one call, on one batch or each on its own. With
//! the `parallel` feature the members are spread over the threads once the
//! call holds enough work (all members' rows × [`Network::MACS`] at least
//! `parallel::PARALLEL_MEMBER_MULTIPLY_ADDS`); every member's result is the
//! same whoever computes it.
//!
//! A member is a whole network of its own, with its own optimizer: members
//! never share a product. Fusing them (the `K` first layers on one batch
//! as one product `X·[W¹₁ … W¹_K]`, as `torch.func` stacks small models)
//! was measured (`cargo bench -p backprop-benches --features parallel
//! --bench w7_parallel -- ensemble`, 8 × W2 on a batch of 32): the fused
//! product takes 0.64–0.69 of the time of the eight separate ones, but those
//! are about a tenth of a member's step, so on one core fusion would save
//! less than a tenth of the step, and on two the members' own threads
//! save more.
//!
//! ```
//! use backprop::ensemble::Ensemble;
//! use backprop::{Adam, Network};
//!
//! backprop::network! { pub Q = 4 -> relu(32) -> linear(2); loss = mse }
//!
//! let mut critics = Ensemble::<Q>::seeded(5, 100);
//! let mut optimizers = vec![Adam::new(1e-3); critics.len()];
//! let x = vec![[0.1, 0.2, 0.3, 0.4]; 64];
//! let y = vec![[1.0, -1.0]; 64];
//! let mut losses = [0.0; 5];
//! for _ in 0..10 {
//!     critics.train_step_slice(&x, &y, &mut optimizers, &mut losses)?;
//! }
//! // Five members, drawn differently, disagree: the spread an ensemble is for.
//! let mut q = [[0.0; 2]; 5];
//! critics.forward_slice(&x[..1], &mut q)?;
//! assert!(q.iter().any(|row| row != &q[0]));
//! # Ok::<(), backprop::BatchError>(())
//! ```

use alloc::vec::Vec;

use crate::network::check_batch;
use crate::{BatchError, Float, Network, Optimizer};

/// `K` networks of one type, trained together.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble<N> {
    members: Vec<N>,
}

impl<N: Network> Ensemble<N> {
    /// `count` networks, member `k` drawn as `N::seeded(seed + k)` draws it.
    #[must_use]
    pub fn seeded(count: usize, seed: u64) -> Self {
        Self {
            members: (0..count as u64)
                .map(|k| crate::init::seeded_network(seed.wrapping_add(k)))
                .collect(),
        }
    }

    /// An ensemble of the networks given.
    #[must_use]
    pub fn from_members(members: Vec<N>) -> Self {
        Self { members }
    }

    /// The number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members, in order.
    #[must_use]
    pub fn members(&self) -> &[N] {
        &self.members
    }

    /// The members, to change one (to copy a target network, say).
    pub fn members_mut(&mut self) -> &mut [N] {
        &mut self.members
    }

    /// The members, given back.
    #[must_use]
    pub fn into_members(self) -> Vec<N> {
        self.members
    }

    /// Every member's forward pass on `x`: member `k`'s outputs go to
    /// `out[k·n .. (k + 1)·n]`, for `n` rows of `x`.
    ///
    /// # Errors
    ///
    /// [`BatchError::Members`] if `out` does not have `len() · x.len()`
    /// rows.
    pub fn forward_slice(&self, x: &[N::Input], out: &mut [N::Output]) -> Result<(), BatchError> {
        check_members(
            "output rows, one per member and input row,",
            self.len() * x.len(),
            out.len(),
        )?;
        if x.is_empty() {
            return Ok(());
        }
        for (member, out) in self.members.iter().zip(out.chunks_mut(x.len())) {
            member.forward_slice(x, out)?;
        }
        Ok(())
    }

    /// One training step of every member on the same batch, each with its
    /// own optimizer; member `k`'s loss before its update goes to
    /// `losses[k]`.
    ///
    /// # Errors
    ///
    /// [`BatchError`] if `x` and `y` differ in length or are empty, or if
    /// there is not one optimizer and one loss per member; no member is then
    /// changed.
    pub fn train_step_slice<O: Optimizer<N::Float> + Send>(
        &mut self,
        x: &[N::Input],
        y: &[N::Target],
        optimizers: &mut [O],
        losses: &mut [N::Float],
    ) -> Result<(), BatchError> {
        self.train_step_each(|_| (x, y), optimizers, losses)
    }

    /// One training step of every member on a batch of its own: member `k`
    /// trains on `batch(k)`, with `optimizers[k]`, and its loss goes to
    /// `losses[k]`. A bootstrapped ensemble gives each member its own
    /// resample of the data, drawn with replacement:
    ///
    /// ```
    /// use backprop::ensemble::Ensemble;
    /// use backprop::init::seeded_rng;
    /// use backprop::runtime::rand_core::Rng;
    /// use backprop::{Network, Sgd};
    ///
    /// backprop::network! { pub Line = 1 -> linear(1); loss = mse }
    ///
    /// let x: Vec<[f32; 1]> = (0..50).map(|i| [i as f32 / 50.0]).collect();
    /// let y: Vec<[f32; 1]> = x.iter().map(|&[x]| [2.0 * x + 1.0]).collect();
    /// // Member k's resample: 50 rows drawn with replacement, from seed k.
    /// let resamples: Vec<(Vec<[f32; 1]>, Vec<[f32; 1]>)> = (0..4)
    ///     .map(|k| {
    ///         let mut rng = seeded_rng(k);
    ///         let rows: Vec<usize> = (0..x.len()).map(|_| rng.next_u64() as usize % x.len()).collect();
    ///         (rows.iter().map(|&i| x[i]).collect(), rows.iter().map(|&i| y[i]).collect())
    ///     })
    ///     .collect();
    /// let mut ensemble = Ensemble::<Line>::seeded(4, 1);
    /// let mut sgd = vec![Sgd::new(0.1); 4];
    /// let mut losses = [0.0; 4];
    /// for _ in 0..500 {
    ///     let batch = |k: usize| (&resamples[k].0[..], &resamples[k].1[..]);
    ///     ensemble.train_step_each(batch, &mut sgd, &mut losses)?;
    /// }
    /// // Every member has learnt the line from its own resample.
    /// for member in ensemble.members() {
    ///     assert!((member.forward(&[[0.5]])[0][0] - 2.0).abs() < 0.05);
    /// }
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError`] if a member's inputs and targets differ in length or
    /// are empty, or if there is not one optimizer and one loss per member;
    /// every batch is checked before any member changes.
    pub fn train_step_each<'d, O: Optimizer<N::Float> + Send>(
        &mut self,
        batch: impl Fn(usize) -> (&'d [N::Input], &'d [N::Target]) + Sync,
        optimizers: &mut [O],
        losses: &mut [N::Float],
    ) -> Result<(), BatchError> {
        check_members("optimizers, one per member,", self.len(), optimizers.len())?;
        check_members("losses, one per member,", self.len(), losses.len())?;
        let mut rows = 0_usize;
        for k in 0..self.len() {
            let (x, y) = batch(k);
            rows = rows.saturating_add(check_batch("target", x.len(), y.len())?);
        }
        self.each_member(rows, optimizers, losses, |k, member, optimizer| {
            let (x, y) = batch(k);
            // Every batch was checked above.
            member
                .train_step_slice(x, y, optimizer)
                .unwrap_or(N::Float::ZERO)
        });
        Ok(())
    }

    /// [`train_step_slice`](Ensemble::train_step_slice) for a batch whose
    /// size is known at compile time: each member takes
    /// [`Network::train_step`], so plain SGD needs no stored gradient.
    ///
    /// # Errors
    ///
    /// [`BatchError::Members`] if there is not one optimizer and one loss
    /// per member; no member is then changed.
    pub fn train_step<const B: usize, O: Optimizer<N::Float> + Send>(
        &mut self,
        x: &[N::Input; B],
        y: &[N::Target; B],
        optimizers: &mut [O],
        losses: &mut [N::Float],
    ) -> Result<(), BatchError> {
        check_members("optimizers, one per member,", self.len(), optimizers.len())?;
        check_members("losses, one per member,", self.len(), losses.len())?;
        let rows = self.len().saturating_mul(B);
        self.each_member(rows, optimizers, losses, |_, member, optimizer| {
            member.train_step(x, y, optimizer)
        });
        Ok(())
    }

    /// `losses[k] = step(k, member k, optimizers[k])` for every member, on
    /// the threads when `rows`, all members' rows together, are enough work.
    fn each_member<O: Optimizer<N::Float> + Send>(
        &mut self,
        rows: usize,
        optimizers: &mut [O],
        losses: &mut [N::Float],
        step: impl Fn(usize, &mut N, &mut O) -> N::Float + Send + Sync,
    ) {
        #[cfg(feature = "parallel")]
        if rows.saturating_mul(N::MACS) >= crate::parallel::PARALLEL_MEMBER_MULTIPLY_ADDS {
            crate::parallel::each_member(&mut self.members, optimizers, losses, step);
            return;
        }
        #[cfg(not(feature = "parallel"))]
        let _ = rows;
        for (k, ((member, optimizer), loss)) in self
            .members
            .iter_mut()
            .zip(optimizers)
            .zip(losses)
            .enumerate()
        {
            *loss = step(k, member, optimizer);
        }
    }
}

/// `Ok` if `given` is the `needed` number of `what`.
fn check_members(what: &'static str, needed: usize, given: usize) -> Result<(), BatchError> {
    if needed == given {
        Ok(())
    } else {
        Err(BatchError::Members {
            what,
            needed,
            given,
        })
    }
}
