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
    for (index, layer) in network.layers.iter().enumerate() {
        let l = index + 1;
        let layer_params = (network.fan_in(l) + 1).checked_mul(layer.width);
        total = match layer_params.and_then(|n| total.checked_add(n)) {
            Some(total) if total <= MAX_PARAMS => total,
            _ => {
                return Err(syn::Error::new(
                    layer.width_span,
                    format!(
                        "layer {l} (`{}({})`) brings the network to over {MAX_PARAMS} (2²⁸) \
                         parameters; use narrower layers",
                        layer.activation.name(),
                        layer.width,
                    ),
                ));
            }
        };
    }
    Ok(())
}
