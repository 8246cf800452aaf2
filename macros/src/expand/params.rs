//! The network's type: one flat parameter array, with a typed view of each
//! layer's `Wˡ` and `bˡ`, the constants and the constructors.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::equations::{Style, equations};
use super::{Context, docs, size};
use crate::model::InitScheme;
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

/// `Network::take_gradient_buffer` and `keep_gradient_buffer` for a network
/// on the heap; the trait's defaults (a fresh `zeros()`) suit the others.
pub(super) fn gradient_buffer(cx: &Context) -> TokenStream {
    if !cx.params_on_heap() {
        return TokenStream::new();
    }
    let rt = &cx.rt;
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

/// Constants, constructors and the parameter views.
pub(super) fn inherent(cx: &Context) -> TokenStream {
    let Context {
        name, rt, network, ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let params = size(network.params());
    let layers = size(network.layers.len());
    let init = initialisation(cx);
    let new_doc = new_doc(cx);
    let equations_text = equations(Style::Text, network);
    let equations_latex = equations(Style::Latex, network);
    let views = views(cx);
    let storage = storage(cx);
    quote! {
        impl #name {
            /// Width of the input, `n₀`.
            pub const INPUTS: #rt::usize = #inputs;
            /// Width of the output layer.
            pub const OUTPUTS: #rt::usize = #outputs;
            /// Number of parameters: every layer's weights and biases.
            pub const PARAMS: #rt::usize = #params;
            /// Number of layers with parameters.
            pub const LAYERS: #rt::usize = #layers;
            /// This network's forward and backward equations with its
            /// shapes, as Unicode text: what `gradients` computes.
            pub const EQUATIONS: &'static #rt::str = #equations_text;
            /// [`EQUATIONS`](Self::EQUATIONS) as LaTeX, an `aligned` environment.
            pub const EQUATIONS_LATEX: &'static #rt::str = #equations_latex;

            #storage

            #new_doc
            #[must_use]
            pub fn new<R: #rt::rand_core::Rng + ?#rt::Sized>(rng: &mut R) -> Self {
                let mut network = Self::zeros();
                #init
                network
            }

            /// [`new`](Self::new) with a generator seeded by `seed`: the same
            /// seed gives the same network on every platform.
            #[must_use]
            pub fn seeded(seed: #rt::u64) -> Self {
                Self::new(&mut #rt::init::seeded_rng(seed))
            }

            #views
        }
    }
}

/// `zeros`, `params` and `params_mut`: `const fn`s on an inline array;
/// plain ones on the heap.
fn storage(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let params = size(network.params());
    let (constness, zeros, deref) = if cx.params_on_heap() {
        (
            TokenStream::new(),
            quote! {
                Self {
                    params: #rt::heap::HeapArray::zeroed(),
                    gradient: #rt::heap::GradientBuffer::EMPTY,
                }
            },
            quote!(*),
        )
    } else {
        (
            quote!(const),
            quote!(Self { params: [0.0; #params] }),
            TokenStream::new(),
        )
    };
    quote! {
        /// A network whose parameters are all zero.
        #[must_use]
        pub #constness fn zeros() -> Self {
            #zeros
        }

        /// All parameters, layer by layer: `W¹` row by row, `b¹`, `W²`, `b²`, …
        #[must_use]
        #[inline]
        pub #constness fn params(&self) -> &[#float; #params] {
            &#deref self.params
        }

        /// All parameters, mutable, in the order of [`params`](Self::params).
        #[must_use]
        #[inline]
        pub #constness fn params_mut(&mut self) -> &mut [#float; #params] {
            &mut #deref self.params
        }
    }
}

/// The doc of `new`: which initialisation it draws with.
fn new_doc(cx: &Context) -> TokenStream {
    match cx.network.init {
        None => quote! {
            /// A network with weights drawn from `rng` (Glorot uniform for
            /// `linear`, `sigmoid` and `tanh` layers, He uniform for `relu`)
            /// and zero biases.
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

/// Draws every layer's weights with the initialisation `init = …` names, or
/// else the one its activation calls for; in the order of the flat
/// parameters, as the runtime's `init::initialize` does.
fn initialisation(cx: &Context) -> TokenStream {
    let rt = &cx.rt;
    (1..=cx.network.layers.len())
        .map(|l| {
            let layer = &cx.network.layers[l - 1];
            let (fan_in, fan_out) = (size(cx.network.fan_in(l)), size(layer.width));
            let init = cx
                .network
                .init
                .map_or(layer.activation.init(), InitScheme::variant);
            let scheme = format_ident!("{init}");
            let weights = Context::weights(l, "_mut");
            let bias = cx.network.init.filter(|init| init.draws_biases()).map(|_| {
                let bias = Context::bias(l, "_mut");
                quote!(#rt::Init::#scheme.fill(rng, #fan_in, #fan_out, network.#bias());)
            });
            quote! {
                #rt::Init::#scheme.fill(rng, #fan_in, #fan_out, network.#weights().as_flattened_mut());
                #bias
            }
        })
        .collect()
}

/// `w1()`, `w1_mut()`, `b1()`, `b1_mut()`, …: each layer's slice of the flat array.
fn views(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let mut offset = 0;
    let mut views = TokenStream::new();
    for l in 1..=network.layers.len() {
        let (rows, cols) = (network.fan_in(l), network.layers[l - 1].width);
        let (w_start, w_end, b_end) = (offset, offset + rows * cols, offset + rows * cols + cols);
        offset = b_end;
        let (rows, cols) = (size(rows), size(cols));
        let (w_start, w_end, b_end) = (size(w_start), size(w_end), size(b_end));
        let (w, w_mut) = (Context::weights(l, ""), Context::weights(l, "_mut"));
        let (b, b_mut) = (Context::bias(l, ""), Context::bias(l, "_mut"));
        let (w_doc, b_doc) = docs::layer_views(network, l);
        views.extend(quote! {
            #[doc = #w_doc]
            #[must_use]
            #[inline]
            pub fn #w(&self) -> &[[#float; #cols]; #rows] {
                #rt::params::matrix(&self.params[#w_start..#w_end])
            }

            #[doc = #w_doc]
            #[must_use]
            #[inline]
            pub fn #w_mut(&mut self) -> &mut [[#float; #cols]; #rows] {
                #rt::params::matrix_mut(&mut self.params[#w_start..#w_end])
            }

            #[doc = #b_doc]
            #[must_use]
            #[inline]
            pub fn #b(&self) -> &[#float; #cols] {
                #rt::params::vector(&self.params[#w_end..#b_end])
            }

            #[doc = #b_doc]
            #[must_use]
            #[inline]
            pub fn #b_mut(&mut self) -> &mut [#float; #cols] {
                #rt::params::vector_mut(&mut self.params[#w_end..#b_end])
            }
        });
    }
    views
}
