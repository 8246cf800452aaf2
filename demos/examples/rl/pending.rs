//! Stand-ins, with the same signatures, for parts of the library these
//! examples use that it does not have yet: target-network updates
//! (`backprop::update`). Each is replaced by a `use` of the library's item
//! once it is there.

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
