//! What a network with `lstm` or `gru` layers adds: each recurrent layer's
//! view of the flat parameters, the state and cache types, and `impl
//! Recurrent` with the three steps its methods are built on (one stream,
//! one time step, through every recurrent layer). The dense layers after
//! them are the same generated passes as any network's, from the last
//! recurrent state.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::equations::{Style, equations};
use super::{Context, size};
use crate::model::Cell;

/// The state and cache types, the recurrent layers' views and `impl
/// Recurrent`.
pub(super) fn recurrent(cx: &Context) -> TokenStream {
    let state = state_type(cx);
    let views = views(cx);
    let trait_impl = trait_impl(cx);
    let name = &cx.name;
    quote! {
        #state

        impl #name {
            #views
        }

        #trait_impl
    }
}

/// `lstm1`: recurrent layer `r`'s view, and its field in the state and cache.
fn layer_name(cell: Cell, r: usize) -> Ident {
    format_ident!("{}{r}", cell.name())
}

/// `h1`: recurrent layer `r`'s output at a step, kept in the cache for the
/// layer above.
fn hidden(r: usize) -> Ident {
    format_ident!("h{r}")
}

/// The runtime's module of a cell, `recurrent::lstm`.
fn module(cx: &Context, cell: Cell) -> TokenStream {
    let rt = &cx.rt;
    let cell = format_ident!("{}", cell.name());
    quote!(#rt::recurrent::#cell)
}

/// `LstmState`, `LstmCache`, `LstmParams`, …: the runtime's type of a cell.
fn cell_type(cx: &Context, cell: Cell, what: &str) -> TokenStream {
    let rt = &cx.rt;
    let ty = match cell {
        Cell::Lstm => format_ident!("Lstm{what}"),
        Cell::Gru => format_ident!("Gru{what}"),
    };
    quote!(#rt::recurrent::#ty)
}

/// `AmpState`: every recurrent layer's state, and `AmpCache`: what the
/// backward pass needs of one step.
fn state_type(cx: &Context) -> TokenStream {
    let Context {
        name,
        rt,
        float,
        network,
    } = cx;
    let state = format_ident!("{name}State");
    let cache = format_ident!("{name}Cache");
    let mut state_fields = Vec::new();
    let mut cache_fields = Vec::new();
    let mut cache_zeros = Vec::new();
    let last = network.recurrent.len();
    for (index, layer) in network.recurrent.iter().enumerate() {
        let r = index + 1;
        let field = layer_name(layer.cell, r);
        let width = size(layer.width);
        let state_ty = cell_type(cx, layer.cell, "State");
        let cache_ty = cell_type(cx, layer.cell, "Cache");
        let doc = format!(
            "Layer {r}'s state (`{}({})`).",
            layer.cell.name(),
            layer.width
        );
        state_fields.push(quote! {
            #[doc = #doc]
            pub #field: #state_ty<#float, #width>
        });
        cache_fields.push(quote!(#field: #cache_ty<#float, #width>));
        cache_zeros.push(quote!(#field: #cache_ty::ZERO));
        if r < last {
            let h = hidden(r);
            cache_fields.push(quote!(#h: [#float; #width]));
            cache_zeros.push(quote!(#h: [0.0; #width]));
        }
    }
    let vis = cx.visibility();
    let state_doc = format!(
        "The state of one stream of [`{name}`]: every recurrent layer's. `Default` is \
         the zero state, PyTorch's default `h₀` (and `c₀`); in a backward pass the same \
         type holds a state's gradient."
    );
    let cache_doc = format!(
        "What [`{name}`]'s backward pass needs of one step of one stream: every \
         recurrent layer's cache, and the outputs the layers above read."
    );
    quote! {
        #[doc = #state_doc]
        #[derive(#rt::Clone, #rt::Copy, #rt::Debug, #rt::Default, #rt::PartialEq)]
        #vis struct #state {
            #(#state_fields,)*
        }

        impl #state {
            /// Back to the zero state, as at the start of a stream.
            #[inline]
            pub fn reset(&mut self) {
                *self = <Self as #rt::Default>::default();
            }
        }

        #[doc = #cache_doc]
        #[derive(#rt::Clone, #rt::Copy, #rt::Debug)]
        #vis struct #cache {
            #(#cache_fields,)*
        }

        impl #cache {
            /// A cache of zeros.
            pub const ZERO: Self = Self { #(#cache_zeros,)* };
        }
    }
}

/// `lstm1()`, `lstm1_mut()`, …: each recurrent layer's parameters in the
/// runtime's view of PyTorch's four tensors.
fn views(cx: &Context) -> TokenStream {
    let Context { float, network, .. } = cx;
    let mut offset = 0;
    let mut views = TokenStream::new();
    for (index, layer) in network.recurrent.iter().enumerate() {
        let r = index + 1;
        let (start, end) = (offset, offset + network.recurrent_params(r));
        offset = end;
        let (fan_in, width) = (size(network.recurrent_fan_in(r)), size(layer.width));
        let (start, end) = (size(start), size(end));
        let view = layer_name(layer.cell, r);
        let view_mut = format_ident!("{view}_mut");
        let params = cell_type(cx, layer.cell, "Params");
        let params_mut = cell_type(cx, layer.cell, "ParamsMut");
        let from = if r == 1 {
            "the input".to_owned()
        } else {
            format!("layer {}", r - 1)
        };
        let doc = format!(
            "Layer {r}'s parameters (`{}({})`, from {from}): PyTorch's `weight_ih_l0`, \
             `weight_hh_l0`, `bias_ih_l0` and `bias_hh_l0` of `nn.{}`, gates {}.",
            layer.cell.name(),
            layer.width,
            layer.cell.module(),
            layer.cell.gate_names().join(", "),
        );
        views.extend(quote_spanned! {layer.code_span()=>
            #[doc = #doc]
            #[inline]
            pub fn #view(&self) -> #params<'_, #float, #fan_in, #width> {
                #params::from_flat(&self.params[#start..#end])
            }

            #[doc = #doc]
            #[inline]
            pub fn #view_mut(&mut self) -> #params_mut<'_, #float, #fan_in, #width> {
                #params_mut::from_flat(&mut self.params[#start..#end])
            }
        });
    }
    views
}

/// `impl Recurrent`: what the network is, and its three steps.
fn trait_impl(cx: &Context) -> TokenStream {
    let Context {
        name,
        rt,
        float,
        network,
    } = cx;
    let state = format_ident!("{name}State");
    let cache = format_ident!("{name}Cache");
    let widths = std::iter::once(network.inputs)
        .chain(network.recurrent.iter().map(|layer| layer.width))
        .chain(network.layers.iter().map(|layer| layer.width))
        .map(size);
    let cells = network.recurrent.iter().map(|layer| match layer.cell {
        Cell::Lstm => quote!(#rt::CellKind::Lstm),
        Cell::Gru => quote!(#rt::CellKind::Gru),
    });
    let activations = network
        .layers
        .iter()
        .map(|layer| cx.activation_kind(layer.activation));
    let loss = cx.loss_kind();
    let target = cx.target();
    let params = size(network.params());
    let equations_text = equations(Style::Text, network);
    let equations_latex = equations(Style::Latex, network);
    let (inputs, hidden_width, outputs) = (
        size(network.inputs),
        size(network.dense_inputs()),
        size(network.outputs()),
    );
    let (step, cached, backward) = (step(cx, false), step(cx, true), step_backward(cx));
    quote! {
        impl #rt::Recurrent for #name {
            type Float = #float;
            type Input = [#float; #inputs];
            type Hidden = [#float; #hidden_width];
            type Output = [#float; #outputs];
            type Target = #target;
            type State = #state;
            type Cache = #cache;
            const CELLS: &'static [#rt::CellKind] = &[#(#cells),*];
            const WIDTHS: &'static [#rt::usize] = &[#(#widths),*];
            const ACTIVATIONS: &'static [#rt::ActivationKind] = &[#(#activations),*];
            const LOSS: #rt::Option<#rt::LossKind> = #loss;
            const EQUATIONS: &'static #rt::str = #equations_text;
            const EQUATIONS_LATEX: &'static #rt::str = #equations_latex;
            const PARAMS: #rt::usize = #params;
            const ZERO_CACHE: #cache = #cache::ZERO;

            fn zeros() -> Self {
                Self::zeros()
            }

            fn params(&self) -> &[#float] {
                &self.params[..]
            }

            fn params_mut(&mut self) -> &mut [#float] {
                &mut self.params[..]
            }

            #[inline]
            fn hidden_step(
                &self,
                state: &mut #state,
                x: &[#float; #inputs],
            ) -> [#float; #hidden_width] {
                #step
            }

            #[inline]
            fn hidden_step_cached(
                &self,
                state: &mut #state,
                x: &[#float; #inputs],
                cache: &mut #cache,
            ) -> [#float; #hidden_width] {
                #cached
            }

            #[inline]
            fn hidden_step_backward(
                &self,
                x: &[#float; #inputs],
                cache: &#cache,
                grad_hidden: &[#float; #hidden_width],
                carried: &mut #state,
                grad: &mut Self,
                grad_x: &mut [#float; #inputs],
            ) {
                #backward
            }
        }
    }
}

/// One step of every recurrent layer, each reading the one below: into
/// locals `h1`, `h2`, … or, `cached`, into the cache.
fn step(cx: &Context, cached: bool) -> TokenStream {
    let network = cx.network;
    let last = network.recurrent.len();
    let mut statements = TokenStream::new();
    for (index, layer) in network.recurrent.iter().enumerate() {
        let r = index + 1;
        let field = layer_name(layer.cell, r);
        let module = module(cx, layer.cell);
        let input = match (r, cached) {
            (1, _) => quote!(x),
            (_, false) => {
                let h = hidden(r - 1);
                quote!(&#h)
            }
            (_, true) => {
                let h = hidden(r - 1);
                quote!(&cache.#h)
            }
        };
        let call = if cached {
            quote!(#module::step_cached(&self.#field(), &mut state.#field, #input, &mut cache.#field))
        } else {
            quote!(#module::step(&self.#field(), &mut state.#field, #input))
        };
        let h = hidden(r);
        statements.extend(match (r == last, cached) {
            (true, _) => quote_spanned!(layer.code_span()=> #call),
            (false, false) => quote_spanned!(layer.code_span()=> let #h = #call;),
            (false, true) => quote_spanned!(layer.code_span()=> cache.#h = #call;),
        });
    }
    statements
}

/// The step backwards, from the last recurrent layer to the first: each
/// layer's `∂L/∂x` is the gradient of the layer below's output.
fn step_backward(cx: &Context) -> TokenStream {
    let network = cx.network;
    let last = network.recurrent.len();
    let mut statements = TokenStream::new();
    for (index, layer) in network.recurrent.iter().enumerate().rev() {
        let r = index + 1;
        let field = layer_name(layer.cell, r);
        let field_mut = format_ident!("{field}_mut");
        let module = module(cx, layer.cell);
        let input = if r == 1 {
            quote!(x)
        } else {
            let h = hidden(r - 1);
            quote!(&cache.#h)
        };
        let grad_h = if r == last {
            quote!(grad_hidden)
        } else {
            let g = format_ident!("grad_h{r}");
            quote!(&#g)
        };
        let grad_input = if r == 1 {
            quote!(grad_x)
        } else {
            let g = format_ident!("grad_h{}", r - 1);
            let width = size(network.recurrent[r - 2].width);
            statements.extend(quote!(let mut #g = [0.0; #width];));
            quote!(&mut #g)
        };
        statements.extend(quote_spanned! {layer.code_span()=>
            #module::step_backward(
                &self.#field(),
                #input,
                &cache.#field,
                #grad_h,
                &mut carried.#field,
                &mut grad.#field_mut(),
                #grad_input,
            );
        });
    }
    statements
}
