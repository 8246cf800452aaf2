//! The network's type: one flat parameter array, with a typed view of each
//! layer's `Wˡ` and `bˡ`, the constants and the constructors.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Context, docs, size};
use crate::parse::Form;

/// The struct, with the user's attributes and visibility.
pub(super) fn definition(cx: &Context) -> TokenStream {
    let Context {
        name,
        rt,
        float,
        network,
    } = cx;
    let params = size(network.params());
    let summary = docs::summary(network);
    let (attrs, vis) = match &network.form {
        Form::Item { attrs, vis, .. } => (quote!(#(#attrs)*), quote!(#vis)),
        Form::Expr => (TokenStream::new(), TokenStream::new()),
    };
    // The user's doc comment comes first; ours follows it.
    let separator = if attrs.is_empty() {
        quote!()
    } else {
        quote!(#[doc = ""])
    };
    // Large networks keep their parameters, and the gradient buffer a
    // training step reuses, on the heap.
    let fields = if cx.params_on_heap() {
        quote! {
            params: #rt::heap::HeapArray<#float, #params>,
            gradient: #rt::heap::GradientBuffer<#float, #params>,
        }
    } else {
        quote!(params: [#float; #params],)
    };
    quote! {
        #attrs
        #separator
        #[doc = #summary]
        #[derive(#rt::Clone, #rt::Debug, #rt::PartialEq)]
        #vis struct #name {
            #fields
        }
    }
}

/// Constructors and the parameter views.
pub(super) fn inherent(cx: &Context) -> TokenStream {
    let Context { name, rt, .. } = cx;
    let new_doc = new_doc(cx);
    let views = views(cx);
    let storage = storage(cx);
    let (new, seeded) = if cx.network.is_recurrent() {
        let init = cx.init();
        (
            quote!(#rt::default_recurrent(rng, #init)),
            quote!(#rt::seeded_recurrent(seed, #init)),
        )
    } else {
        (
            quote!(#rt::default_network(rng)),
            quote!(#rt::seeded_network(seed)),
        )
    };
    quote! {
        impl #name {
            #storage

            #new_doc
            pub fn new<R: #rt::rand_core::Rng + ?#rt::Sized>(rng: &mut R) -> Self {
                #new
            }

            /// [`new`](Self::new) with a generator seeded by `seed`: the same
            /// seed gives the same network on every platform.
            pub fn seeded(seed: #rt::u64) -> Self {
                #seeded
            }

            #views
        }
    }
}

/// `zeros`: a `const fn` on an inline array; a plain one on the heap.
fn storage(cx: &Context) -> TokenStream {
    let Context { rt, network, .. } = cx;
    let params = size(network.params());
    let (constness, zeros) = if cx.params_on_heap() {
        (
            TokenStream::new(),
            quote! {
                Self {
                    params: #rt::heap::HeapArray::zeroed(),
                    gradient: #rt::heap::GradientBuffer::EMPTY,
                }
            },
        )
    } else {
        (quote!(const), quote!(Self { params: [0.0; #params] }))
    };
    quote! {
        /// A network whose parameters are all zero.
        pub #constness fn zeros() -> Self {
            #zeros
        }
    }
}

/// The doc of `new`: which initialisation it draws with.
fn new_doc(cx: &Context) -> TokenStream {
    match cx.network.init {
        None => quote! {
            /// A network with weights drawn from `rng` as each layer's activation calls for, and zero biases.
        },
        Some(init) => {
            let biases = if init.draws_biases() {
                "weights and biases"
            } else {
                "weights, and zero biases"
            };
            let doc = format!(
                " A network with {biases} drawn from `rng` by `Init::{}` (`init = {}`).",
                init.variant(),
                init.name()
            );
            quote!(#[doc = #doc])
        }
    }
}

/// The parameters of the dense layers, which follow the recurrent ones.
fn dense_params(network: &crate::model::Network) -> usize {
    (1..=network.layers.len())
        .map(|l| network.layer_params(l))
        .sum()
}

/// `w1()`, `w1_mut()`, `b1()`, `b1_mut()`, …: each dense layer's slice of the flat array.
fn views(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let mut offset = network.params() - dense_params(network);
    let mut views = TokenStream::new();
    for l in 1..=network.layers.len() {
        let (rows, cols) = (network.fan_in(l), network.layers[l - 1].width);
        let (w_start, w_end, b_end) = (offset, offset + rows * cols, offset + rows * cols + cols);
        offset = b_end;
        let (rows, cols) = (size(rows), size(cols));
        let (w_start, w_end, b_end) = (size(w_start), size(w_end), size(b_end));
        let (w, w_mut) = (cx.weights(l, ""), cx.weights(l, "_mut"));
        let (b, b_mut) = (cx.bias(l, ""), cx.bias(l, "_mut"));
        let (w_doc, b_doc) = docs::layer_views(network, l);
        views.extend(quote! {
            #[doc = #w_doc]
            #[inline]
            pub fn #w(&self) -> &[[#float; #cols]; #rows] {
                #rt::params::matrix(&self.params[#w_start..#w_end])
            }

            #[doc = #w_doc]
            #[inline]
            pub fn #w_mut(&mut self) -> &mut [[#float; #cols]; #rows] {
                #rt::params::matrix_mut(&mut self.params[#w_start..#w_end])
            }

            #[doc = #b_doc]
            #[inline]
            pub fn #b(&self) -> &[#float; #cols] {
                #rt::params::vector(&self.params[#w_end..#b_end])
            }

            #[doc = #b_doc]
            #[inline]
            pub fn #b_mut(&mut self) -> &mut [#float; #cols] {
                #rt::params::vector_mut(&mut self.params[#w_end..#b_end])
            }
        });
    }
    views
}
