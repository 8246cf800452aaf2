//! The `network!` procedural macro of [backprop](https://docs.rs/backprop).
//!
//! The pipeline, one module a stage: `parse` reads the tokens into a
//! syntax tree that keeps every span; `model` validates widths, names and
//! options into a `Network`; `check` applies the rules across layers;
//! `expand` writes the code. Every mistake becomes a `syn::Error` at the
//! offending token; nothing here panics on user input.

#![forbid(unsafe_code)]

mod args;
mod check;
mod errors;
mod expand;
#[cfg(test)]
mod fuzz;
mod model;
mod parse;
#[cfg(test)]
mod tests;

/// The implementation of `backprop::network!`, which passes the path of
/// the `backprop` crate first, in parentheses, then its input: use that
/// macro, whose documentation has the grammar.
#[doc(hidden)]
#[proc_macro]
pub fn expand_network(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::network_at_path(input.into()).into()
}
