//! The backward pass: the five steps of batch backpropagation, written out
//! for each layer from the last to the first, starting from `∂L/∂Ŷ` (or
//! from `Δᴸ` itself, for a loss fused with the output activation).
//!
//! 1. `∂L/∂Wˡ = Hˡ⁻¹ᵀ·Δˡ`
//! 2. `∂L/∂bˡ = 1ᵀ·Δˡ`
//! 3. `∂L/∂Hˡ⁻¹ = Δˡ·Wˡᵀ`
//! 4. `Δˡ⁻¹ = ∂L/∂Hˡ⁻¹ ⊙ f'(Zˡ⁻¹)`
//! 5. go to layer `l − 1`; at the first layer, `∂L/∂X = Δ¹·W¹ᵀ`.
//!
//! With plain gradient descent the parameters take their step during the
//! same pass ([`descend`]), without a stored gradient.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::Context;
use crate::model::Activation;

/// The body of `Passes::backward_rows`: steps 1–4 for every layer, the
/// gradient stored in `grad` as its `Store` says.
pub(super) fn backward(cx: &Context) -> TokenStream {
    let mut statements = output_derivative(cx);
    for l in (1..=cx.network.layers.len()).rev() {
        statements.extend(store_layer(cx, l));
    }
    statements
}

/// The body of `Passes::descend_rows`: the same steps, with plain gradient
/// descent folded in. Each layer first sends `Δˡ` back through its weights
/// as they were (steps 3–4), then scales `Δˡ` by `−η` and adds
/// `Hˡ⁻¹ᵀ·(−η·Δˡ)` and `1ᵀ·(−η·Δˡ)` to its own parameters (steps 1–2).
pub(super) fn descend(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    let kernels = cx.kernels();
    let mut statements = output_derivative(cx);
    for l in (1..=cx.network.layers.len()).rev() {
        let layer = &cx.network.layers[l - 1];
        let input = Context::layer_input(l);
        let delta = Context::delta(l);
        let (w_mut, b_mut) = (cx.weights(l, "_mut"), cx.bias(l, "_mut"));
        if l > 1 {
            statements.extend(previous_delta(cx, l));
        }
        statements.extend(quote_spanned! {layer.code_span()=>
            #rt::kernels::scale(#delta, -rate);
            #kernels::weight_gradient(#input, #delta, self.#w_mut(), #rt::Store::Add);
            #rt::kernels::bias_gradient(#delta, self.#b_mut(), #rt::Store::Add);
        });
    }
    statements
}

/// `Δᴸ = ∂L/∂Ŷ ⊙ f'(Zᴸ)` in place, unless `of_logits` says it already is
/// `Δᴸ`; nothing for a linear output.
fn output_derivative(cx: &Context) -> TokenStream {
    let l = cx.network.layers.len();
    let derivative = activation_derivative(cx, l);
    if derivative.is_empty() {
        return derivative;
    }
    quote_spanned! {cx.network.layers[l - 1].code_span()=>
        if !of_logits {
            #derivative
        }
    }
}

/// `delta{l} ⊙= f'(Zˡ)`; nothing for `linear`.
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
            #rt::activation::backprop_softmax(&tape.#h, #delta);
        },
        activation => {
            let activation = cx.activation_value(activation);
            quote_spanned! {layer.code_span()=>
                #rt::activation::backprop_activation(&#activation, &tape.#z, &tape.#h, #delta);
            }
        }
    }
}

/// Steps 1–4 for layer `l`, given `Δˡ`, with the gradient stored.
fn store_layer(cx: &Context, l: usize) -> TokenStream {
    let kernels = cx.kernels();
    let rt = &cx.rt;
    let layer = &cx.network.layers[l - 1];
    let input = Context::layer_input(l);
    let delta = Context::delta(l);
    let (w, w_mut, b_mut) = (cx.weights(l, ""), cx.weights(l, "_mut"), cx.bias(l, "_mut"));
    // Layers above the first reborrow `grad`; the first takes it.
    let (grad, store) = if l == 1 {
        (quote!(grad), quote!(store))
    } else {
        (quote!(grad.as_mut()), quote!(*store))
    };
    let mut statements = quote_spanned! {layer.code_span()=>
        if let #rt::Some((grad, store)) = #grad {
            #kernels::weight_gradient(#input, #delta, grad.#w_mut(), #store);
            #rt::kernels::bias_gradient(#delta, grad.#b_mut(), #store);
        }
    };
    if l == 1 {
        statements.extend(quote_spanned! {layer.code_span()=>
            if let #rt::Some(grad_x) = grad_x {
                #kernels::transposed_product(#delta, self.#w(), grad_x);
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
    let (delta, previous_delta, w) = (Context::delta(l), Context::delta(l - 1), cx.weights(l, ""));
    let (_, zero) = cx.batch_matrix(previous.width);
    let mut statements = quote_spanned! {layer.code_span()=>
        let #previous_delta = &mut #zero;
        #kernels::transposed_product(#delta, self.#w(), #previous_delta);
    };
    statements.extend(activation_derivative(cx, l - 1));
    statements
}
