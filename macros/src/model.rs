//! The validated network: what the expander needs, with every width, name
//! and option checked against the tokens the user wrote.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::{Ident, LitInt};

use backprop_vocabulary::{Parameter, Value};

use crate::args::{self, NamedArg, Params, parenthesized};
use crate::errors::Errors;
use crate::parse::{Form, Invocation, LayerAst, OptionAst};

/// A network described by a valid `network!` invocation.
pub(crate) struct Network {
    pub(crate) form: Form,
    pub(crate) float: FloatType,
    /// The weight initialisation of every layer if `init = …` names one;
    /// otherwise each layer takes its activation's default.
    pub(crate) init: Option<InitScheme>,
    /// `n₀`, the input width.
    pub(crate) inputs: usize,
    /// Recurrent layers `1 … R`, which come before every dense layer: a
    /// network with any is a recurrent network, run over sequences.
    pub(crate) recurrent: Vec<RecurrentLayer>,
    /// Dense layers `R + 1 … L`, each with its parameters (`1 … L` with no
    /// recurrent layer). The expander counts them from 1 and adds `R` to
    /// the names users see ([`Network::number`]).
    pub(crate) layers: Vec<Layer>,
    /// The built-in loss; `None` for `loss = none`, a network trained only
    /// from gradients its caller supplies.
    pub(crate) loss: Option<Loss>,
    /// The loss as written, for errors about it.
    pub(crate) loss_tokens: TokenStream,
    /// Seed of the instance the expression form evaluates to.
    pub(crate) seed: u64,
    /// How the matrix products run: `kernels = …`, by the sizes if not given.
    pub(crate) kernels: Kernels,
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

/// One recurrent layer, `lstm(H)` or `gru(H)`: PyTorch's cell run over
/// the sequence of its input rows.
pub(crate) struct RecurrentLayer {
    pub(crate) cell: Cell,
    /// `H`, the number of units.
    pub(crate) width: usize,
    /// The cell's name as written.
    pub(crate) span: Span,
    /// The width as written.
    pub(crate) width_span: Span,
}

/// The recurrent cells the DSL knows: the vocabulary's.
pub(crate) use backprop_vocabulary::CellKind as Cell;

/// The activations and losses the DSL knows, with their parameters: the
/// vocabulary the runtime shares.
pub(crate) use backprop_vocabulary::{ActivationKind as Activation, LossKind as Loss};

/// The element type of parameters and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatType {
    F32,
    F64,
}

/// Reads `name(width, parameters…)`'s activation.
fn activation_from_name(
    name: &Ident,
    args: &[NamedArg],
    errors: &mut Errors,
) -> Option<Activation> {
    let mut params = Params::new(name, args);
    let written = name.to_string();
    let Some(activation) = Activation::from_name(&written, |parameter| {
        read_parameter(&mut params, parameter, errors)
    }) else {
        let alias = Activation::ALIASES
            .into_iter()
            .find(|(alias, _)| *alias == written);
        errors.push(if let Some((_, ours)) = alias {
            syn::Error::new(
                name.span(),
                format!("unknown activation `{written}`; did you mean `{ours}`?"),
            )
        } else {
            // A layer is an activation or a recurrent cell.
            let names: Vec<&str> = Activation::NAMES.into_iter().chain(Cell::NAMES).collect();
            unknown(name, "activation", &names)
        });
        return None;
    };
    params.finish(errors);
    Some(activation)
}

/// What the user wrote for `parameter`, or its default.
fn read_parameter(params: &mut Params, parameter: &Parameter, errors: &mut Errors) -> Value {
    match *parameter {
        Parameter::Number {
            name,
            default,
            positive,
        } => Value::Number(params.number(name, default, positive, errors)),
        Parameter::Choice { name, options } => Value::Choice(params.choice(name, options, errors)),
    }
}

/// What `loss = none` says: no built-in loss.
const NO_LOSS: &str = "none";

/// Reads `loss = name`, `loss = name(parameters…)` or `loss = none`
/// (`Ok(None)`); `Err` once the mistakes are in `errors`.
fn loss_from_option(option: &OptionAst, errors: &mut Errors) -> Result<Option<Loss>, ()> {
    let names: Vec<&str> = Loss::NAMES.iter().copied().chain([NO_LOSS]).collect();
    let mut tokens = option.value.clone().into_iter();
    let Some(first) = tokens.next() else {
        errors.push(syn::Error::new(
            option.eq.span(),
            "expected a loss after `=`, such as `mse`, or `none`",
        ));
        return Err(());
    };
    let TokenTree::Ident(name) = first else {
        errors.push(syn::Error::new(
            first.span(),
            format!("unknown loss `{first}`; expected {}", list(&names)),
        ));
        return Err(());
    };
    let mut args = Vec::new();
    let mut rest: TokenStream = tokens.collect();
    if let Some(group) = rest
        .clone()
        .into_iter()
        .next()
        .as_ref()
        .and_then(parenthesized)
    {
        args = args::named(&name, &args::split_commas(group), errors);
        rest = rest.into_iter().skip(1).collect();
    }
    if !rest.is_empty() {
        errors.push(syn::Error::new_spanned(
            rest,
            format!("unexpected tokens after `{name}`; separate options with `;`"),
        ));
    }
    let mut params = Params::new(&name, &args);
    if name == NO_LOSS {
        params.finish(errors);
        return Ok(None);
    }
    let Some(loss) = Loss::from_name(&name.to_string(), |parameter| {
        read_parameter(&mut params, parameter, errors)
    }) else {
        errors.push(unknown(&name, "loss", &names));
        return Err(());
    };
    params.finish(errors);
    Ok(Some(loss))
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

/// `kernels = …`: the runtime's kernels the products call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernels {
    /// `kernels::affine` and so on: plain loops or register-blocked by the sizes.
    Auto,
    /// `kernels::plain`: plain loops whatever the sizes.
    Plain,
    /// `kernels::blocked`: the register-blocked kernel whatever the sizes.
    Blocked,
}

impl Kernels {
    pub(crate) const ALL: [Self; 3] = [Self::Auto, Self::Plain, Self::Blocked];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Plain => "plain",
            Self::Blocked => "blocked",
        }
    }
}

/// The weight initialisations `init = …` can name: the runtime's `Init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InitScheme {
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    PyTorch,
}

impl InitScheme {
    pub(crate) const ALL: [Self; 5] = [
        Self::HeNormal,
        Self::HeUniform,
        Self::GlorotNormal,
        Self::GlorotUniform,
        Self::PyTorch,
    ];

    /// The name in `init = …`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::GlorotUniform => "glorot_uniform",
            Self::GlorotNormal => "glorot_normal",
            Self::HeUniform => "he_uniform",
            Self::HeNormal => "he_normal",
            Self::PyTorch => "pytorch",
        }
    }

    /// The variant of the runtime's `Init`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::GlorotUniform => "GlorotUniform",
            Self::GlorotNormal => "GlorotNormal",
            Self::HeUniform => "HeUniform",
            Self::HeNormal => "HeNormal",
            Self::PyTorch => "PyTorch",
        }
    }

    /// PyTorch's `nn.Linear` default draws the biases too; the others leave them at zero.
    pub(crate) fn draws_biases(self) -> bool {
        self == Self::PyTorch
    }
}

/// The options the DSL accepts, for suggestions.
const OPTIONS: [&str; 5] = ["loss", "float", "seed", "init", "kernels"];

impl Network {
    /// Checks every width, name and option, reporting all mistakes at once.
    pub(crate) fn from_invocation(invocation: Invocation) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let inputs = errors.ok(width_of(&invocation.input, "the input"));
        let mut recurrent = Vec::new();
        let mut layers = Vec::new();
        for ast in &invocation.layers {
            if Cell::from_name(&ast.activation.to_string()).is_some() {
                if !layers.is_empty() {
                    errors.push(recurrent_after_dense(ast));
                }
                recurrent.push(RecurrentLayer::from_ast(ast, &mut errors));
            } else {
                layers.push(Layer::from_ast(ast, &mut errors));
            }
        }
        if let (true, false, Some(last)) = (
            layers.is_empty(),
            recurrent.is_empty(),
            invocation.layers.last(),
        ) {
            errors.push(syn::Error::new(
                last.paren.span.close(),
                "a recurrent network ends in a dense layer, which maps the last \
                 state to the output: add one, as in `-> linear(1)`",
            ));
        }

        let mut loss = None;
        let mut loss_span = None;
        let mut float = None;
        let mut seed = None;
        let mut init = None;
        let mut kernels = None;
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
                "loss" => {
                    loss = loss_from_option(option, &mut errors).ok();
                    loss_span = Some(option.value.clone());
                }
                "float" => {
                    float = errors.ok(named_value(
                        option,
                        "float type",
                        &FloatType::ALL,
                        FloatType::name,
                    ));
                }
                "seed" => seed = errors.ok(seed_value(option, &invocation.form)),
                "init" => init = errors.ok(init_value(option)),
                "kernels" => {
                    kernels = errors.ok(named_value(
                        option,
                        "kernel choice",
                        &Kernels::ALL,
                        Kernels::name,
                    ));
                }
                _ => errors.push(unknown(&option.key, "option", &OPTIONS)),
            }
        }
        let has_loss_option = seen.iter().any(|key| *key == "loss");
        if let (false, Some(last)) = (has_loss_option, invocation.layers.last()) {
            errors.push(syn::Error::new(
                last.paren.span.close(),
                "missing loss: add `; loss = mse` after the last layer (or `; loss = none` \
                 to backpropagate gradients of your own)",
            ));
        }

        errors.finish()?;
        let (Some(inputs), Some(loss), Some(loss_tokens)) = (inputs, loss, loss_span) else {
            // Every `None` above recorded an error, so `finish` returned; this is defensive.
            return Err(syn::Error::new(invocation.input.span(), "invalid network"));
        };
        Ok(Self {
            form: invocation.form,
            float: float.unwrap_or(FloatType::F32),
            inputs,
            recurrent: recurrent.into_iter().flatten().collect(),
            layers: layers.into_iter().flatten().collect(),
            loss,
            loss_tokens,
            seed: seed.unwrap_or(0),
            kernels: kernels.unwrap_or(Kernels::Auto),
            init,
        })
    }

    /// Width of dense layer `l`'s input: `n_{l-1}` (`l` counts the dense
    /// layers from 1; the first reads the last recurrent layer's state).
    pub(crate) fn fan_in(&self, l: usize) -> usize {
        if l == 1 {
            self.dense_inputs()
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
        let recurrent: usize = (1..=self.recurrent.len())
            .map(|r| self.recurrent_params(r))
            .sum();
        recurrent
            + (1..=self.layers.len())
                .map(|l| self.layer_params(l))
                .sum::<usize>()
    }

    /// Whether the network has recurrent layers, and so runs over sequences.
    pub(crate) fn is_recurrent(&self) -> bool {
        !self.recurrent.is_empty()
    }

    /// The width the dense layers start from: the last recurrent layer's,
    /// else the input's.
    pub(crate) fn dense_inputs(&self) -> usize {
        self.recurrent
            .last()
            .map_or(self.inputs, |layer| layer.width)
    }

    /// Width of recurrent layer `r`'s input (`r` counts from 1).
    pub(crate) fn recurrent_fan_in(&self, r: usize) -> usize {
        if r == 1 {
            self.inputs
        } else {
            self.recurrent[r - 2].width
        }
    }

    /// Parameters of recurrent layer `r`: `G·H·(I + H + 2)`.
    pub(crate) fn recurrent_params(&self, r: usize) -> usize {
        let layer = &self.recurrent[r - 1];
        layer.cell.params(self.recurrent_fan_in(r), layer.width)
    }

    /// The number users see for dense layer `l`: `R + l`, after the
    /// recurrent layers.
    pub(crate) fn number(&self, l: usize) -> usize {
        self.recurrent.len() + l
    }
}

impl Layer {
    /// Where generated code for this layer points: at the activation's name,
    /// but resolved as the macro's own code, so the generated names stay
    /// hygienic when the layer comes from a `macro_rules!` argument.
    pub(crate) fn code_span(&self) -> Span {
        Span::call_site().located_at(self.span)
    }

    /// Reads `activation(width, parameters…)`.
    fn from_ast(ast: &LayerAst, errors: &mut Errors) -> Option<Self> {
        let pieces = args::split_commas(ast.args.clone());
        let width = errors.ok(layer_width(ast, pieces.first()));
        let named = args::named(&ast.activation, pieces.get(1..).unwrap_or_default(), errors);
        let activation = activation_from_name(&ast.activation, &named, errors);
        Some(Self {
            activation: activation?,
            width: width?,
            span: ast.activation.span(),
            width_span: pieces
                .first()
                .and_then(|w| w.clone().into_iter().next())
                .map_or(ast.paren.span.join(), |t| t.span()),
        })
    }
}

/// The error for `lstm(…)` or `gru(…)` after a dense layer.
fn recurrent_after_dense(ast: &LayerAst) -> syn::Error {
    syn::Error::new(
        ast.activation.span(),
        format!(
            "`{}` comes after a dense layer; recurrent layers come first, straight \
             from the input (`1 -> {}(16) -> linear(1)`), and dense layers follow them",
            ast.activation, ast.activation
        ),
    )
}

impl RecurrentLayer {
    /// Where generated code for this layer points, as [`Layer::code_span`].
    pub(crate) fn code_span(&self) -> Span {
        Span::call_site().located_at(self.span)
    }

    /// Reads `lstm(width)` or `gru(width)`, which take no parameters.
    fn from_ast(ast: &LayerAst, errors: &mut Errors) -> Option<Self> {
        let cell = Cell::from_name(&ast.activation.to_string())?;
        let pieces = args::split_commas(ast.args.clone());
        let width = errors.ok(layer_width(ast, pieces.first()));
        if let Some(extra) = pieces.get(1) {
            errors.push(syn::Error::new_spanned(
                extra,
                format!(
                    "`{cell}` takes only its width, as in `{cell}(16)`: its gates are \
                     PyTorch's `nn.{}`",
                    cell.module()
                ),
            ));
        }
        Some(Self {
            cell,
            width: width?,
            span: ast.activation.span(),
            width_span: pieces
                .first()
                .and_then(|w| w.clone().into_iter().next())
                .map_or(ast.paren.span.join(), |t| t.span()),
        })
    }
}

/// The width, the first argument of a layer: a single positive integer.
fn layer_width(ast: &LayerAst, first: Option<&TokenStream>) -> syn::Result<usize> {
    let what = format!("the `{}` layer", ast.activation);
    let Some(first) = first else {
        return Err(syn::Error::new(
            ast.paren.span.join(),
            format!(
                "missing width: give {what} its number of units, as in `{}(3)`",
                ast.activation
            ),
        ));
    };
    let tokens: Vec<TokenTree> = first.clone().into_iter().collect();
    match tokens.as_slice() {
        [TokenTree::Literal(literal)] => {
            match syn::parse2::<LitInt>(TokenTree::Literal(literal.clone()).into()) {
                Ok(lit) => width_of(&lit, &what),
                Err(_) => Err(not_an_integer(first, ast, &what)),
            }
        }
        _ => Err(not_an_integer(first, ast, &what)),
    }
}

fn not_an_integer(tokens: &TokenStream, ast: &LayerAst, what: &str) -> syn::Error {
    if is_a_path(tokens) {
        return named_width(tokens, what, &format!("{}(3)", ast.activation));
    }
    syn::Error::new_spanned(
        tokens,
        format!(
            "the width of {what} must be a positive integer, found `{}`",
            args::written(tokens)
        ),
    )
}

/// `HIDDEN` or `config::HIDDEN`: a name, which the macro cannot evaluate.
fn is_a_path(tokens: &TokenStream) -> bool {
    syn::parse2::<syn::Path>(tokens.clone()).is_ok()
}

/// The error for a width given by a name: says why a number is needed and
/// how to choose widths elsewhere.
pub(crate) fn named_width(tokens: &TokenStream, what: &str, example: &str) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!(
            "the width of {what} must be a number, as in `{example}`, not the name `{}`: \
             `network!` writes each size into the types and equations it generates, \
             before constants have values; to set widths in one place, wrap `network!` \
             in a `macro_rules!` macro that takes `$width:literal`",
            args::written(tokens)
        ),
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

/// `init = he_normal`: one of [`InitScheme::ALL`], with the names other
/// libraries use (`xavier_…`, `kaiming_…`) pointed at ours.
fn init_value(option: &OptionAst) -> syn::Result<InitScheme> {
    const WHAT: &str = "weight initialisation";
    let names = InitScheme::ALL.map(InitScheme::name);
    let ident = single_ident(option, WHAT, &names)?;
    let written = ident.to_string();
    let alias = [
        ("xavier_uniform", "glorot_uniform"),
        ("xavier_normal", "glorot_normal"),
        ("kaiming_uniform", "he_uniform"),
        ("kaiming_normal", "he_normal"),
        ("default", "pytorch"),
        ("torch", "pytorch"),
    ]
    .into_iter()
    .find(|(alias, _)| *alias == written);
    if let Some((_, ours)) = alias {
        return Err(syn::Error::new(
            ident.span(),
            format!("unknown {WHAT} `{written}`; did you mean `{ours}`?"),
        ));
    }
    InitScheme::ALL
        .into_iter()
        .find(|scheme| written == scheme.name())
        .ok_or_else(|| unknown(&ident, WHAT, &names))
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
    if option.value.is_empty() {
        return Err(syn::Error::new(
            option.eq.span(),
            "expected a seed after `=`, such as `42`",
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
        format!("unknown {what} `{token}`; expected {}", list(choices)),
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
