//! Stand-ins, with the same signatures, for parts of the library these
//! examples use that it does not have yet: masked and weighted losses
//! (`backprop::loss`), target-network updates (`backprop::update`) and the
//! categorical policy (`backprop::policy`). Each is replaced by a `use` of
//! the library's item once it is there.

/// `backprop::loss`: losses over chosen terms of a batch.
pub(crate) mod loss {
    use backprop::{BatchError, Float};

    // Not every example uses it; the library's module will have it.
    #[allow(unused_imports)]
    pub(crate) use backprop::runtime::loss::Huber;

    /// How the chosen terms are combined.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Reduction {
        /// Divided by the number of terms the mask keeps.
        Mean,
        /// Summed.
        Sum,
    }

    /// Which terms of a batch count, and how much: a mask of the elements
    /// and a weight per row.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Terms<'a, T, const N: usize> {
        reduction: Reduction,
        mask: Option<&'a [[bool; N]]>,
        weights: Option<&'a [T]>,
    }

    impl<'a, T, const N: usize> Terms<'a, T, N> {
        /// Every term, with weight 1.
        pub(crate) fn new(reduction: Reduction) -> Self {
            Self {
                reduction,
                mask: None,
                weights: None,
            }
        }

        /// Only the elements whose mask entry is `true`, one row per sample.
        pub(crate) fn mask(self, mask: &'a [[bool; N]]) -> Self {
            Self {
                mask: Some(mask),
                ..self
            }
        }

        /// Each row's terms multiplied by its weight.
        pub(crate) fn weights(self, weights: &'a [T]) -> Self {
            Self {
                weights: Some(weights),
                ..self
            }
        }
    }

    /// A loss evaluated over chosen terms: `Σᵢⱼ mᵢⱼ·wᵢ·ℓ(ŷᵢⱼ, yᵢⱼ) / D`,
    /// `D = Σ mᵢⱼ` for [`Reduction::Mean`] and 1 for [`Reduction::Sum`].
    pub(crate) trait Loss: backprop::runtime::Loss {
        /// The loss, and `∂L/∂Ŷ` written to `grad` if given.
        fn evaluate<T: Float, const N: usize>(
            &self,
            output: &[[T; N]],
            target: &[[T; N]],
            terms: Terms<'_, T, N>,
            grad: Option<&mut [[T; N]]>,
        ) -> Result<T, BatchError> {
            let rows = output.len();
            let mismatch = |what, other: usize| {
                if other == rows {
                    Ok(())
                } else {
                    Err(BatchError::RowMismatch {
                        what,
                        inputs: rows,
                        rows: other,
                    })
                }
            };
            mismatch("target", target.len())?;
            if let Some(mask) = terms.mask {
                mismatch("mask", mask.len())?;
            }
            if let Some(weights) = terms.weights {
                mismatch("weight", weights.len())?;
            }
            if let Some(grad) = &grad {
                mismatch("gradient", grad.len())?;
            }
            let kept = |i: usize, j: usize| terms.mask.is_none_or(|mask| mask[i][j]);
            let terms_kept = (0..rows)
                .flat_map(|i| (0..N).map(move |j| (i, j)))
                .filter(|&(i, j)| kept(i, j))
                .count();
            if rows == 0 || (terms.reduction == Reduction::Mean && terms_kept == 0) {
                return Err(BatchError::Empty);
            }
            let scale = match terms.reduction {
                Reduction::Mean => T::ONE / T::from_usize(terms_kept),
                Reduction::Sum => T::ONE,
            };
            let mut grad = grad;
            let mut sum = T::ZERO;
            for i in 0..rows {
                let weight = terms.weights.map_or(T::ONE, |weights| weights[i]);
                for j in 0..N {
                    let (o, t) = (output[i][j], target[i][j]);
                    let (value, slope) = if kept(i, j) {
                        (self.element(o, t), self.element_gradient(o, t))
                    } else {
                        (T::ZERO, T::ZERO)
                    };
                    sum += weight * value;
                    if let Some(grad) = grad.as_deref_mut() {
                        grad[i][j] = weight * slope * scale;
                    }
                }
            }
            Ok(sum * scale)
        }
    }

    impl<L: backprop::runtime::Loss> Loss for L {}
}

/// `backprop::update`: moving a target network towards the online one.
pub(crate) mod update {
    use backprop::{Float, Network};

    /// `θ' ← τθ + (1−τ)θ'`.
    pub(crate) fn soft_update<N: Network>(target: &mut N, online: &N, tau: f64) {
        let tau = N::Float::from_f64(tau);
        for (target, &online) in target.params_mut().iter_mut().zip(online.params()) {
            *target = tau * online + (N::Float::ONE - tau) * *target;
        }
    }

    /// `θ' ← θ`.
    pub(crate) fn hard_update<N: Network>(target: &mut N, online: &N) {
        target.params_mut().copy_from_slice(online.params());
    }
}

/// `backprop::policy`: distributions over actions, from a network's output.
pub(crate) mod policy {
    use backprop::Float;
    use backprop::runtime::rand_core::Rng;

    /// A distribution over `N` actions, `π = softmax(logits)`.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Categorical<T, const N: usize> {
        logits: [T; N],
        log_probs: [T; N],
    }

    impl<T: Float, const N: usize> Categorical<T, N> {
        /// The distribution of these logits, with log-sum-exp.
        pub(crate) fn new(logits: &[T; N]) -> Self {
            let max = logits.iter().fold(logits[0], |m, &z| m.max(z));
            let sum: T = logits.iter().map(|&z| (z - max).exp()).sum();
            let log_sum = max + sum.ln();
            Self {
                logits: *logits,
                log_probs: logits.map(|z| z - log_sum),
            }
        }

        /// `log π(a)` for every action.
        pub(crate) fn log_probs(&self) -> [T; N] {
            self.log_probs
        }

        /// `π(a)` for every action.
        pub(crate) fn probs(&self) -> [T; N] {
            self.log_probs.map(Float::exp)
        }

        /// An action drawn from `π`, with one uniform draw.
        pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
            let u = crate::rl::uniform(rng);
            let mut cumulative = 0.0;
            let probs = self.probs();
            for (action, p) in probs.iter().enumerate() {
                cumulative += p.to_f64();
                if u < cumulative {
                    return action;
                }
            }
            // Rounding left `u` above the total: the last likely action.
            probs.iter().rposition(|&p| p > T::ZERO).unwrap_or(N - 1)
        }

        /// The most likely action (the first, on ties).
        pub(crate) fn greedy(&self) -> usize {
            (0..N).fold(0, |best, a| {
                if self.logits[a] > self.logits[best] {
                    a
                } else {
                    best
                }
            })
        }

        /// `log π(a)`.
        pub(crate) fn log_prob(&self, action: usize) -> T {
            self.log_probs[action]
        }

        /// `H = −Σ π log π`.
        pub(crate) fn entropy(&self) -> T {
            -self.log_probs.iter().map(|&l| l.exp() * l).sum::<T>()
        }

        /// `∂ log π(a) / ∂logits = onehot(a) − π`.
        pub(crate) fn log_prob_gradient(&self, action: usize) -> [T; N] {
            let mut grad = self.probs().map(|p| -p);
            grad[action] += T::ONE;
            grad
        }

        /// `∂H/∂logitsₖ = −πₖ (log πₖ + H)`.
        pub(crate) fn entropy_gradient(&self) -> [T; N] {
            let entropy = self.entropy();
            self.log_probs.map(|l| -l.exp() * (l + entropy))
        }
    }
}
