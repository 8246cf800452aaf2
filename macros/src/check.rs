//! Rules across layers, checked once every layer is valid on its own.
//!
//! Each rule is a function with an example of what it rejects.

use crate::model::Network;

/// Largest number of parameters a network may have: 2²⁸ values (1 GiB of
/// `f32`). Larger parameter arrays could not be created, let alone trained.
pub(crate) const MAX_PARAMS: usize = 1 << 28;

/// Applies every rule, reporting the first one broken.
pub(crate) fn check(network: Network) -> syn::Result<Network> {
    parameters_fit_in_memory(&network)?;
    Ok(network)
}

/// Rejects a network too large to exist, such as
/// `100000 -> relu(100000) -> relu(100000) -> linear(1)` (2·10¹⁰ weights).
fn parameters_fit_in_memory(network: &Network) -> syn::Result<()> {
    let mut total: usize = 0;
    for l in 1..=network.layers.len() {
        let layer = (network.fan_in(l) + 1).checked_mul(network.layers[l - 1].width);
        total = match layer.and_then(|n| total.checked_add(n)) {
            Some(total) if total <= MAX_PARAMS => total,
            _ => {
                return Err(syn::Error::new(
                    network.layers[l - 1].span,
                    format!(
                        "this network has more than {MAX_PARAMS} parameters from layer {l} on; \
                         use narrower layers"
                    ),
                ));
            }
        };
    }
    Ok(())
}
