//! Rules across layers and options, checked once each piece is valid on its
//! own. Each rule is a function with an example of what it rejects; all
//! broken rules are reported together.

use crate::errors::Errors;
use crate::model::{Activation, Network};

/// Largest number of parameters a network may have: 2²⁸ values (1 GiB of
/// `f32`). Larger parameter arrays could not be created, let alone trained.
pub(crate) const MAX_PARAMS: usize = 1 << 28;

/// Applies every rule.
pub(crate) fn check(network: Network) -> syn::Result<Network> {
    let mut errors = Errors::default();
    softmax_only_at_the_output(&network, &mut errors);
    softmax_has_several_outputs(&network, &mut errors);
    loss_fits_the_output(&network, &mut errors);
    parameters_fit_in_memory(&network, &mut errors);
    errors.finish()?;
    Ok(network)
}

/// Rejects `softmax` before the last layer, as in
/// `4 -> softmax(8) -> linear(2)`: it normalises a whole row, and its
/// gradient is only fused where the loss is computed.
fn softmax_only_at_the_output(network: &Network, errors: &mut Errors) {
    let hidden = &network.layers[..network.layers.len() - 1];
    for layer in hidden
        .iter()
        .filter(|layer| layer.activation == Activation::Softmax)
    {
        errors.push(syn::Error::new(
            layer.span,
            "`softmax` normalises a whole row, so it can only be the output layer; \
             use an element-wise activation such as `relu` here",
        ));
    }
}

/// Rejects `softmax(1)`, whose output is always 1 and gradient always 0.
fn softmax_has_several_outputs(network: &Network, errors: &mut Errors) {
    for layer in &network.layers {
        if layer.activation == Activation::Softmax && layer.width == 1 {
            errors.push(syn::Error::new(
                layer.width_span,
                "`softmax` of a single output is always 1; for two classes use \
                 `sigmoid(1)` with `loss = bce`, or `softmax(2)`",
            ));
        }
    }
}

/// Rejects a loss that is defined only on another output activation, as in
/// `4 -> relu(8) -> linear(3); loss = cross_entropy`: `cross_entropy` needs
/// `softmax` probabilities and `bce` needs `sigmoid` ones.
fn loss_fits_the_output(network: &Network, errors: &mut Errors) {
    let last = &network.layers[network.layers.len() - 1];
    if let Some(loss) = network.loss
        && let Some(needed) = loss.fused_activation()
        && last.activation != needed
    {
        errors.push(syn::Error::new_spanned(
            &network.loss_tokens,
            format!(
                "`{}` needs a `{}` output layer, but the last layer is `{}`; \
                     write it as `{}({})`",
                loss.name(),
                needed.name(),
                last.activation.name(),
                needed.name(),
                last.width,
            ),
        ));
    }
}

/// Rejects a network too large to exist, such as
/// `100000 -> relu(100000) -> relu(100000) -> linear(1)` (2·10¹⁰ weights).
fn parameters_fit_in_memory(network: &Network, errors: &mut Errors) {
    let mut total: usize = 0;
    for (index, layer) in network.recurrent.iter().enumerate() {
        let r = index + 1;
        let (fan_in, width) = (network.recurrent_fan_in(r), layer.width);
        let layer_params = (fan_in + width + 2)
            .checked_mul(width)
            .and_then(|n| n.checked_mul(layer.cell.gates()));
        match layer_params.and_then(|n| total.checked_add(n)) {
            Some(sum) if sum <= MAX_PARAMS => total = sum,
            _ => {
                errors.push(syn::Error::new(
                    layer.width_span,
                    format!(
                        "layer {r} (`{}({width})`) brings the network to over {MAX_PARAMS} \
                         (2²⁸) parameters; use narrower layers",
                        layer.cell,
                    ),
                ));
                return;
            }
        }
    }
    for (index, layer) in network.layers.iter().enumerate() {
        let l = index + 1;
        let layer_params = (network.fan_in(l) + 1).checked_mul(layer.width);
        match layer_params.and_then(|n| total.checked_add(n)) {
            Some(sum) if sum <= MAX_PARAMS => total = sum,
            _ => {
                errors.push(syn::Error::new(
                    layer.width_span,
                    format!(
                        "layer {} (`{}({})`) brings the network to over {MAX_PARAMS} (2²⁸) \
                         parameters; use narrower layers",
                        network.number(l),
                        layer.activation.name(),
                        layer.width,
                    ),
                ));
                return;
            }
        }
    }
}
