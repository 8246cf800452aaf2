//! The `network!` grammar and its parser.
//!
//! The grammar users read, with every option, is the facade's `src/grammar.txt` (shown in
//! `network!`'s documentation and in README.md, which a test keeps equal
//! to it). The parser sees only its shape:
//!
//! ```text
//! invocation := attribute* visibility NAME '=' spec     (item form)
//!             | spec                                     (expression form)
//! spec       := WIDTH ('->' layer)+ (';' option)* ';'?
//! layer      := ACTIVATION '(' tokens ')'                e.g. `sigmoid(3)`
//! option     := KEY '=' tokens                           e.g. `loss = mse`
//! ```
//!
//! Parsing only checks the shape of the input and keeps every token, so
//! that [`crate::model`] can name and underline the exact token when a
//! width, an activation or an option value is wrong.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, Ident, LitInt, Token, Visibility, parenthesized, token};

use crate::model;

/// A whole `network!` invocation, as written.
pub(crate) struct Invocation {
    pub(crate) form: Form,
    pub(crate) input: LitInt,
    pub(crate) layers: Vec<LayerAst>,
    pub(crate) options: Vec<OptionAst>,
}

/// Whether the invocation defines a named type or evaluates to a value.
pub(crate) enum Form {
    /// `pub Xor = 2 -> …`: defines the type `Xor`.
    Item {
        attrs: Vec<Attribute>,
        vis: Visibility,
        name: Ident,
    },
    /// `2 -> …`: an instance of an unnamed type.
    Expr,
}

/// `sigmoid(3)`: the activation's name and the tokens between the parentheses.
pub(crate) struct LayerAst {
    pub(crate) activation: Ident,
    pub(crate) paren: token::Paren,
    pub(crate) args: TokenStream,
}

/// `loss = mse`: the key and the tokens up to the next `;`.
pub(crate) struct OptionAst {
    pub(crate) key: Ident,
    pub(crate) eq: Token![=],
    pub(crate) value: TokenStream,
}

impl Parse for Invocation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // syn reports a token missing at the very end of the input at the
        // call site, which underlines the whole macro call; read the input as
        // the contents of a group spanned on its last token, so that such an
        // error points there instead. An empty input has only the call site.
        if input.is_empty() {
            return Self::parse_contents(input);
        }
        let tokens: TokenStream = input.parse()?;
        if let Some(span) = nested_too_deep(tokens.clone()) {
            return Err(syn::Error::new(
                span,
                format!(
                    "groups nested more than {MAX_NESTING} deep; a network needs a few levels at most"
                ),
            ));
        }
        let last = tokens.clone().into_iter().last().map(|token| token.span());
        let mut group = Group::new(Delimiter::Parenthesis, tokens);
        if let Some(last) = last {
            group.set_span(last);
        }
        let contents = |outer: ParseStream| {
            let content;
            parenthesized!(content in outer);
            Self::parse_contents(&content)
        };
        contents.parse2(TokenTree::Group(group).into())
    }
}

/// The deepest nesting of groups read. syn parses an attribute such as
/// `#[doc = [[[…]]]]` one stack frame per level, so a few hundred levels
/// overflow the stack; no network needs more than a few.
const MAX_NESTING: usize = 64;

/// The first group in `tokens` nested deeper than [`MAX_NESTING`], found
/// without recursion, so that any depth is safe to look at.
fn nested_too_deep(tokens: TokenStream) -> Option<Span> {
    let mut open = vec![tokens.into_iter()];
    while let Some(level) = open.last_mut() {
        match level.next() {
            Some(TokenTree::Group(group)) if open.len() > MAX_NESTING => return Some(group.span()),
            Some(TokenTree::Group(group)) => open.push(group.stream().into_iter()),
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    None
}

impl Invocation {
    fn parse_contents(input: ParseStream) -> syn::Result<Self> {
        // Any literal starts the expression form, so `2.0 -> …` is told about its width.
        let form = if input.peek(syn::Lit) {
            Form::Expr
        } else {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            let name = input.parse::<Ident>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a network: `Name = 2 -> sigmoid(3) -> linear(1); loss = mse`",
                )
            })?;
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected `=` after the network's name `{name}`"),
                )
            })?;
            Form::Item { attrs, vis, name }
        };

        // `HIDDEN -> …`, but not a forgotten input width before `sigmoid(3)`.
        if (input.peek(Ident) && !input.peek2(token::Paren)) || input.peek(Token![::]) {
            let name: syn::Path = input.parse()?;
            return Err(model::named_width(
                &name.to_token_stream(),
                "the input",
                "2 -> sigmoid(3) -> linear(1)",
            ));
        }
        let input_width = input.parse::<LitInt>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the input width, an integer such as `2` in `2 -> sigmoid(3) -> linear(1)`",
            )
        })?;

        let mut layers = Vec::new();
        while input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            layers.push(input.parse()?);
        }
        if layers.is_empty() {
            let message = if input.peek(Ident) && input.peek2(token::Paren) {
                "expected `->` between the input width and the first layer"
            } else {
                "a network needs at least one layer after its input width, e.g. `2 -> linear(1)`"
            };
            return Err(input.error(message));
        }
        if input.peek(Ident) && input.peek2(token::Paren) {
            return Err(input.error("expected `->` between layers"));
        }

        let mut options = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![;]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "unexpected token; layers are joined by `->` and options follow a `;`, as in `; loss = mse`",
                )
            })?;
            if input.is_empty() {
                break;
            }
            options.push(input.parse()?);
        }

        Ok(Self {
            form,
            input: input_width,
            layers,
            options,
        })
    }
}

impl Parse for LayerAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let activation = input.parse::<Ident>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a layer after `->`, such as `sigmoid(3)`",
            )
        })?;
        if !input.peek(token::Paren) {
            return Err(input.error(format!(
                "expected the width of the `{activation}` layer in parentheses, as in `{activation}(3)`"
            )));
        }
        let content;
        let paren = parenthesized!(content in input);
        let args = crate::args::without_invisible_groups(content.parse()?);
        Ok(Self {
            activation,
            paren,
            args,
        })
    }
}

impl Parse for OptionAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = input.parse::<Ident>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an option such as `loss = mse` or `float = f64`",
            )
        })?;
        let eq = input.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `=` after the option name `{key}`"),
            )
        })?;
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![;]) {
            value.extend([input.parse::<proc_macro2::TokenTree>()?]);
        }
        let value = crate::args::without_invisible_groups(value);
        Ok(Self { key, eq, value })
    }
}
