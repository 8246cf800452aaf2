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

/// Generates a neural-network type whose forward and backward passes are
/// written out for its exact sizes. The `backprop` crate's documentation
/// lists the activations, losses and options; the grammar:
#[doc = concat!("\n```text\n", include_str!("grammar.txt"), "```")]
#[proc_macro]
pub fn network(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::network(input.into()).into()
}
