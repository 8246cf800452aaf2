//! Code generation: from a validated [`Network`] to its type, its methods
//! and its implementation of the runtime's `Network` trait.
//!
//! - [`params`]: the struct, constants, constructors and per-layer views;
//! - [`forward`]: `Z = H·W + 1·bᵀ`, `H' = f(Z)` layer by layer, and the loss;
//! - [`backward`]: the five steps of batch backpropagation, layer by layer;
//! - [`passes`]: the tape of `Z`s and `H`s, and the impl of the runtime's
//!   hidden `Passes` trait that holds the generated passes;
//! - [`docs`]: the rustdoc of the generated items;
//! - this file: `impl Network`, what the network is.
//!
//! Generated code names everything through `::backprop::__private`, so it
//! compiles whatever the user's crate has in scope.

mod backward;
mod docs;
mod equations;
mod forward;
mod params;
mod passes;
mod recurrent;
mod stub;

use proc_macro2::{Delimiter, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::Ident;

use self::equations::{Style, equations};
use self::passes::passes;
use crate::check;
use crate::model::{Activation, FloatType, Kernels, Loss, Network};
use crate::parse::{Form, Invocation};

/// Expands the input of the hidden `expand_network!`: the path of the
/// `backprop` crate in parentheses (`backprop::network!` passes its
/// `$crate`, which names the crate however the user's `Cargo.toml` names
/// the dependency), then the user's `network!` tokens.
pub(crate) fn network_at_path(tokens: TokenStream) -> TokenStream {
    let mut tokens = tokens.into_iter();
    match tokens.next() {
        Some(TokenTree::Group(path)) if path.delimiter() == Delimiter::Parenthesis => {
            network(&path.stream(), tokens.collect())
        }
        _ => syn::Error::new(
            Span::call_site(),
            "`expand_network!` is backprop's own: use `backprop::network!`",
        )
        .to_compile_error(),
    }
}

/// Expands a `network!` invocation, or its errors; `krate` is the path of
/// the `backprop` crate.
pub(crate) fn network(krate: &TokenStream, tokens: TokenStream) -> TokenStream {
    // Known before parsing, so that even a parse error is reported in a
    // form valid where the macro stands.
    let expression = matches!(
        tokens.clone().into_iter().next(),
        Some(TokenTree::Literal(_))
    );
    let errors = |error: syn::Error| {
        let errors = error.to_compile_error();
        if expression {
            quote!({ #errors })
        } else {
            errors
        }
    };
    let invocation = match syn::parse2::<Invocation>(tokens) {
        Ok(invocation) => invocation,
        Err(error) => return errors(error),
    };
    let stub = stub::stub(&invocation, krate);
    match Network::from_invocation(invocation).and_then(check::check) {
        Ok(network) => expand(&network, krate),
        Err(error) => {
            let errors = errors(error);
            quote! { #errors #stub }
        }
    }
}

/// Names shared by every part of the expansion.
pub(super) struct Context<'a> {
    pub(super) network: &'a Network,
    /// The generated type.
    pub(super) name: Ident,
    /// `::backprop::__private`, the runtime as generated code sees it.
    pub(super) rt: TokenStream,
    /// The element type, `f32` or `f64`.
    pub(super) float: TokenStream,
}

/// Parameters beyond this many bytes live on the heap (feature `alloc`):
/// the network, its gradient and the copies a debug build makes of moved
/// values then stay off the stack, and clippy's `large_stack_arrays`
/// (whose default threshold this is) has nothing to flag.
pub(super) const HEAP_PARAMS_BYTES: usize = 16 * 1024;

impl Context<'_> {
    /// Whether the parameters live on the heap, in a `HeapArray`, rather
    /// than in an inline array.
    pub(super) fn params_on_heap(&self) -> bool {
        let bytes = match self.network.float {
            FloatType::F32 => 4,
            FloatType::F64 => 8,
        };
        self.network.params() * bytes > HEAP_PARAMS_BYTES
    }

    /// `w1`: dense layer `l`'s weight view; `_mut` for the mutable one.
    /// Its number counts the recurrent layers before it.
    pub(super) fn weights(&self, l: usize, suffix: &str) -> Ident {
        format_ident!("w{}{suffix}", self.network.number(l))
    }

    /// `b1`: dense layer `l`'s bias view.
    pub(super) fn bias(&self, l: usize, suffix: &str) -> Ident {
        format_ident!("b{}{suffix}", self.network.number(l))
    }

    /// `h1`: layer `l`'s output `Hˡ` (it holds `Zˡ` until the activation is applied).
    pub(super) fn output(l: usize) -> Ident {
        format_ident!("h{l}")
    }

    /// `z1`: layer `l`'s pre-activation `Zˡ` (a linear layer has none: its `Hˡ` is `Zˡ`).
    pub(super) fn preactivation(l: usize) -> Ident {
        format_ident!("z{l}")
    }

    /// `delta1`: `Δˡ = ∂L/∂Zˡ`.
    pub(super) fn delta(l: usize) -> Ident {
        format_ident!("delta{l}")
    }

    /// The input of layer `l`, as a reference: `x` or `&tape.h{l-1}`.
    pub(super) fn layer_input(l: usize) -> TokenStream {
        if l == 1 {
            quote!(x)
        } else {
            let h = Self::output(l - 1);
            quote!(&tape.#h)
        }
    }

    /// Whether layer `l` keeps `Zˡ` beside `Hˡ` in the tape (a linear
    /// layer's `Hˡ` is its `Zˡ`).
    pub(super) fn keeps_preactivation(&self, l: usize) -> bool {
        self.network.layers[l - 1].activation != Activation::Linear
    }

    /// The runtime value computing an element-wise activation, such as
    /// `LeakyRelu { slope: 0.2 }`: the runtime's activation types are named
    /// as the vocabulary's variants, with the same fields.
    pub(super) fn activation_value(&self, activation: Activation) -> TokenStream {
        let rt = &self.rt;
        // Softmax is not element-wise; the expander calls its row kernels instead.
        let activation = match activation {
            Activation::Softmax => Activation::Linear,
            other => other,
        };
        let value = written(&activation);
        quote!(#rt::#value)
    }

    /// The activation's typed description, such as
    /// `ActivationKind::LeakyRelu { slope: 0.2 }`.
    pub(super) fn activation_kind(&self, activation: Activation) -> TokenStream {
        let rt = &self.rt;
        let kind = written(&activation);
        quote!(#rt::ActivationKind::#kind)
    }

    /// The loss's typed description, such as
    /// `Some(LossKind::Huber { delta: 0.5 })`, or `None` for `loss = none`.
    pub(super) fn loss_kind(&self) -> TokenStream {
        let rt = &self.rt;
        if let Some(loss) = &self.network.loss {
            let kind = written(loss);
            quote!(#rt::Some(#rt::LossKind::#kind))
        } else {
            quote!(#rt::None)
        }
    }

    /// The runtime value computing the loss: a `Loss` on `Ŷ`, or for losses
    /// fused with their output activation a `LogitLoss` on `Zᴸ` (`true`);
    /// `None` for `loss = none`.
    pub(super) fn loss_value(&self) -> Option<(TokenStream, bool)> {
        let rt = &self.rt;
        Some(match self.network.loss? {
            Loss::Mse => (quote!(#rt::Mse), false),
            Loss::Mae => (quote!(#rt::Mae), false),
            Loss::Huber { delta } => {
                let delta = Literal::f64_unsuffixed(delta);
                (quote!(#rt::Huber { delta: #delta }), false)
            }
            Loss::CrossEntropy => (quote!(#rt::SoftmaxCrossEntropy), true),
            Loss::Bce => (quote!(#rt::SigmoidBinaryCrossEntropy), true),
        })
    }

    /// The row type of the built-in loss's targets: the output row, or for
    /// `loss = none` the runtime's `NoBuiltInLoss`, of which callers have no
    /// values, so a call that needs a loss is refused where it is written.
    pub(super) fn target(&self) -> TokenStream {
        let rt = &self.rt;
        if self.network.loss.is_some() {
            let (float, outputs) = (&self.float, size(self.network.outputs()));
            quote!([#float; #outputs])
        } else {
            quote!(#rt::NoBuiltInLoss)
        }
    }

    /// Whether the loss reads the logits `Zᴸ`, fused with the output
    /// activation, so the forward pass may skip that activation.
    pub(super) fn loss_is_fused(&self) -> bool {
        self.loss_value().is_some_and(|(_, fused)| fused)
    }

    /// The runtime's module of matrix products that `kernels = …` chose.
    pub(super) fn kernels(&self) -> TokenStream {
        let rt = &self.rt;
        match self.network.kernels {
            Kernels::Auto => quote!(#rt::kernels),
            Kernels::Plain => quote!(#rt::kernels::plain),
            Kernels::Blocked => quote!(#rt::kernels::blocked),
        }
    }

    /// The visibility the user gave the network (none for the expression
    /// form), for the types generated beside it.
    pub(super) fn visibility(&self) -> TokenStream {
        match &self.network.form {
            Form::Item { vis, .. } => quote!(#vis),
            Form::Expr => TokenStream::new(),
        }
    }

    /// `Some(Init::HeNormal)` for `init = he_normal`, else `None`.
    pub(super) fn init(&self) -> TokenStream {
        let rt = &self.rt;
        if let Some(init) = self.network.init {
            let scheme = format_ident!("{}", init.variant());
            quote!(#rt::Some(#rt::Init::#scheme))
        } else {
            quote!(#rt::None)
        }
    }

    /// `[[f32; width]; B]` and its all-zero value.
    pub(super) fn batch_matrix(&self, width: usize) -> (TokenStream, TokenStream) {
        let float = &self.float;
        let width = size(width);
        (quote!([[#float; #width]; B]), quote!([[0.0; #width]; B]))
    }
}

/// A variant of the vocabulary as Rust, `LeakyRelu { slope: 0.2 }`, which is
/// what its `Debug` writes: a name and fields of finite numbers (the model
/// rejects others) and booleans. So the macro holds no table of variants,
/// and a new one in the vocabulary needs nothing here.
fn written(variant: &impl core::fmt::Debug) -> TokenStream {
    let text = format!("{variant:?}");
    text.parse().unwrap_or_else(|_| {
        let message = format!("backprop could not write `{text}` as Rust");
        quote!(compile_error!(#message))
    })
}

/// A size as an unsuffixed literal, `3` rather than `3usize`, so the
/// expansion reads like hand-written code.
pub(super) fn size(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn expand(network: &Network, krate: &TokenStream) -> TokenStream {
    let name = match &network.form {
        Form::Item { name, .. } => name.clone(),
        Form::Expr => Ident::new("AnonymousNetwork", Span::call_site()),
    };
    let rt = quote!(#krate::__private);
    let float = match network.float {
        FloatType::F32 => quote!(#rt::f32),
        FloatType::F64 => quote!(#rt::f64),
    };
    let cx = Context {
        network,
        name,
        rt,
        float,
    };

    let definition = params::definition(&cx);
    let inherent = params::inherent(&cx);
    // A recurrent network is `Recurrent`, its dense layers `Passes` from
    // the last state; any other is a `Network`.
    let trait_impl = if network.is_recurrent() {
        recurrent::recurrent(&cx)
    } else {
        trait_impl(&cx)
    };
    let passes = passes(&cx);
    let items = quote! {
        #definition
        #inherent
        #trait_impl
        #passes
    };
    match &network.form {
        Form::Item { .. } => items,
        Form::Expr => {
            let name = &cx.name;
            let seed = network.seed;
            quote! {{
                #items
                #name::seeded(#seed)
            }}
        }
    }
}

/// `impl Network`: what the network is (widths, activations, loss,
/// initialisation, equations) and its flat parameters; every method users
/// call is written once in the runtime on top of them.
fn trait_impl(cx: &Context) -> TokenStream {
    let Context {
        name,
        rt,
        float,
        network,
        ..
    } = cx;
    let widths = std::iter::once(network.inputs)
        .chain(network.layers.iter().map(|layer| layer.width))
        .map(size);
    let activations = network
        .layers
        .iter()
        .map(|layer| cx.activation_kind(layer.activation));
    let loss = cx.loss_kind();
    let target = cx.target();
    let init = network.init.map(|init| {
        let scheme = format_ident!("{}", init.variant());
        quote!(const INIT: #rt::Option<#rt::Init> = #rt::Some(#rt::Init::#scheme);)
    });
    let equations_text = equations(Style::Text, network);
    let equations_latex = equations(Style::Latex, network);
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    quote! {
        impl #rt::Network for #name {
            type Float = #float;
            type Input = [#float; #inputs];
            type Output = [#float; #outputs];
            type Target = #target;
            const WIDTHS: &'static [#rt::usize] = &[#(#widths),*];
            const ACTIVATIONS: &'static [#rt::ActivationKind] = &[#(#activations),*];
            const LOSS: #rt::Option<#rt::LossKind> = #loss;
            #init
            const EQUATIONS: &'static #rt::str = #equations_text;
            const EQUATIONS_LATEX: &'static #rt::str = #equations_latex;

            // Called once a step: `#[inline]` would buy nothing.
            fn zeros() -> Self {
                Self::zeros()
            }

            fn params(&self) -> &[#float] {
                &self.params[..]
            }

            fn params_mut(&mut self) -> &mut [#float] {
                &mut self.params[..]
            }
        }
    }
}
