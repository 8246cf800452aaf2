//! The forward pass, `Zˡ = Hˡ⁻¹·Wˡ + 1·bˡᵀ`, `Hˡ = f(Zˡ)`, and the loss.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::{Context, size};
use crate::model::Activation;

/// Statements computing `h1 … hL` for `B` rows of `x`; `hL` is `Ŷ`.
pub(super) fn layers(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    let mut statements = TokenStream::new();
    for (index, layer) in cx.network.layers.iter().enumerate() {
        let l = index + 1;
        let input = Context::layer_input(l);
        let (h, w, b) = (
            Context::output(l),
            Context::weights(l, ""),
            Context::bias(l, ""),
        );
        let (ty, zero) = cx.batch_matrix(layer.width);
        statements.extend(quote_spanned! {layer.span=>
            let mut #h: #ty = #zero;
            #rt::kernels::affine(#input, self.#w(), self.#b(), &mut #h);
        });
        if layer.activation != Activation::Linear {
            let activation = format_ident!("{}", layer.activation.runtime_type());
            statements.extend(quote_spanned! {layer.span=>
                #rt::activation::activate::<#rt::#activation, _, B, _>(&mut #h);
            });
        }
    }
    statements
}

/// `Network::forward_rows`.
pub(super) fn forward_rows(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let layers = layers(cx);
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
    let layers = layers(cx);
    let output = Context::output(network.layers.len());
    let loss = format_ident!("{}", network.loss.runtime_type());
    quote! {
        #[inline]
        fn loss_rows<const B: #rt::usize>(
            &self,
            x: &[[#float; #inputs]; B],
            y: &[[#float; #outputs]; B],
            batch_rows: #rt::usize,
        ) -> #float {
            #layers
            <#rt::#loss as #rt::Loss>::value(&#output, y, batch_rows)
        }
    }
}
