//! What an invalid network expands to beside its errors: a type of its
//! name that has the methods and the `Network` (or `Recurrent`, with a
//! state type) implementation of a valid one, so that code using it compiles on and the macro's error is the
//! only one (as thiserror's fallback implementations do). Every pass
//! panics; nothing can run, since the crate does not compile.

use proc_macro2::TokenStream;
use quote::quote;

use super::size;
use crate::model::Cell;
use crate::parse::{Form, Invocation};

/// The stand-in of `invocation`'s type, or nothing for the expression form.
pub(super) fn stub(invocation: &Invocation, krate: &TokenStream) -> TokenStream {
    let Form::Item { vis, name, .. } = &invocation.form else {
        return TokenStream::new();
    };
    let rt = quote!(#krate::__private);
    let plain = quote! {
        #[allow(dead_code, missing_docs)]
        #vis struct #name;
    };
    // The widths as written, where they are integers, so that the input and
    // output types are the ones the user's code expects.
    let Some(widths) = widths(invocation) else {
        return plain;
    };
    let float = if float_is_f64(invocation) {
        quote!(#rt::f64)
    } else {
        quote!(#rt::f32)
    };
    let (inputs, outputs) = (size(widths[0]), size(widths[widths.len() - 1]));
    let widths: Vec<_> = widths.iter().map(|&width| size(width)).collect();
    let (input, output) = (quote!([#float; #inputs]), quote!([#float; #outputs]));
    let panic = quote!(::core::unreachable!("the network! invocation has errors"));
    let recurrent = is_recurrent(invocation)
        .then(|| recurrent_stub(vis, name, &rt, &float, &input, &output, &widths));
    let network = if recurrent.is_some() {
        TokenStream::new()
    } else {
        let widths = widths.clone();
        quote! {
            impl #rt::Network for #name {
                type Float = #float;
                type Input = #input;
                type Output = #output;
                type Target = #output;
                const WIDTHS: &'static [#rt::usize] = &[#(#widths),*];
                const ACTIVATIONS: &'static [#rt::ActivationKind] = &[];
                const LOSS: #rt::Option<#rt::LossKind> = #rt::None;
                const EQUATIONS: &'static #rt::str = "";
                const EQUATIONS_LATEX: &'static #rt::str = "";
                fn zeros() -> Self { Self }
                fn params(&self) -> &[#float] { &[] }
                fn params_mut(&mut self) -> &mut [#float] { &mut [] }
            }
        }
    };
    quote! {
        #recurrent
        #[allow(dead_code, missing_docs)]
        #[derive(#rt::Clone, #rt::Debug, #rt::PartialEq)]
        #vis struct #name;
        #[allow(dead_code, missing_docs, clippy::all)]
        const _: () = {
            impl #name {
                pub const fn zeros() -> Self { Self }
                pub fn new<R: #rt::rand_core::Rng + ?#rt::Sized>(_: &mut R) -> Self { Self }
                pub fn seeded(_: #rt::u64) -> Self { Self }
            }
            #network
            impl #rt::Passes<#float, #input, #output> for #name {
                type Tape<const B: #rt::usize> = ();
                fn tape<const B: #rt::usize>() {}
                fn forward_rows_in<const WIDE: bool, const B: #rt::usize>(&self, _: &[#input; B], _: &mut (), _: bool) {
                    #panic
                }
                fn output<const B: #rt::usize>(_: &()) -> &[#output; B] { #panic }
                fn loss_rows<const B: #rt::usize>(
                    _: &(),
                    _: &[#output; B],
                    _: #rt::usize,
                    _: #rt::usize,
                    _: #rt::Option<&mut [#output; B]>,
                ) -> #float {
                    #panic
                }
                fn backward_rows<const B: #rt::usize>(
                    &self,
                    _: &[#input; B],
                    _: &(),
                    _: &mut [#output; B],
                    _: bool,
                    _: #rt::Option<(&mut Self, #rt::Store)>,
                    _: #rt::Option<&mut [#input; B]>,
                ) {
                    #panic
                }
                fn descend_rows<const B: #rt::usize>(
                    &mut self,
                    _: &[#input; B],
                    _: &(),
                    _: &mut [#output; B],
                    _: bool,
                    _: #float,
                ) {
                    #panic
                }
                fn take_gradient_buffer(&mut self) -> Self { Self }
            }
        };
    }
}

/// The `Recurrent` implementation and the state type of a stand-in for a
/// recurrent network.
fn recurrent_stub(
    vis: &syn::Visibility,
    name: &syn::Ident,
    rt: &TokenStream,
    float: &TokenStream,
    input: &TokenStream,
    output: &TokenStream,
    widths: &[proc_macro2::Literal],
) -> TokenStream {
    let panic = quote!(::core::unreachable!("the network! invocation has errors"));
    let state = quote::format_ident!("{name}State");
    quote! {
        #[allow(dead_code, missing_docs)]
        #[derive(#rt::Clone, #rt::Copy, #rt::Debug, #rt::Default, #rt::PartialEq)]
        #vis struct #state;
        #[allow(dead_code, missing_docs, clippy::all)]
        const _: () = {
            impl #state {
                pub fn reset(&mut self) {}
            }
            impl #rt::Recurrent for #name {
                type Float = #float;
                type Input = #input;
                type Hidden = #input;
                type Output = #output;
                type Target = #output;
                type State = #state;
                type Cache = ();
                const CELLS: &'static [#rt::CellKind] = &[];
                const WIDTHS: &'static [#rt::usize] = &[#(#widths),*];
                const ACTIVATIONS: &'static [#rt::ActivationKind] = &[];
                const LOSS: #rt::Option<#rt::LossKind> = #rt::None;
                const EQUATIONS: &'static #rt::str = "";
                const EQUATIONS_LATEX: &'static #rt::str = "";
                const PARAMS: #rt::usize = 0;
                const ZERO_CACHE: () = ();
                fn zeros() -> Self { Self }
                fn params(&self) -> &[#float] { &[] }
                fn params_mut(&mut self) -> &mut [#float] { &mut [] }
                fn hidden_step(&self, _: &mut #state, _: &#input) -> #input { #panic }
                fn hidden_step_cached(&self, _: &mut #state, _: &#input, _: &mut ()) -> #input {
                    #panic
                }
                fn hidden_step_backward(
                    &self,
                    _: &#input,
                    _: &(),
                    _: &#input,
                    _: &mut #state,
                    _: &mut Self,
                    _: &mut #input,
                ) {
                    #panic
                }
            }
        };
    }
}

/// The input width and every layer's, if each is an integer literal.
fn widths(invocation: &Invocation) -> Option<Vec<usize>> {
    let mut widths = vec![invocation.input.base10_parse().ok()?];
    for layer in &invocation.layers {
        let first = layer.args.clone().into_iter().next()?;
        let width = syn::parse2::<syn::LitInt>(first.into()).ok()?;
        widths.push(width.base10_parse().ok()?);
    }
    Some(widths)
}

/// Whether a layer is named as a recurrent cell: the stand-in is then a
/// `Recurrent` network, with a state type.
fn is_recurrent(invocation: &Invocation) -> bool {
    invocation
        .layers
        .iter()
        .any(|layer| Cell::from_name(&layer.activation.to_string()).is_some())
}

/// Whether the options say `float = f64`.
fn float_is_f64(invocation: &Invocation) -> bool {
    invocation
        .options
        .iter()
        .any(|option| option.key == "float" && option.value.to_string() == "f64")
}
