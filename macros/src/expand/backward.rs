//! The backward pass: the five steps of batch backpropagation, written out
//! for each layer from the last to the first.
//!
//! 1. `∂L/∂Wˡ = Hˡ⁻¹ᵀ·Δˡ`
//! 2. `∂L/∂bˡ = 1ᵀ·Δˡ`
//! 3. `∂L/∂Hˡ⁻¹ = Δˡ·Wˡᵀ`
//! 4. `Δˡ⁻¹ = ∂L/∂Hˡ⁻¹ ⊙ f'(Zˡ⁻¹)`
//! 5. go to layer `l − 1`; at the first layer, `∂L/∂X = Δ¹·W¹ᵀ`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::{Context, forward, size};
use crate::model::{Activation, Layer};

/// `Network::backprop_rows`.
pub(super) fn backprop_rows(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let forward = forward::layers(cx);
    let output_delta = output_delta(cx);
    let layers: TokenStream = (1..=network.layers.len())
        .rev()
        .map(|l| layer(cx, l))
        .collect();
    // Layers above the first reborrow `grad`; the first takes it.
    let grad_binding = if network.layers.len() > 1 {
        quote!(mut grad)
    } else {
        quote!(grad)
    };
    quote! {
        #[inline]
        fn backprop_rows<const B: #rt::usize>(
            &self,
            x: &[[#float; #inputs]; B],
            y: &[[#float; #outputs]; B],
            batch_rows: #rt::usize,
            #grad_binding: #rt::Option<&mut Self>,
            grad_x: #rt::Option<&mut [[#float; #inputs]; B]>,
        ) -> #float {
            #forward
            #output_delta
            #layers
            loss
        }
    }
}

/// `Δᴸ = ∂L/∂Ŷ ⊙ f'(Zᴸ)`, and the loss.
fn output_delta(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    let last_index = cx.network.layers.len();
    let last = &cx.network.layers[last_index - 1];
    let (output, delta) = (Context::output(last_index), Context::delta(last_index));
    let (ty, zero) = cx.batch_matrix(last.width);
    let loss = format_ident!("{}", cx.network.loss.runtime_type());
    let mut statements = quote_spanned! {last.span=>
        let mut #delta: #ty = #zero;
        let loss = <#rt::#loss as #rt::Loss>::value_and_gradient(&#output, y, batch_rows, &mut #delta);
    };
    statements.extend(activation_derivative(cx, last, &output, &delta));
    statements
}

/// `Δ ⊙= f'(Z)`, computed from the cached output; nothing for `linear`.
fn activation_derivative(
    cx: &Context,
    layer: &Layer,
    output: &syn::Ident,
    delta: &syn::Ident,
) -> TokenStream {
    if layer.activation == Activation::Linear {
        return TokenStream::new();
    }
    let rt = &cx.rt;
    let activation = format_ident!("{}", layer.activation.runtime_type());
    quote_spanned! {layer.span=>
        #rt::activation::backprop_activation::<#rt::#activation, _, B, _>(&#output, &mut #delta);
    }
}

/// Steps 1–4 for layer `l`, given `Δˡ`.
fn layer(cx: &Context, l: usize) -> TokenStream {
    let rt = &cx.rt;
    let layer = &cx.network.layers[l - 1];
    let input = Context::layer_input(l);
    let delta = Context::delta(l);
    let (w, w_mut, b_mut) = (
        Context::weights(l, ""),
        Context::weights(l, "_mut"),
        Context::bias(l, "_mut"),
    );
    let grad = if l == 1 {
        quote!(grad)
    } else {
        quote!(grad.as_deref_mut())
    };
    let mut statements = quote_spanned! {layer.span=>
        if let #rt::Some(grad) = #grad {
            #rt::kernels::add_transposed_product(#input, &#delta, grad.#w_mut());
            #rt::kernels::add_column_sums(&#delta, grad.#b_mut());
        }
    };
    if l == 1 {
        statements.extend(quote_spanned! {layer.span=>
            if let #rt::Some(grad_x) = grad_x {
                #rt::kernels::transposed_product(&#delta, self.#w(), grad_x);
            }
        });
    } else {
        let previous = &cx.network.layers[l - 2];
        let (previous_output, previous_delta) = (Context::output(l - 1), Context::delta(l - 1));
        let (ty, zero) = cx.batch_matrix(previous.width);
        statements.extend(quote_spanned! {layer.span=>
            let mut #previous_delta: #ty = #zero;
            #rt::kernels::transposed_product(&#delta, self.#w(), &mut #previous_delta);
        });
        statements.extend(activation_derivative(
            cx,
            previous,
            &previous_output,
            &previous_delta,
        ));
    }
    statements
}
