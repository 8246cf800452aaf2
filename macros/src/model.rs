//! The validated network: what the expander needs, with every width, name
//! and option checked against the tokens the user wrote.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::{Ident, LitInt};

use crate::errors::Errors;
use crate::parse::{Form, Invocation, LayerAst, OptionAst};

/// A network described by a valid `network!` invocation.
pub(crate) struct Network {
    pub(crate) form: Form,
    pub(crate) float: FloatType,
    /// `n₀`, the input width.
    pub(crate) inputs: usize,
    /// Layers `1 … L`, each with its parameters.
    pub(crate) layers: Vec<Layer>,
    pub(crate) loss: Loss,
    /// Seed of the instance the expression form evaluates to.
    pub(crate) seed: u64,
}

/// One dense layer: `Z = H·W + 1·bᵀ`, `H' = f(Z)`.
pub(crate) struct Layer {
    pub(crate) activation: Activation,
    /// `n_l`, the number of units.
    pub(crate) width: usize,
    /// The activation's name as written, so generated code for this layer
    /// points there.
    pub(crate) span: Span,
    /// The width as written.
    pub(crate) width_span: Span,
}

/// The activation functions the DSL knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
}

/// The loss functions the DSL knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    Mse,
}

/// The element type of parameters and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatType {
    F32,
    F64,
}

impl Activation {
    pub(crate) const ALL: [Self; 4] = [Self::Linear, Self::Sigmoid, Self::Tanh, Self::Relu];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
        }
    }

    /// The runtime's type implementing this activation.
    pub(crate) fn runtime_type(self) -> &'static str {
        match self {
            Self::Linear => "Linear",
            Self::Sigmoid => "Sigmoid",
            Self::Tanh => "Tanh",
            Self::Relu => "Relu",
        }
    }

    /// The runtime's default weight initialisation for a layer with this activation.
    pub(crate) fn init(self) -> &'static str {
        match self {
            Self::Relu => "HeUniform",
            Self::Linear | Self::Sigmoid | Self::Tanh => "GlorotUniform",
        }
    }
}

impl Loss {
    pub(crate) const ALL: [Self; 1] = [Self::Mse];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Mse => "mse",
        }
    }

    pub(crate) fn runtime_type(self) -> &'static str {
        match self {
            Self::Mse => "Mse",
        }
    }
}

impl FloatType {
    pub(crate) const ALL: [Self; 2] = [Self::F32, Self::F64];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }
}

/// The options the DSL accepts, for suggestions.
const OPTIONS: [&str; 3] = ["loss", "float", "seed"];

impl Network {
    /// Checks every width, name and option, reporting all mistakes at once.
    pub(crate) fn from_invocation(invocation: Invocation) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let inputs = errors.ok(width_of(&invocation.input, "the input"));
        let layers: Vec<_> = invocation
            .layers
            .iter()
            .map(|layer| errors.ok(Layer::from_ast(layer)))
            .collect();

        let mut loss = None;
        let mut float = None;
        let mut seed = None;
        let mut seen: Vec<&Ident> = Vec::new();
        for option in &invocation.options {
            if let Some(first) = seen.iter().find(|key| ***key == option.key) {
                let mut error = syn::Error::new(
                    option.key.span(),
                    format!("duplicate option `{}`; give each option once", option.key),
                );
                error.combine(syn::Error::new(
                    first.span(),
                    format!("`{first}` is first set here"),
                ));
                errors.push(error);
                continue;
            }
            seen.push(&option.key);
            match option.key.to_string().as_str() {
                "loss" => loss = errors.ok(named_value(option, "loss", &Loss::ALL, Loss::name)),
                "float" => {
                    float = errors.ok(named_value(
                        option,
                        "float type",
                        &FloatType::ALL,
                        FloatType::name,
                    ));
                }
                "seed" => seed = errors.ok(seed_value(option, &invocation.form)),
                _ => errors.push(unknown(&option.key, "option", &OPTIONS)),
            }
        }
        let has_loss_option = seen.iter().any(|key| *key == "loss");
        if let (false, Some(last)) = (has_loss_option, invocation.layers.last()) {
            errors.push(syn::Error::new(
                last.paren.span.close(),
                "missing loss: add `; loss = mse` after the last layer",
            ));
        }

        errors.finish()?;
        let (Some(inputs), Some(loss)) = (inputs, loss) else {
            // Every `None` above recorded an error, so `finish` returned; this is defensive.
            return Err(syn::Error::new(invocation.input.span(), "invalid network"));
        };
        Ok(Self {
            form: invocation.form,
            float: float.unwrap_or(FloatType::F32),
            inputs,
            layers: layers.into_iter().flatten().collect(),
            loss,
            seed: seed.unwrap_or(0),
        })
    }

    /// Width of layer `l`'s input: `n_{l-1}` (`l` counts from 1).
    pub(crate) fn fan_in(&self, l: usize) -> usize {
        if l == 1 {
            self.inputs
        } else {
            self.layers[l - 2].width
        }
    }

    pub(crate) fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |layer| layer.width)
    }

    /// Parameters of layer `l`: `n_{l-1}·n_l` weights and `n_l` biases.
    pub(crate) fn layer_params(&self, l: usize) -> usize {
        (self.fan_in(l) + 1) * self.layers[l - 1].width
    }

    pub(crate) fn params(&self) -> usize {
        (1..=self.layers.len()).map(|l| self.layer_params(l)).sum()
    }
}

impl Layer {
    fn from_ast(ast: &LayerAst) -> syn::Result<Self> {
        let name = ast.activation.to_string();
        let activation = Activation::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                unknown(
                    &ast.activation,
                    "activation",
                    &Activation::ALL.map(Activation::name),
                )
            });
        let width = layer_width(ast);
        match (activation, width) {
            (Ok(activation), Ok(width)) => Ok(Self {
                activation,
                width,
                span: ast.activation.span(),
                width_span: ast.paren.span.join(),
            }),
            (Err(mut a), Err(w)) => {
                a.combine(w);
                Err(a)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }
}

/// The width between a layer's parentheses: a single positive integer.
fn layer_width(ast: &LayerAst) -> syn::Result<usize> {
    let what = format!("the `{}` layer", ast.activation);
    let tokens: Vec<TokenTree> = ast.args.clone().into_iter().collect();
    match tokens.as_slice() {
        [] => Err(syn::Error::new(
            ast.paren.span.join(),
            format!(
                "missing width: give {what} its number of units, as in `{}(3)`",
                ast.activation
            ),
        )),
        [TokenTree::Literal(literal)] => {
            match syn::parse2::<LitInt>(TokenTree::Literal(literal.clone()).into()) {
                Ok(lit) => width_of(&lit, &what),
                Err(_) => Err(not_an_integer(&ast.args, &what)),
            }
        }
        _ => Err(not_an_integer(&ast.args, &what)),
    }
}

fn not_an_integer(tokens: &TokenStream, what: &str) -> syn::Error {
    // Without the spaces a token stream prints around `-` and `,`: `-3`, not `- 3`.
    let written = tokens.to_string().replace(" ,", ",").replacen("- ", "-", 1);
    syn::Error::new_spanned(
        tokens,
        format!("the width of {what} must be a positive integer, found `{written}`"),
    )
}

/// Largest width of a single layer: beyond this, the weight arrays could not
/// be allocated, let alone trained.
pub(crate) const MAX_WIDTH: u64 = 1 << 24;

fn width_of(lit: &LitInt, what: &str) -> syn::Result<usize> {
    if !lit.suffix().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "write the width of {what} without a type suffix, as in `{}`",
                lit.base10_digits()
            ),
        ));
    }
    let value = lit.base10_parse::<u64>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("the width of {what} must be a positive integer, found `{lit}`"),
        )
    })?;
    if value == 0 {
        return Err(syn::Error::new(
            lit.span(),
            format!("the width of {what} is 0; a layer needs at least one unit"),
        ));
    }
    if value > MAX_WIDTH {
        return Err(syn::Error::new(
            lit.span(),
            format!("the width of {what} is {value}; the largest supported width is {MAX_WIDTH}"),
        ));
    }
    usize::try_from(value)
        .map_err(|_| syn::Error::new(lit.span(), format!("{what} is too wide for this target")))
}

/// The value of an option that names one of `choices`, such as `loss = mse`.
fn named_value<T: Copy>(
    option: &OptionAst,
    what: &str,
    choices: &[T],
    name: fn(T) -> &'static str,
) -> syn::Result<T> {
    let ident = single_ident(
        option,
        what,
        &choices.iter().map(|&c| name(c)).collect::<Vec<_>>(),
    )?;
    choices
        .iter()
        .copied()
        .find(|&c| ident == name(c))
        .ok_or_else(|| {
            unknown(
                &ident,
                what,
                &choices.iter().map(|&c| name(c)).collect::<Vec<_>>(),
            )
        })
}

/// The single identifier an option's value must be.
fn single_ident(option: &OptionAst, what: &str, choices: &[&str]) -> syn::Result<Ident> {
    let mut tokens = option.value.clone().into_iter();
    let example = choices.first().copied().unwrap_or_default();
    let first = tokens.next().ok_or_else(|| {
        syn::Error::new(
            option.eq.span(),
            format!("expected a {what} after `=`, such as `{example}`"),
        )
    })?;
    let TokenTree::Ident(ident) = first else {
        return Err(unknown_token(&first, what, choices));
    };
    let rest: TokenStream = tokens.collect();
    if !rest.is_empty() {
        return Err(syn::Error::new_spanned(
            rest,
            format!("unexpected tokens after `{ident}`; separate options with `;`"),
        ));
    }
    Ok(ident)
}

fn seed_value(option: &OptionAst, form: &Form) -> syn::Result<u64> {
    if let Form::Item { name, .. } = form {
        return Err(syn::Error::new(
            option.key.span(),
            format!(
                "`seed` applies to the expression form `network!(2 -> …)`; for a named network call `{name}::seeded(seed)`"
            ),
        ));
    }
    syn::parse2::<LitInt>(option.value.clone())
        .and_then(|lit| lit.base10_parse::<u64>())
        .map_err(|_| {
            syn::Error::new_spanned(
                &option.value,
                "the seed must be an integer from 0 to 18446744073709551615",
            )
        })
}

fn unknown_token(token: &TokenTree, what: &str, choices: &[&str]) -> syn::Error {
    syn::Error::new(
        token.span(),
        format!(
            "unknown {what} `{token}`; expected one of {}",
            list(choices)
        ),
    )
}

/// ``unknown activation `sigmiod`; did you mean `sigmoid`?``
fn unknown(ident: &Ident, what: &str, choices: &[&str]) -> syn::Error {
    let written = ident.to_string();
    // A case slip first, then at most one edit per three letters (as rustc
    // does), so `sigmiod` suggests `sigmoid` but `f16` does not suggest `f32`.
    let nearest = choices
        .iter()
        .find(|choice| choice.eq_ignore_ascii_case(&written))
        .or_else(|| {
            choices
                .iter()
                .map(|choice| (strsim::damerau_levenshtein(&written, choice), choice))
                .filter(|&(distance, choice)| distance <= (choice.len() / 3).max(1))
                .min()
                .map(|(_, choice)| choice)
        });
    let message = match nearest {
        Some(choice) => format!("unknown {what} `{written}`; did you mean `{choice}`?"),
        None => format!("unknown {what} `{written}`; expected {}", list(choices)),
    };
    syn::Error::new(ident.span(), message)
}

/// `` `mse` `` or ``one of `linear`, `sigmoid`, …``.
fn list(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    match quoted.as_slice() {
        [only] => only.clone(),
        _ => format!("one of {}", quoted.join(", ")),
    }
}
