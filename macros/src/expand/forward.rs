//! The forward pass, `Zˡ = Hˡ⁻¹·Wˡ + 1·bˡᵀ`, `Hˡ = f(Zˡ)`, into the tape,
//! and the loss on its output.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::Context;
use crate::model::Activation;

/// Statements computing every layer's `tape.z{l}` (non-linear layers) and
/// `tape.h{l}` for `B` rows of `x`. A loss fused with the output activation
/// reads `Zᴸ`, so with `logits_only` the output activation is skipped.
pub(super) fn layers(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    let kernels = cx.kernels();
    let last = cx.network.layers.len();
    let fused = cx.loss_is_fused();
    let mut statements = TokenStream::new();
    for (index, layer) in cx.network.layers.iter().enumerate() {
        let l = index + 1;
        let input = Context::layer_input(l);
        let (z, h) = (Context::preactivation(l), Context::output(l));
        let (w, b) = (cx.weights(l, ""), cx.bias(l, ""));
        if !cx.keeps_preactivation(l) {
            statements.extend(quote_spanned! {layer.code_span()=>
                #kernels::affine(#input, self.#w(), self.#b(), &mut tape.#h);
            });
            continue;
        }
        let apply = match layer.activation {
            Activation::Softmax => quote!(#rt::activation::softmax(&tape.#z, &mut tape.#h)),
            // `tanh` and `sigmoid` through the kernels' functions: the same
            // rows as `activate`'s, on a shorter line. `WIDE`, a constant
            // in each copy, gives the AVX2 copy's rows fused multiply-adds.
            Activation::Tanh => quote!(#rt::kernels::tanh(&tape.#z, &mut tape.#h, WIDE)),
            Activation::Sigmoid => quote!(#rt::kernels::sigmoid(&tape.#z, &mut tape.#h, WIDE)),
            activation => {
                let activation = cx.activation_value(activation);
                quote!(#rt::activation::activate(&#activation, &tape.#z, &mut tape.#h, WIDE))
            }
        };
        let apply = if l == last && fused {
            quote!(if !logits_only { #apply; })
        } else {
            quote!(#apply;)
        };
        statements.extend(quote_spanned! {layer.code_span()=>
            #kernels::affine(#input, self.#w(), self.#b(), &mut tape.#z);
            #apply
        });
    }
    statements
}

/// The body of `Passes::loss_rows`: the loss on `Ŷ`, or on `Zᴸ` for a loss
/// fused with the output activation; `None` for `loss = none`, whose
/// networks keep the trait's default.
pub(super) fn loss(cx: &Context) -> Option<TokenStream> {
    let rt = &cx.rt;
    let last = cx.network.layers.len();
    let (loss, fused) = cx.loss_value()?;
    Some(if fused {
        let logits = Context::preactivation(last);
        quote!(#rt::objective::logit_loss(&#loss, &tape.#logits, y, live, batch_rows, delta))
    } else {
        let output = Context::output(last);
        quote!(#rt::objective::output_loss(&#loss, &tape.#output, y, live, batch_rows, delta))
    })
}
