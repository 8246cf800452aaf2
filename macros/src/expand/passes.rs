//! The generated passes: a tape holding every layer's `Zˡ` and `Hˡ` for `B`
//! rows, and the runtime's hidden `Passes` trait, whose forward, loss and
//! backward passes are written out for this network's sizes. Both stand in
//! an anonymous `const` block, so the tape's name is the macro's own.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::{Context, backward, forward, size};
use crate::model::FloatType;

/// The tape type and `impl Passes`.
pub(super) fn passes(cx: &Context) -> TokenStream {
    let Context {
        name,
        rt,
        float,
        network,
    } = cx;
    let tape = format_ident!("{name}Tape");
    // A recurrent network's dense layers start from its last state.
    let (inputs, outputs) = (size(network.dense_inputs()), size(network.outputs()));
    let last = network.layers.len();
    let (tape_struct, tape_fn) = tape_type(cx, &tape);
    let output = Context::output(last);
    let delta = Context::delta(last);

    let logits_only = if cx.loss_is_fused() {
        quote!(logits_only)
    } else {
        quote!(_)
    };
    let forward = forward::layers(cx);
    let target = cx.target();
    let loss_rows = forward::loss(cx).map(|loss| {
        quote! {
            fn loss_rows<const B: #rt::usize>(
                tape: &#tape<B>,
                y: &[[#float; #outputs]; B],
                live: #rt::usize,
                batch_rows: #rt::usize,
                delta: #rt::Option<&mut [[#float; #outputs]; B]>,
            ) -> #float {
                #loss
            }
        }
    });
    let output_is_linear = !cx.keeps_preactivation(last);
    let of_logits = if output_is_linear {
        quote!(_)
    } else {
        quote!(of_logits)
    };
    let backward = backward::backward(cx);
    let descend = backward::descend(cx);
    // Layers above the first reborrow `grad`; the first takes it.
    let grad = if last > 1 {
        quote!(mut grad)
    } else {
        quote!(grad)
    };
    let gradient_buffer = gradient_buffer(cx);
    let wide_forward = wide_forward(cx);
    quote! {
        const _: () = {
            #tape_struct

            impl #rt::Passes<#float, [#float; #inputs], [#float; #outputs], #target> for #name {
                type Tape<const B: #rt::usize> = #tape<B>;
                #wide_forward

                #tape_fn

                #[inline(always)]
                fn forward_rows_in<const WIDE: bool, const B: #rt::usize>(
                    &self,
                    x: &[[#float; #inputs]; B],
                    tape: &mut #tape<B>,
                    #logits_only: bool,
                ) {
                    #forward
                }

                fn output<const B: #rt::usize>(tape: &#tape<B>) -> &[[#float; #outputs]; B] {
                    &tape.#output
                }

                #loss_rows

                #[inline]
                fn backward_rows<const B: #rt::usize>(
                    &self,
                    x: &[[#float; #inputs]; B],
                    tape: &#tape<B>,
                    #delta: &mut [[#float; #outputs]; B],
                    #of_logits: bool,
                    #grad: #rt::Option<(&mut Self, #rt::Store)>,
                    grad_x: #rt::Option<&mut [[#float; #inputs]; B]>,
                ) {
                    #backward
                }

                #[inline]
                fn descend_rows<const B: #rt::usize>(
                    &mut self,
                    x: &[[#float; #inputs]; B],
                    tape: &#tape<B>,
                    #delta: &mut [[#float; #outputs]; B],
                    #of_logits: bool,
                    rate: #float,
                ) {
                    #descend
                }

                #gradient_buffer
            }
        };
    }
}

/// `WIDE_FORWARD = false` for a network whose layers are all narrower than
/// one AVX2 register (8 `f32` or 4 `f64`), whose forward pass then has no
/// copy for AVX2 and FMA; nothing for the others.
fn wide_forward(cx: &Context) -> Option<TokenStream> {
    let lanes = match cx.network.float {
        FloatType::F32 => 8,
        FloatType::F64 => 4,
    };
    let narrow = cx.network.layers.iter().all(|layer| layer.width < lanes);
    narrow.then(|| {
        quote!(
            const WIDE_FORWARD: bool = false;
        )
    })
}

/// The tape's struct, with a field for every layer's `z{l}` (non-linear
/// layers) and `h{l}`, and `Passes::tape`, which makes one of zeros.
fn tape_type(cx: &Context, tape: &Ident) -> (TokenStream, TokenStream) {
    let rt = &cx.rt;
    let mut fields = Vec::new();
    for (index, layer) in cx.network.layers.iter().enumerate() {
        let l = index + 1;
        let (ty, zero) = cx.batch_matrix(layer.width);
        if cx.keeps_preactivation(l) {
            fields.push((Context::preactivation(l), ty.clone(), zero.clone()));
        }
        fields.push((Context::output(l), ty, zero));
    }
    let names: Vec<_> = fields.iter().map(|(name, ..)| name).collect();
    let types = fields.iter().map(|(_, ty, _)| ty);
    let zeros = fields.iter().map(|(.., zero)| zero);
    (
        quote! {
            pub struct #tape<const B: #rt::usize> {
                #(#names: #types,)*
            }
        },
        quote! {
            fn tape<const B: #rt::usize>() -> #tape<B> {
                #tape { #(#names: #zeros),* }
            }
        },
    )
}

/// `take_gradient_buffer` and `keep_gradient_buffer`: a network on the heap
/// hands out the buffer of its previous step; the others keep the trait's
/// default, a copy of the network.
fn gradient_buffer(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    if !cx.params_on_heap() {
        return TokenStream::new();
    }
    quote! {
        #[inline]
        fn take_gradient_buffer(&mut self) -> Self {
            Self {
                params: self.gradient.take(),
                gradient: #rt::heap::GradientBuffer::EMPTY,
            }
        }

        #[inline]
        fn keep_gradient_buffer(&mut self, grad: Self) {
            self.gradient.keep(grad.params);
        }
    }
}
