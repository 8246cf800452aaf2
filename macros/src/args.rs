//! Arguments inside parentheses: the width and named parameters of a layer,
//! `leaky_relu(16, slope = 0.2)`, and the parameters of a loss,
//! `huber(delta = 0.5)`.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::Ident;

use crate::errors::Errors;

/// `name = value`.
pub(crate) struct NamedArg {
    pub(crate) name: Ident,
    pub(crate) value: TokenStream,
    /// The whole argument, for errors about it.
    pub(crate) tokens: TokenStream,
}

/// `tokens` with every invisible group opened: `macro_rules!` wraps a
/// `$w:literal` argument in one, and `3` must read the same either way.
pub(crate) fn without_invisible_groups(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|token| match token {
            TokenTree::Group(group) if group.delimiter() == Delimiter::None => {
                without_invisible_groups(group.stream())
                    .into_iter()
                    .collect::<Vec<_>>()
            }
            token => vec![token],
        })
        .collect()
}

/// Splits `tokens` at commas outside any group; empty pieces are dropped so
/// a trailing comma is allowed.
pub(crate) fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut pieces = Vec::new();
    let mut current = TokenStream::new();
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => pieces.push(std::mem::take(&mut current)),
            _ => current.extend([token]),
        }
    }
    pieces.push(current);
    pieces.retain(|piece| !piece.is_empty());
    pieces
}

/// Reads `name = value` from each piece of `owner(…)`'s parameters.
pub(crate) fn named(owner: &Ident, pieces: &[TokenStream], errors: &mut Errors) -> Vec<NamedArg> {
    pieces
        .iter()
        .filter_map(|piece| {
            let mut tokens = piece.clone().into_iter();
            match (tokens.next(), tokens.next()) {
                (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(eq)))
                    if eq.as_char() == '=' =>
                {
                    let value: TokenStream = tokens.collect();
                    if value.is_empty() {
                        errors.push(syn::Error::new(
                            eq.span(),
                            format!("expected a value after `{name} =`"),
                        ));
                        return None;
                    }
                    Some(NamedArg {
                        name,
                        value,
                        tokens: piece.clone(),
                    })
                }
                _ => {
                    errors.push(syn::Error::new_spanned(
                        piece,
                        format!(
                            "unexpected `{}` in `{owner}(…)`; parameters are named, \
                             as in `leaky_relu(8, slope = 0.2)` or `huber(delta = 0.5)`",
                            written(piece)
                        ),
                    ));
                    None
                }
            }
        })
        .collect()
}

/// The parameters a layer or loss accepts, read one by one; [`Params::finish`]
/// reports those given but not read.
pub(crate) struct Params<'a> {
    owner: String,
    args: &'a [NamedArg],
    read: Vec<&'static str>,
}

impl<'a> Params<'a> {
    pub(crate) fn new(owner: &Ident, args: &'a [NamedArg]) -> Self {
        Self {
            owner: owner.to_string(),
            args,
            read: Vec::new(),
        }
    }

    fn find(&mut self, name: &'static str, errors: &mut Errors) -> Option<&'a NamedArg> {
        self.read.push(name);
        let mut matching = self.args.iter().filter(|arg| arg.name == name);
        let first = matching.next();
        for duplicate in matching {
            errors.push(syn::Error::new(
                duplicate.name.span(),
                format!("duplicate parameter `{name}`; give it once"),
            ));
        }
        first
    }

    /// A finite number, `default` if not given; `positive` rejects values ≤ 0.
    pub(crate) fn number(
        &mut self,
        name: &'static str,
        default: f64,
        positive: bool,
        errors: &mut Errors,
    ) -> f64 {
        let Some(arg) = self.find(name, errors) else {
            return default;
        };
        match number(&arg.value) {
            Some(value) if value.is_finite() && (!positive || value > 0.0) => value,
            Some(_) if positive => {
                errors.push(syn::Error::new_spanned(
                    &arg.value,
                    format!("`{name}` of `{}` must be greater than 0", self.owner),
                ));
                default
            }
            _ => {
                errors.push(syn::Error::new_spanned(
                    &arg.value,
                    format!(
                        "`{name}` must be a number such as `{default:?}`, found `{}`",
                        written(&arg.value)
                    ),
                ));
                default
            }
        }
    }

    /// One of `choices` (the first is the default), written as a name.
    pub(crate) fn choice(
        &mut self,
        name: &'static str,
        choices: &[&'static str],
        errors: &mut Errors,
    ) -> &'static str {
        let Some(arg) = self.find(name, errors) else {
            return choices[0];
        };
        let written_value = written(&arg.value);
        if let Some(choice) = choices.iter().find(|choice| **choice == written_value) {
            return choice;
        }
        let list: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
        errors.push(syn::Error::new_spanned(
            &arg.value,
            format!(
                "`{name}` must be {}, found `{written_value}`",
                list.join(" or ")
            ),
        ));
        choices[0]
    }

    /// Reports every argument no `number` or `choice` call asked for.
    pub(crate) fn finish(self, errors: &mut Errors) {
        for arg in self
            .args
            .iter()
            .filter(|arg| !self.read.iter().any(|name| arg.name == name))
        {
            let written_name = arg.name.to_string();
            let near = self
                .read
                .iter()
                .find(|name| strsim::damerau_levenshtein(&written_name, name) <= 2);
            let accepted = match (near, self.read.as_slice()) {
                (Some(name), _) => format!("did you mean `{name}`?"),
                (None, []) => format!("`{}` takes no parameters", self.owner),
                (None, names) => {
                    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                    format!("`{}` takes {}", self.owner, names.join(" and "))
                }
            };
            errors.push(syn::Error::new_spanned(
                &arg.tokens,
                format!("unknown parameter `{}`; {accepted}", arg.name),
            ));
        }
    }
}

/// `0.2`, `3`, `-0.5` as a number.
fn number(tokens: &TokenStream) -> Option<f64> {
    let mut tokens = tokens.clone().into_iter().peekable();
    let negative = matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '-');
    if negative {
        tokens.next();
    }
    let TokenTree::Literal(literal) = tokens.next()? else {
        return None;
    };
    if tokens.next().is_some() {
        return None;
    }
    let magnitude = match syn::Lit::new(literal) {
        syn::Lit::Float(f) if f.suffix().is_empty() => f.base10_parse::<f64>().ok()?,
        syn::Lit::Int(i) if i.suffix().is_empty() => i.base10_parse::<f64>().ok()?,
        _ => return None,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Tokens as the user wrote them, without the spaces a token stream prints
/// around `-`, `,` and `::`: `-3`, not `- 3`.
pub(crate) fn written(tokens: &TokenStream) -> String {
    tokens
        .to_string()
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replacen("- ", "-", 1)
}

/// The parenthesised group after a name, as in `huber(delta = 0.5)`, with
/// invisible groups opened as in a layer's arguments.
pub(crate) fn parenthesized(token: &TokenTree) -> Option<TokenStream> {
    match token {
        TokenTree::Group(group) if group.delimiter() == Delimiter::Parenthesis => {
            Some(without_invisible_groups(group.stream()))
        }
        _ => None,
    }
}
