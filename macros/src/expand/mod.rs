//! Code generation: from a validated [`Network`] to its type, its methods
//! and its implementation of the runtime's `Network` trait.
//!
//! - [`params`]: the struct, constants, constructors and per-layer views;
//! - [`forward`]: `Z = H·W + 1·bᵀ`, `H' = f(Z)` layer by layer, and the loss;
//! - [`backward`]: the five steps of batch backpropagation, layer by layer;
//! - [`docs`]: the rustdoc of the generated items;
//! - this file: the public methods, which delegate to the trait.
//!
//! Generated code names everything through `::backprop::__private`, so it
//! compiles whatever the user's crate has in scope.

mod backward;
mod docs;
mod equations;
mod forward;
mod params;

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::Ident;

use crate::check;
use crate::model::{Activation, FloatType, Kernels, Loss, Network};
use crate::parse::{Form, Invocation};

/// Expands a `network!` invocation, or its errors.
pub(crate) fn network(tokens: TokenStream) -> TokenStream {
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
    let stub = stub(&invocation.form);
    match Network::from_invocation(invocation).and_then(check::check) {
        Ok(network) => expand(&network),
        Err(error) => {
            let errors = errors(error);
            quote! { #errors #stub }
        }
    }
}

/// A stand-in type of the invalid network's name, so that the user sees the
/// error in the macro, not knock-on errors wherever the name is used.
fn stub(form: &Form) -> TokenStream {
    match form {
        Form::Item { vis, name, .. } => quote! {
            #[allow(dead_code, missing_docs)]
            #vis struct #name;
        },
        Form::Expr => TokenStream::new(),
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

    /// `w1`: layer `l`'s weight view; `_mut` for the mutable one.
    pub(super) fn weights(l: usize, suffix: &str) -> Ident {
        format_ident!("w{l}{suffix}")
    }

    /// `b1`: layer `l`'s bias view.
    pub(super) fn bias(l: usize, suffix: &str) -> Ident {
        format_ident!("b{l}{suffix}")
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

    /// The input of layer `l`, as a reference: `x` or `&h{l-1}`.
    pub(super) fn layer_input(l: usize) -> TokenStream {
        if l == 1 {
            quote!(x)
        } else {
            let h = Self::output(l - 1);
            quote!(&#h)
        }
    }

    /// The runtime value computing an element-wise activation, such as
    /// `LeakyRelu { slope: 0.2 }`.
    pub(super) fn activation_value(&self, activation: Activation) -> TokenStream {
        let rt = &self.rt;
        match activation {
            // Softmax is not element-wise; the expander calls its row kernels instead.
            Activation::Linear | Activation::Softmax => quote!(#rt::Linear),
            Activation::Sigmoid => quote!(#rt::Sigmoid),
            Activation::Tanh => quote!(#rt::Tanh),
            Activation::Relu => quote!(#rt::Relu),
            Activation::LeakyRelu { slope } => {
                let slope = Literal::f64_unsuffixed(slope);
                quote!(#rt::LeakyRelu { slope: #slope })
            }
            Activation::Elu { alpha } => {
                let alpha = Literal::f64_unsuffixed(alpha);
                quote!(#rt::Elu { alpha: #alpha })
            }
            Activation::Gelu { tanh_approximation } => {
                quote!(#rt::Gelu { tanh_approximation: #tanh_approximation })
            }
            Activation::Silu => quote!(#rt::Silu),
            Activation::Softplus { beta } => {
                let beta = Literal::f64_unsuffixed(beta);
                quote!(#rt::Softplus { beta: #beta })
            }
        }
    }

    /// The runtime value computing the loss: a `Loss` on `Ŷ`, or for losses
    /// fused with their output activation a `LogitLoss` on `Zᴸ` (`true`).
    pub(super) fn loss_value(&self) -> (TokenStream, bool) {
        let rt = &self.rt;
        match self.network.loss {
            Loss::Mse => (quote!(#rt::Mse), false),
            Loss::Mae => (quote!(#rt::Mae), false),
            Loss::Huber { delta } => {
                let delta = Literal::f64_unsuffixed(delta);
                (quote!(#rt::Huber { delta: #delta }), false)
            }
            Loss::CrossEntropy => (quote!(#rt::SoftmaxCrossEntropy), true),
            Loss::Bce => (quote!(#rt::SigmoidBinaryCrossEntropy), true),
        }
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

    /// `[[f32; width]; B]` and its all-zero value.
    pub(super) fn batch_matrix(&self, width: usize) -> (TokenStream, TokenStream) {
        let float = &self.float;
        let width = size(width);
        (quote!([[#float; #width]; B]), quote!([[0.0; #width]; B]))
    }
}

/// A size as an unsuffixed literal, `3` rather than `3usize`, so the
/// expansion reads like hand-written code.
pub(super) fn size(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn expand(network: &Network) -> TokenStream {
    let name = match &network.form {
        Form::Item { name, .. } => name.clone(),
        Form::Expr => Ident::new("AnonymousNetwork", Span::call_site()),
    };
    let rt = quote!(::backprop::__private);
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
    let methods = public_methods(&cx);
    let trait_impl = trait_impl(&cx);
    let items = quote! {
        #definition
        #inherent
        #methods
        #trait_impl
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

/// The batch methods users call, each delegating to the trait's version so
/// that they work without importing `Network` and document this network's
/// exact types.
fn public_methods(cx: &Context) -> TokenStream {
    let name = &cx.name;
    let fixed = fixed_batch_methods(cx);
    let slices = slice_methods(cx);
    quote! {
        impl #name {
            #fixed
            #slices
        }
    }
}

/// Row types shared by the method signatures.
struct Rows {
    fixed_x: TokenStream,
    fixed_y: TokenStream,
    slice_x: TokenStream,
    slice_y: TokenStream,
}

impl Rows {
    fn new(cx: &Context) -> Self {
        let float = &cx.float;
        let (inputs, outputs) = (size(cx.network.inputs), size(cx.network.outputs()));
        Self {
            fixed_x: quote!([[#float; #inputs]; B]),
            fixed_y: quote!([[#float; #outputs]; B]),
            slice_x: quote!([[#float; #inputs]]),
            slice_y: quote!([[#float; #outputs]]),
        }
    }
}

/// `forward::<B>`, `loss::<B>`, `gradients::<B>`, … for a batch size known at compile time.
fn fixed_batch_methods(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let Rows {
        fixed_x: x_rows,
        fixed_y: y_rows,
        ..
    } = Rows::new(cx);
    let net = quote!(<Self as #rt::Network>);
    let docs::Methods {
        forward,
        loss,
        gradients,
        input_gradients,
        train_step,
    } = docs::Methods::new(network);
    quote! {
            #[doc = #forward]
            #[must_use]
            #[inline]
            pub fn forward<const B: #rt::usize>(&self, x: &#x_rows) -> #y_rows {
                #net::forward(self, x)
            }

            #[doc = #loss]
            #[must_use]
            #[inline]
            pub fn loss<const B: #rt::usize>(&self, x: &#x_rows, y: &#y_rows) -> #float {
                #net::loss(self, x, y)
            }

            #[doc = #gradients]
            #[must_use]
            #[inline]
            pub fn gradients<const B: #rt::usize>(&self, x: &#x_rows, y: &#y_rows) -> (#float, Self) {
                #net::gradients(self, x, y)
            }

            #[doc = #input_gradients]
            #[must_use]
            #[inline]
            pub fn input_gradients<const B: #rt::usize>(&self, x: &#x_rows, y: &#y_rows) -> (#float, #x_rows) {
                #net::input_gradients(self, x, y)
            }

            #[doc = #train_step]
            #[inline]
            pub fn train_step<const B: #rt::usize, O: #rt::Optimizer<#float> + ?#rt::Sized>(
                &mut self,
                x: &#x_rows,
                y: &#y_rows,
                optimizer: &mut O,
            ) -> #float {
                #net::train_step(self, x, y, optimizer)
            }

            /// [`train_step`](Self::train_step), guarded: if the loss or any
            /// gradient entry is NaN or infinite, the update is not applied.
            ///
            /// # Errors
            ///
            /// `TrainError::NonFiniteLoss` or `TrainError::NonFiniteGradient`;
            /// the parameters are then left as they were.
            #[inline]
            pub fn train_step_checked<const B: #rt::usize, O: #rt::Optimizer<#float> + ?#rt::Sized>(
                &mut self,
                x: &#x_rows,
                y: &#y_rows,
                optimizer: &mut O,
            ) -> #rt::Result<#float, #rt::TrainError> {
                #net::train_step_checked(self, x, y, optimizer)
            }
    }
}

/// The `*_slice` methods, for a batch size known only at run time.
fn slice_methods(cx: &Context) -> TokenStream {
    let Context {
        rt, float, network, ..
    } = cx;
    let Rows {
        slice_x: x_slice,
        slice_y: y_slice,
        ..
    } = Rows::new(cx);
    let result = quote!(#rt::Result);
    let error = quote!(#rt::BatchError);
    let net = quote!(<Self as #rt::Network>);
    let docs::Methods {
        forward,
        loss,
        gradients,
        input_gradients,
        train_step,
    } = docs::Methods::new(network);
    let slice = docs::SLICE;
    quote! {
            #[doc = #forward]
            #[doc = #slice]
            ///
            /// # Errors
            ///
            /// `BatchError::RowMismatch` if `out` does not have one row per row of `x`.
            #[inline]
            pub fn forward_slice(&self, x: &#x_slice, out: &mut #y_slice) -> #result<(), #error> {
                #net::forward_slice(self, x, out)
            }

            #[doc = #loss]
            #[doc = #slice]
            ///
            /// # Errors
            ///
            /// `BatchError` if `x` and `y` differ in length or are empty.
            #[inline]
            pub fn loss_slice(&self, x: &#x_slice, y: &#y_slice) -> #result<#float, #error> {
                #net::loss_slice(self, x, y)
            }

            #[doc = #gradients]
            #[doc = #slice]
            /// The gradient is written to `grad`.
            ///
            /// # Errors
            ///
            /// `BatchError` if `x` and `y` differ in length or are empty; `grad`
            /// is then left as it was.
            #[inline]
            pub fn gradients_slice(&self, x: &#x_slice, y: &#y_slice, grad: &mut Self) -> #result<#float, #error> {
                #net::gradients_slice(self, x, y, grad)
            }

            #[doc = #input_gradients]
            #[doc = #slice]
            /// The gradient is written to `grad_x`.
            ///
            /// # Errors
            ///
            /// `BatchError` if `x`, `y` and `grad_x` differ in length or are
            /// empty; `grad_x` is then left as it was.
            #[inline]
            pub fn input_gradients_slice(
                &self,
                x: &#x_slice,
                y: &#y_slice,
                grad_x: &mut #x_slice,
            ) -> #result<#float, #error> {
                #net::input_gradients_slice(self, x, y, grad_x)
            }

            #[doc = #train_step]
            #[doc = #slice]
            ///
            /// # Errors
            ///
            /// `BatchError` if `x` and `y` differ in length or are empty; the
            /// parameters are then left as they were.
            #[inline]
            pub fn train_step_slice<O: #rt::Optimizer<#float> + ?#rt::Sized>(
                &mut self,
                x: &#x_slice,
                y: &#y_slice,
                optimizer: &mut O,
            ) -> #result<#float, #error> {
                #net::train_step_slice(self, x, y, optimizer)
            }

            /// [`train_step_slice`](Self::train_step_slice), guarded: if the
            /// loss or any gradient entry is NaN or infinite, the update is not
            /// applied.
            ///
            /// # Errors
            ///
            /// `TrainError::Batch` for a bad batch, `TrainError::NonFiniteLoss`
            /// or `TrainError::NonFiniteGradient`; the parameters are then left
            /// as they were.
            #[inline]
            pub fn train_step_slice_checked<O: #rt::Optimizer<#float> + ?#rt::Sized>(
                &mut self,
                x: &#x_slice,
                y: &#y_slice,
                optimizer: &mut O,
            ) -> #result<#float, #rt::TrainError> {
                #net::train_step_slice_checked(self, x, y, optimizer)
            }
    }
}

/// `impl Network`: the constants, the flat parameter views and the four
/// generated passes.
fn trait_impl(cx: &Context) -> TokenStream {
    let Context {
        name,
        rt,
        float,
        network,
        ..
    } = cx;
    let (inputs, outputs) = (size(network.inputs), size(network.outputs()));
    let forward_rows = forward::forward_rows(cx);
    let loss_rows = forward::loss_rows(cx);
    let backprop_rows = backward::backprop_rows(cx);
    let descend_rows = backward::descend_rows(cx);
    let widths = std::iter::once(network.inputs)
        .chain(network.layers.iter().map(|layer| layer.width))
        .map(size);
    let activations = network.layers.iter().map(docs::written);
    let loss = docs::written_loss(network.loss);
    let gradient_buffer = params::gradient_buffer(cx);
    quote! {
        impl #rt::Network for #name {
            type Float = #float;
            type Input = [#float; #inputs];
            type Output = [#float; #outputs];

            const INPUTS: #rt::usize = Self::INPUTS;
            const OUTPUTS: #rt::usize = Self::OUTPUTS;
            const PARAMS: #rt::usize = Self::PARAMS;
            const LAYERS: #rt::usize = Self::LAYERS;
            const WIDTHS: &'static [#rt::usize] = &[#(#widths),*];
            const ACTIVATIONS: &'static [&'static #rt::str] = &[#(#activations),*];
            const LOSS: &'static #rt::str = #loss;
            const EQUATIONS: &'static #rt::str = Self::EQUATIONS;
            const EQUATIONS_LATEX: &'static #rt::str = Self::EQUATIONS_LATEX;

            #[inline]
            fn zeros() -> Self {
                Self::zeros()
            }

            #[inline]
            fn params(&self) -> &[#float] {
                &self.params[..]
            }

            #[inline]
            fn params_mut(&mut self) -> &mut [#float] {
                &mut self.params[..]
            }
            #gradient_buffer

            #forward_rows
            #loss_rows
            #backprop_rows
            #descend_rows
        }
    }
}
