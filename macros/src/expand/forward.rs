//! The forward pass, `Zˡ = Hˡ⁻¹·Wˡ + 1·bˡᵀ`, `Hˡ = f(Zˡ)`, and the loss.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{Context, size};
use crate::model::Activation;

/// Whether the forward pass computes the output activation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    /// `Hᴸ = f(Zᴸ)`, the network's output.
    Activated,
    /// Stop at `Zᴸ`: a loss fused with the output activation reads the logits.
    Logits,
}

/// Statements computing every layer's `z{l}` (non-linear layers) and `h{l}`
/// for `B` rows of `x`.
pub(super) fn layers(cx: &Context, output: Output) -> TokenStream {
    let rt = &cx.rt;
    let kernels = cx.kernels();
    let last = cx.network.layers.len();
    let mut statements = TokenStream::new();
    for (index, layer) in cx.network.layers.iter().enumerate() {
        let l = index + 1;
        let input = Context::layer_input(l);
        let (z, h) = (Context::preactivation(l), Context::output(l));
        let (w, b) = (Context::weights(l, ""), Context::bias(l, ""));
        let (ty, zero) = cx.batch_matrix(layer.width);
        if layer.activation == Activation::Linear {
            statements.extend(quote_spanned! {layer.code_span()=>
                let mut #h: #ty = #zero;
                #kernels::affine(#input, self.#w(), self.#b(), &mut #h);
            });
            continue;
        }
        statements.extend(quote_spanned! {layer.code_span()=>
            let mut #z: #ty = #zero;
            #kernels::affine(#input, self.#w(), self.#b(), &mut #z);
        });
        if l == last && output == Output::Logits {
            continue;
        }
        let apply = if layer.activation == Activation::Softmax {
            quote!(#rt::activation::softmax(&#z, &mut #h))
        } else if layer.activation == Activation::Tanh {
            // The kernels' `tanh` and `sigmoid` vectorise; `Activation::apply`
            // calls `libm`.
            quote!(#rt::kernels::tanh(&#z, &mut #h))
        } else if layer.activation == Activation::Sigmoid {
            quote!(#rt::kernels::sigmoid(&#z, &mut #h))
        } else {
            let activation = cx.activation_value(layer.activation);
            quote!(#rt::activation::activate(&#activation, &#z, &mut #h))
        };
        statements.extend(quote_spanned! {layer.code_span()=>
            let mut #h: #ty = #zero;
            #apply;
        });
    }
    statements
}

/// `Network::forward_rows`.
pub(super) fn forward_rows(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let layers = layers(cx, Output::Activated);
    let output = Context::output(network.layers.len());
    quote! {
        #[inline]
        fn forward_rows<const B: #rt::usize>(&self, x: &[[#float; #inputs]; B], out: &mut [[#float; #outputs]; B]) {
            #layers
            *out = #output;
        }
    }
}

/// `Network::loss_rows`.
pub(super) fn loss_rows(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let last = network.layers.len();
    let (loss, fused) = cx.loss_value();
    let value = if fused {
        let logits = Context::preactivation(last);
        quote!(#rt::LogitLoss::value(&#loss, &#logits, y, batch_rows))
    } else {
        let output = Context::output(last);
        quote!(#rt::Loss::value(&#loss, &#output, y, batch_rows))
    };
    let layers = layers(
        cx,
        if fused {
            Output::Logits
        } else {
            Output::Activated
        },
    );
    quote! {
        #[inline]
        fn loss_rows<const B: #rt::usize>(
            &self,
            x: &[[#float; #inputs]; B],
            y: &[[#float; #outputs]; B],
            batch_rows: #rt::usize,
        ) -> #float {
            #layers
            #value
        }
    }
}
