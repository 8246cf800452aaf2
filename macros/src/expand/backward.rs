//! The backward pass: the five steps of batch backpropagation, written out
//! for each layer from the last to the first.
//!
//! 1. `∂L/∂Wˡ = Hˡ⁻¹ᵀ·Δˡ`
//! 2. `∂L/∂bˡ = 1ᵀ·Δˡ`
//! 3. `∂L/∂Hˡ⁻¹ = Δˡ·Wˡᵀ`
//! 4. `Δˡ⁻¹ = ∂L/∂Hˡ⁻¹ ⊙ f'(Zˡ⁻¹)`
//! 5. go to layer `l − 1`; at the first layer, `∂L/∂X = Δ¹·W¹ᵀ`.
//!
//! With plain gradient descent the parameters take their step during the
//! same pass ([`descend_rows`]), without a stored gradient.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::forward::{self, Output};
use super::{Context, size};
use crate::model::Activation;

/// `Network::backprop_rows`.
pub(super) fn backprop_rows(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let body = passes(cx, layer);
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
            store: #rt::kernels::Store,
            grad_x: #rt::Option<&mut [[#float; #inputs]; B]>,
        ) -> #float {
            #body
        }
    }
}

/// `Network::descend_rows`: the same passes, with plain gradient descent
/// folded into the backward pass. Each layer first sends `Δˡ` back through
/// its weights as they were (steps 3–4), then scales `Δˡ` by `−η` and adds
/// `Hˡ⁻¹ᵀ·(−η·Δˡ)` and `1ᵀ·(−η·Δˡ)` to its own parameters (steps 1–2).
pub(super) fn descend_rows(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let body = passes(cx, descend_layer);
    quote! {
        #[inline]
        fn descend_rows<const B: #rt::usize>(
            &mut self,
            x: &[[#float; #inputs]; B],
            y: &[[#float; #outputs]; B],
            rate: #float,
        ) -> #float {
            let batch_rows: #rt::usize = B;
            #body
        }
    }
}

/// The forward pass, `Δᴸ` and the loss, then `layer` for each layer from
/// the last to the first; the value is the loss.
fn passes(cx: &Context, layer: fn(&Context, usize) -> TokenStream) -> TokenStream {
    let (_, fused) = cx.loss_value();
    let forward = forward::layers(
        cx,
        if fused {
            Output::Logits
        } else {
            Output::Activated
        },
    );
    let output_delta = output_delta(cx);
    let layers: TokenStream = (1..=cx.network.layers.len())
        .rev()
        .map(|l| layer(cx, l))
        .collect();
    quote! {
        #forward
        #output_delta
        #layers
        loss
    }
}

/// Layer `l` of [`descend_rows`], given `Δˡ`.
fn descend_layer(cx: &Context, l: usize) -> TokenStream {
    let rt = &cx.rt;
    let kernels = cx.kernels();
    let layer = &cx.network.layers[l - 1];
    let input = Context::layer_input(l);
    let delta = Context::delta(l);
    let (w_mut, b_mut) = (Context::weights(l, "_mut"), Context::bias(l, "_mut"));
    let mut statements = if l > 1 {
        previous_delta(cx, l)
    } else {
        TokenStream::new()
    };
    statements.extend(quote_spanned! {layer.code_span()=>
        #rt::kernels::scale(&mut #delta, -rate);
        #kernels::weight_gradient(#input, &#delta, self.#w_mut(), #rt::kernels::Store::Add);
        #rt::kernels::bias_gradient(&#delta, self.#b_mut(), #rt::kernels::Store::Add);
    });
    statements
}

/// `Δᴸ` and the loss: `∂L/∂Ŷ ⊙ f'(Zᴸ)`, or directly from the logits for a
/// loss fused with its output activation.
fn output_delta(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    let l = cx.network.layers.len();
    let last = &cx.network.layers[l - 1];
    let delta = Context::delta(l);
    let (ty, zero) = cx.batch_matrix(last.width);
    let (loss, fused) = cx.loss_value();
    if fused {
        let logits = Context::preactivation(l);
        return quote_spanned! {last.code_span()=>
            let mut #delta: #ty = #zero;
            let loss = #rt::LogitLoss::value_and_delta(&#loss, &#logits, y, batch_rows, &mut #delta);
        };
    }
    let output = Context::output(l);
    let mut statements = quote_spanned! {last.code_span()=>
        let mut #delta: #ty = #zero;
        let loss = #rt::Loss::value_and_gradient(&#loss, &#output, y, batch_rows, &mut #delta);
    };
    statements.extend(activation_derivative(cx, l));
    statements
}

/// `Δˡ = ∂L/∂Hˡ ⊙ f'(Zˡ)`, in place in `delta{l}`; nothing for `linear`.
fn activation_derivative(cx: &Context, l: usize) -> TokenStream {
    let rt = &cx.rt;
    let layer = &cx.network.layers[l - 1];
    let (z, h, delta) = (
        Context::preactivation(l),
        Context::output(l),
        Context::delta(l),
    );
    match layer.activation {
        Activation::Linear => TokenStream::new(),
        Activation::Softmax => quote_spanned! {layer.code_span()=>
            #rt::activation::backprop_softmax(&#h, &mut #delta);
        },
        activation => {
            let activation = cx.activation_value(activation);
            quote_spanned! {layer.code_span()=>
                #rt::activation::backprop_activation(&#activation, &#z, &#h, &mut #delta);
            }
        }
    }
}

/// Steps 1–4 for layer `l`, given `Δˡ`.
fn layer(cx: &Context, l: usize) -> TokenStream {
    let rt = &cx.rt;
    let kernels = cx.kernels();
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
    let mut statements = quote_spanned! {layer.code_span()=>
        if let #rt::Some(grad) = #grad {
            #kernels::weight_gradient(#input, &#delta, grad.#w_mut(), store);
            #rt::kernels::bias_gradient(&#delta, grad.#b_mut(), store);
        }
    };
    if l == 1 {
        statements.extend(quote_spanned! {layer.code_span()=>
            if let #rt::Some(grad_x) = grad_x {
                #kernels::transposed_product(&#delta, self.#w(), grad_x);
            }
        });
    } else {
        statements.extend(previous_delta(cx, l));
    }
    statements
}

/// Steps 3–4 for layer `l > 1`: `Δˡ⁻¹ = (Δˡ·Wˡᵀ) ⊙ f'(Zˡ⁻¹)`.
fn previous_delta(cx: &Context, l: usize) -> TokenStream {
    let kernels = cx.kernels();
    let layer = &cx.network.layers[l - 1];
    let previous = &cx.network.layers[l - 2];
    let (delta, previous_delta, w) = (
        Context::delta(l),
        Context::delta(l - 1),
        Context::weights(l, ""),
    );
    let (ty, zero) = cx.batch_matrix(previous.width);
    let mut statements = quote_spanned! {layer.code_span()=>
        let mut #previous_delta: #ty = #zero;
        #kernels::transposed_product(&#delta, self.#w(), &mut #previous_delta);
    };
    statements.extend(activation_derivative(cx, l - 1));
    statements
}
