//! Randomised inputs for the parser and expander, on `proc_macro2` tokens.
//!
//! `network!` promises that it never panics and that every mistake is a
//! compile error at the offending token. Hand-written cases cover the
//! mistakes someone thought of; this module feeds the pipeline some ten
//! thousand streams nobody wrote by hand, from a fixed seed so that a
//! failure can be reproduced:
//!
//! - **Networks from the grammar**: item and expression forms, doc comments
//!   and attributes, every visibility, random depth and widths (in decimal,
//!   hexadecimal, octal, binary, with underscores), every activation with and
//!   without its parameters, every loss, `float`, `init` and `seed` in any
//!   order, comments between tokens, and now and then a chain of up to 200
//!   layers. The generator knows the rules, so it also knows the answer: a
//!   network that keeps them must be accepted and read back with the widths,
//!   activations, loss, float type, initialisation and seed it was written
//!   with; one that breaks a rule (`softmax` before the output, a loss that
//!   does not fit, a misspelled activation, a zero width, a duplicate
//!   option, …) must be rejected.
//! - **The same networks as `macro_rules!` passes them on**: every literal
//!   wrapped in an invisible (`Delimiter::None`) group, as `$w:literal`
//!   arrives; they must read the same.
//! - **Widths too large to exist**: 10¹², 2⁶⁴, 10²³, 2²⁴ + 1, and layers
//!   each small enough but whose product is not. They must be errors at that
//!   width, never an overflow or an allocation.
//! - **Mutants**: the grammar's networks with tokens dropped, swapped,
//!   duplicated, repeated, replaced or inserted (punctuation, keywords, the
//!   DSL's own names, and literals of every kind: suffixed integers,
//!   `100000000000000000000000`, negative numbers, `1e400`, strings, raw
//!   strings, characters, byte and C strings, lifetimes), joint punctuation
//!   split (`- >`), groups unwrapped, token runs wrapped in invisible or
//!   real groups, single tokens buried in up to 160 mixed delimiters
//!   (`(([[{…}]]))`, past the macro's limit of 64), the input truncated;
//!   and streams of random tokens.
//!
//! Every stream goes through the model (parse, validate, check) and through
//! the expander, each inside `catch_unwind`, and must satisfy:
//!
//! - nothing panics;
//! - a rejection is a `syn::Error` whose every span (the start and end
//!   spans of each message, as `to_compile_error` emits them) lies within a
//!   token of the input: not at the call site, which would underline the
//!   whole macro call, and not at a token the input does not contain;
//!   messages are non-empty and start in lower case;
//! - an acceptance expands without panicking; one in 32 (reading an
//!   expansion back costs more than everything else) must also parse as
//!   items or an expression and hold no `compile_error!`.
//!
//! Spans carry lines and columns here because proc-macro2's
//! `span-locations` feature is enabled for tests; every token, including
//! those inserted by a mutation, comes from a parsed string, so each has a
//! real location. `BACKPROP_FUZZ_SEED` and `BACKPROP_FUZZ_CASES` replay
//! another seed or run longer.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::str::FromStr;
use std::time::Instant;

use proc_macro2::{
    Delimiter, Group, LineColumn, Literal, Punct, Spacing, Span, TokenStream, TokenTree,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};

use crate::check::{self, MAX_PARAMS};
use crate::model::{Activation, Cell, InitScheme, Loss, MAX_WIDTH, Network};
use crate::parse::{Form, Invocation};

/// Streams tried by default: enough to reach the rare branches (each kind of
/// mutation at each depth), few enough for a debug build in seconds.
const CASES: usize = 10_000;

/// The default seed ("backprop" in ASCII).
const SEED: u64 = 0x6261_636b_7072_6f70;

#[test]
fn random_streams_never_panic_and_every_error_points_into_the_input() {
    let seed = env_number("BACKPROP_FUZZ_SEED").unwrap_or(SEED);
    let cases = env_number("BACKPROP_FUZZ_CASES").map_or(CASES, |n| {
        usize::try_from(n).expect("BACKPROP_FUZZ_CASES fits in memory")
    });
    let started = Instant::now();
    // Each case draws from its own generator, seeded by the case number, so
    // a case is the same whichever thread runs it; one thread a core.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let (tally, failures) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| scope.spawn(move || fuzz((worker..cases).step_by(workers), seed)))
            .collect();
        handles.into_iter().fold(
            (Tally::default(), Vec::new()),
            |(mut tally, mut failures), handle| {
                let (part, mut more) = handle.join().expect("a fuzz worker failed outside a case");
                tally.add(&part);
                failures.append(&mut more);
                (tally, failures)
            },
        )
    });
    let tried = tally.accepted + tally.rejected + tally.failed;
    println!(
        "fuzz (seed {seed:#x}): {tried} streams tried, {} accepted, {} rejected, {} failed \
         in {:.1} s on {workers} threads ({} unmutated from the grammar, {} with invisible \
         groups, {} too wide, {} mutated or random)",
        tally.accepted,
        tally.rejected,
        tally.failed,
        started.elapsed().as_secs_f64(),
        tally.kinds[0],
        tally.kinds[1],
        tally.kinds[2],
        tally.kinds[3],
    );
    assert!(
        failures.is_empty(),
        "{} streams failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The run must exercise both sides, or the properties above hold vacuously.
    assert!(
        tally.accepted > cases / 20 && tally.rejected > cases / 2,
        "{tally:?}"
    );
}

/// Runs `cases` on this thread (spans and their locations are per thread),
/// stopping after ten failures.
fn fuzz(cases: impl Iterator<Item = usize>, seed: u64) -> (Tally, Vec<String>) {
    let pool = Pool::new();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for case in cases {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(case as u64));
        let (input, expectation) = generate(&mut rng, &pool);
        // Reading an expansion back as Rust costs more than all the rest, so
        // one accepted network in 32 is read back.
        let verdict = run(&input, &expectation, tally.accepted % 32 == 0);
        tally.kinds[expectation.kind()] += 1;
        match verdict {
            Ok(Outcome::Accepted) => tally.accepted += 1,
            Ok(Outcome::Rejected) => tally.rejected += 1,
            Err(failure) => {
                tally.failed += 1;
                failures.push(format!(
                    "case {case} (seed {seed:#x}): {failure}\n  expected: {}\n  input: {}",
                    expectation.describe(),
                    render(&input),
                ));
                if failures.len() == 10 {
                    break;
                }
            }
        }
    }
    (tally, failures)
}

#[test]
fn span_check_catches_spans_outside_the_input() {
    let input = TokenStream::from_str("N = 2 -> relu(3); loss = mse").unwrap();
    let extents = Extents::of(&input);
    let elsewhere = TokenStream::from_str("N = 2 -> relu(3); loss = mse").unwrap();
    let three = find_literal(&input, "3").unwrap();

    assert!(extents.contains(three));
    let whole_layer = three.join(find_literal(&input, "2").unwrap()).unwrap();
    assert!(extents.contains(whole_layer));
    assert!(!extents.contains(Span::call_site()));
    assert!(!extents.contains(find_literal(&elsewhere, "3").unwrap()));

    let message = |span| syn::Error::new(span, "message");
    assert!(check_error(&message(three), &extents).is_ok());
    assert!(check_error(&message(Span::call_site()), &extents).is_err());
    let mut combined = message(three);
    combined.combine(message(Span::call_site()));
    assert!(check_error(&combined, &extents).is_err());
    // `new_spanned` keeps a start and an end span; both are checked.
    let straddling: TokenStream = [
        input.clone().into_iter().next().unwrap(),
        elsewhere.into_iter().last().unwrap(),
    ]
    .into_iter()
    .collect();
    let error = syn::Error::new_spanned(straddling, "message");
    assert!(check_error(&error, &extents).is_err());
}

#[test]
fn widths_too_large_to_exist_are_errors_at_the_width() {
    for (text, width) in [
        (
            "N = 2 -> relu(1000000000000) -> linear(1); loss = mse",
            "1000000000000",
        ),
        ("1000000000000 -> linear(1); loss = mse", "1000000000000"),
        (
            "N = 2 -> linear(100000000000000000000000); loss = mse",
            "100000000000000000000000",
        ),
        (
            "N = 2 -> linear(18446744073709551616); loss = mse",
            "18446744073709551616",
        ),
        (
            "N = 2 -> relu(16777217) -> linear(1); loss = mse",
            "16777217",
        ),
        ("N = 16384 -> relu(16385) -> linear(1); loss = mse", "16385"),
        (
            "N = 2 -> relu(0xE8D4A51000) -> linear(1); loss = mse",
            "0xE8D4A51000",
        ),
    ] {
        let input = TokenStream::from_str(text).unwrap();
        let expectation = Expectation::TooWide(width.to_owned());
        assert!(
            matches!(run(&input, &expectation, true), Ok(Outcome::Rejected)),
            "{text}: {:?}",
            run(&input, &expectation, true).err()
        );
    }
}

/// What happened to a stream that broke no property.
enum Outcome {
    Accepted,
    Rejected,
}

#[derive(Debug, Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
    failed: usize,
    /// By [`Expectation::kind`].
    kinds: [usize; 4],
}

impl Tally {
    fn add(&mut self, other: &Self) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.failed += other.failed;
        for (kind, more) in self.kinds.iter_mut().zip(other.kinds) {
            *kind += more;
        }
    }
}

/// What a stream must do, beyond never panicking and pointing every error
/// into the input.
enum Expectation {
    /// A network that keeps every rule, read back as written.
    Accept(Written),
    /// The same, with its literals in invisible groups.
    AcceptInvisible(Written),
    /// A network that breaks a rule (the reason, for the report).
    Reject(&'static str),
    /// Rejected with an error at the width literal written so.
    TooWide(String),
    /// A mutant: either answer, as long as it is a clean one.
    Either,
}

impl Expectation {
    fn kind(&self) -> usize {
        match self {
            Self::Accept(_) | Self::Reject(_) => 0,
            Self::AcceptInvisible(_) => 1,
            Self::TooWide(_) => 2,
            Self::Either => 3,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Accept(written) | Self::AcceptInvisible(written) => {
                format!("accepted as {written:?}")
            }
            Self::Reject(reason) => format!("rejected: {reason}"),
            Self::TooWide(width) => format!("rejected at the width `{width}`"),
            Self::Either => "accepted, or rejected with errors in the input".to_owned(),
        }
    }
}

/// What the model must read from a valid generated network.
#[derive(Debug)]
struct Written {
    item: bool,
    inputs: usize,
    widths: Vec<usize>,
    activations: Vec<&'static str>,
    loss: &'static str,
    float: &'static str,
    init: Option<&'static str>,
    seed: u64,
}

/// Runs one stream through the model and the expander and checks the
/// properties of the module doc.
fn run(
    input: &TokenStream,
    expectation: &Expectation,
    read_as_rust: bool,
) -> Result<Outcome, String> {
    let (model, expanded) = panic::catch_unwind(AssertUnwindSafe(|| {
        let model = syn::parse2::<Invocation>(input.clone())
            .and_then(Network::from_invocation)
            .and_then(check::check);
        (model, crate::tests::expansion(input.clone()))
    }))
    .map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("panicked: {message}")
    })?;
    match model {
        Ok(network) => {
            match expectation {
                Expectation::Reject(reason) => return Err(format!("accepted ({reason})")),
                Expectation::TooWide(_) => return Err("accepted".to_owned()),
                Expectation::Accept(written) | Expectation::AcceptInvisible(written) => {
                    read_back(&network, written)?;
                }
                Expectation::Either => {}
            }
            if read_as_rust && network.layers.len() <= 16 {
                if mentions(&expanded, "compile_error") {
                    return Err("accepted, but the expansion has a `compile_error!`".to_owned());
                }
                let parsed = match network.form {
                    Form::Item { .. } => syn::parse2::<syn::File>(expanded).map(drop),
                    Form::Expr => syn::parse2::<syn::Expr>(expanded).map(drop),
                };
                parsed.map_err(|e| format!("accepted, but the expansion is not Rust: {e}"))?;
            }
            Ok(Outcome::Accepted)
        }
        Err(error) => {
            let extents = Extents::of(input);
            if !extents.is_empty() {
                check_error(&error, &extents)?;
            }
            let messages = || error.clone().into_iter().map(|e| e.to_string());
            if let Some(bad) =
                messages().find(|m| m.is_empty() || m.starts_with(|c: char| c.is_uppercase()))
            {
                return Err(format!("message `{bad}` is empty or capitalised"));
            }
            if !mentions(&expanded, "compile_error") {
                return Err("rejected, but the expansion has no `compile_error!`".to_owned());
            }
            match expectation {
                Expectation::Accept(_) | Expectation::AcceptInvisible(_) => {
                    Err(format!("rejected: {:?}", messages().collect::<Vec<_>>()))
                }
                Expectation::TooWide(width) => {
                    let literal = find_literal(input, width).ok_or("no such width")?;
                    let at_width = error.clone().into_iter().any(|e| {
                        let message = e.to_string();
                        same_place(e.span(), literal)
                            && ["largest supported width", "positive integer", "parameters"]
                                .iter()
                                .any(|phrase| message.contains(phrase))
                    });
                    if at_width {
                        Ok(Outcome::Rejected)
                    } else {
                        Err(format!(
                            "no error about the width `{width}`: {:?}",
                            messages().collect::<Vec<_>>()
                        ))
                    }
                }
                Expectation::Reject(_) | Expectation::Either => Ok(Outcome::Rejected),
            }
        }
    }
}

/// Compares the model with what the generator wrote.
fn read_back(network: &Network, written: &Written) -> Result<(), String> {
    let recurrent = network.recurrent.iter().map(|l| (l.width, l.cell.name()));
    let dense = network
        .layers
        .iter()
        .map(|l| (l.width, l.activation.name()));
    let (widths, activations): (Vec<usize>, Vec<&str>) = recurrent.chain(dense).unzip();
    let read = Written {
        item: matches!(network.form, Form::Item { .. }),
        inputs: network.inputs,
        widths,
        activations,
        loss: network.loss.map_or("none", Loss::name),
        float: network.float.name(),
        init: network.init.map(InitScheme::name),
        seed: network.seed,
    };
    let same = read.item == written.item
        && read.inputs == written.inputs
        && read.widths == written.widths
        && read.activations == written.activations
        && read.loss == written.loss
        && read.float == written.float
        && read.init == written.init
        && read.seed == written.seed;
    if same {
        Ok(())
    } else {
        Err(format!("read back as {read:?}"))
    }
}

// --- Spans ---------------------------------------------------------------

/// Where the input's tokens are: every token, group and delimiter, as file,
/// start and end.
struct Extents(Vec<(String, LineColumn, LineColumn)>);

impl Extents {
    fn of(tokens: &TokenStream) -> Self {
        fn collect(tokens: &TokenStream, out: &mut Vec<(String, LineColumn, LineColumn)>) {
            for token in tokens.clone() {
                let mut push = |span: Span| out.push((span.file(), span.start(), span.end()));
                push(token.span());
                if let TokenTree::Group(group) = &token {
                    push(group.span_open());
                    push(group.span_close());
                    collect(&group.stream(), out);
                }
            }
        }
        let mut extents = Vec::new();
        collect(tokens, &mut extents);
        Self(extents)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `span` starts within a token of the input and ends within
    /// one, in the same string.
    fn contains(&self, span: Span) -> bool {
        let file = span.file();
        let covered = |point: LineColumn| {
            self.0
                .iter()
                .any(|(f, start, end)| *f == file && *start <= point && point <= *end)
        };
        covered(span.start()) && covered(span.end())
    }
}

/// Checks every span of every message of `error`, as the compiler will see
/// them: the tokens of its `compile_error!` invocations.
fn check_error(error: &syn::Error, extents: &Extents) -> Result<(), String> {
    fn spans(tokens: TokenStream, out: &mut Vec<Span>) {
        for token in tokens {
            out.push(token.span());
            if let TokenTree::Group(group) = token {
                spans(group.stream(), out);
            }
        }
    }
    for message in error.clone() {
        let mut all = Vec::new();
        spans(message.to_compile_error(), &mut all);
        if let Some(outside) = all.into_iter().find(|span| !extents.contains(*span)) {
            return Err(format!(
                "error `{message}` is spanned at {} {:?}..{:?}, outside the input",
                outside.file(),
                outside.start(),
                outside.end()
            ));
        }
    }
    Ok(())
}

fn same_place(a: Span, b: Span) -> bool {
    a.file() == b.file() && a.start() == b.start() && a.end() == b.end()
}

/// The span of the first literal written as `text`, at any depth.
fn find_literal(tokens: &TokenStream, text: &str) -> Option<Span> {
    tokens.clone().into_iter().find_map(|token| match token {
        TokenTree::Literal(literal) if literal.to_string() == text => Some(literal.span()),
        TokenTree::Group(group) => find_literal(&group.stream(), text),
        _ => None,
    })
}

/// Whether `tokens` contain the identifier `name` at any depth.
fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(&group.stream(), name),
        _ => false,
    })
}

/// `tokens` as text, with invisible groups shown as `⟦…⟧` (plain
/// `to_string` drops them, and they matter).
fn render(tokens: &TokenStream) -> String {
    fn write(tokens: &TokenStream, out: &mut String) {
        for token in tokens.clone() {
            match token {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::None => ("⟦", "⟧"),
                    };
                    out.push_str(open);
                    write(&group.stream(), out);
                    out.push_str(close);
                    out.push(' ');
                }
                TokenTree::Punct(punct) => {
                    out.push(punct.as_char());
                    if punct.spacing() == Spacing::Alone {
                        out.push(' ');
                    }
                }
                token => {
                    let _ = write!(out, "{token} ");
                }
            }
        }
    }
    let mut out = String::new();
    write(tokens, &mut out);
    out
}

// --- Generation ------------------------------------------------------------

/// One stream and what it must do.
fn generate(rng: &mut StdRng, pool: &Pool) -> (TokenStream, Expectation) {
    match rng.random_range(0..100) {
        0..4 => {
            let generated = network(rng, None);
            let expectation = match generated.written {
                Ok(written) => Expectation::Accept(written),
                Err(reason) => Expectation::Reject(reason),
            };
            (parse(&generated.text), expectation)
        }
        4..6 => {
            let generated = network(rng, None);
            let tokens = invisible_literals(parse(&generated.text), false);
            match generated.written {
                Ok(written) => (tokens, Expectation::AcceptInvisible(written)),
                Err(reason) => (tokens, Expectation::Reject(reason)),
            }
        }
        6..9 => {
            let huge = if rng.random_bool(0.2) {
                Huge::Product
            } else {
                Huge::Width(HUGE.choose(rng).copied().unwrap_or_default())
            };
            // Otherwise valid, so that nothing hides the error about the width.
            loop {
                let generated = network(rng, Some(huge));
                if let (Ok(_), Some(width)) = (generated.written, generated.huge_width) {
                    break (parse(&generated.text), Expectation::TooWide(width));
                }
            }
        }
        9..13 => {
            let length = rng.random_range(0..40);
            let soup = (0..length).map(|_| pool.token(rng)).collect();
            (soup, Expectation::Either)
        }
        _ => {
            let text = network(rng, None).text;
            let mut tokens: Vec<TokenTree> = parse(&text).into_iter().collect();
            let mutations = if rng.random_bool(0.2) {
                rng.random_range(5..=20)
            } else {
                rng.random_range(1..=4)
            };
            for _ in 0..mutations {
                tokens = mutate(tokens, rng, pool, 0);
            }
            (tokens.into_iter().collect(), Expectation::Either)
        }
    }
}

fn parse(text: &str) -> TokenStream {
    TokenStream::from_str(text).unwrap_or_else(|e| panic!("generated `{text}` does not lex: {e}"))
}

/// Widths that cannot exist.
const HUGE: [&str; 7] = [
    "1000000000000",
    "100000000000000000000000",
    "18446744073709551616",
    "18446744073709551615",
    "16777217",
    "0x10000000000",
    "1_000_000_000_000",
];

/// A width too large to exist, for [`network`] to write.
#[derive(Clone, Copy)]
enum Huge {
    /// This literal in place of a random width.
    Width(&'static str),
    /// An input width and a first layer each small enough, but whose
    /// product is not.
    Product,
}

/// A network written from the grammar.
struct Generated {
    text: String,
    /// What the model must read from it, or the rule it breaks.
    written: Result<Written, &'static str>,
    /// The width literal too large to exist, as written.
    huge_width: Option<String>,
}

const ATTRIBUTES: [&str; 8] = [
    "/// A network.\n",
    "/// Two lines\n/// of docs.\n",
    "/** Block docs. */\n",
    "#[doc = \"docs\"]\n",
    "#[allow(dead_code)]\n",
    "#[derive(Clone)]\n",
    "#[cfg_attr(test, allow(unused))]\n",
    "#[doc(hidden)]\n",
];

const VISIBILITIES: [&str; 6] = [
    "",
    "pub ",
    "pub(crate) ",
    "pub(super) ",
    "pub(in crate) ",
    "pub(self) ",
];

const TYPE_NAMES: [&str; 6] = ["Xor", "N", "Classifier2", "_Hidden", "r#Net", "Réseau"];

/// Names that are no activation (some are other libraries' names for ours).
const NOT_ACTIVATIONS: [&str; 6] = ["sigmiod", "swish", "Relu", "identity", "logistic", "relu6"];

/// Writes a random network, with a width too large to exist if asked.
fn network(rng: &mut StdRng, huge: Option<Huge>) -> Generated {
    let mut broken = None;
    let mut text = String::new();
    let item = rng.random_bool(0.6);
    if item {
        for _ in 0..rng.random_range(0..=3) {
            text.push_str(ATTRIBUTES.choose(rng).unwrap());
        }
        text.push_str(VISIBILITIES.choose(rng).unwrap());
        text.push_str(TYPE_NAMES.choose(rng).unwrap());
        text.push_str(" = ");
    }

    let long = rng.random_bool(0.005);
    let depth = if long {
        rng.random_range(50..=200)
    } else {
        rng.random_range(1..=6)
    };
    let width = |rng: &mut StdRng| -> usize {
        if long {
            rng.random_range(1..=3)
        } else if rng.random_bool(0.05) {
            rng.random_range(17..=300)
        } else {
            rng.random_range(1..=16)
        }
    };
    let mut widths: Vec<usize> = (0..=depth).map(|_| width(rng)).collect();
    let mut width_texts: Vec<String> = widths.iter().map(|&w| integer(rng, w as u64)).collect();
    if rng.random_bool(0.01) {
        let at = rng.random_range(0..widths.len());
        widths[at] = 0;
        width_texts[at] = "0".to_owned();
        broken = Some("a zero width");
    }
    let huge_width = huge.map(|huge| write_huge(rng, huge, &mut width_texts));

    let mut activations = Vec::new();
    text.push_str(&width_texts[0]);
    // Now and then recurrent layers first, and rarely one after a dense layer.
    let recurrent = if depth > 1 && rng.random_bool(0.2) {
        rng.random_range(1..depth.min(3))
    } else {
        0
    };
    for l in 1..=depth {
        let last = l == depth;
        let activation = if l <= recurrent {
            *Cell::NAMES.choose(rng).unwrap()
        } else if l > recurrent + 1 && rng.random_bool(0.005) {
            broken = Some("a recurrent layer after a dense one");
            *Cell::NAMES.choose(rng).unwrap()
        } else {
            activation(rng, last, &mut broken)
        };
        if activation == "softmax" && !last {
            broken = Some("`softmax` before the output");
        }
        if activation == "softmax" && widths[l] == 1 {
            broken = Some("`softmax(1)`");
        }
        activations.push(activation);
        let _ = write!(
            text,
            "{}->{}",
            separator(rng),
            layer(rng, activation, &width_texts[l], &mut broken)
        );
    }

    let last = activations.last().copied().unwrap_or_default();
    let options = options(rng, item, last, &mut broken);
    for option in &options.written {
        let _ = write!(text, "{};{}{option}", separator(rng), separator(rng));
    }
    if rng.random_bool(0.3) {
        text.push(';');
    }

    if parameters(&widths, &activations) > MAX_PARAMS && huge.is_none() {
        broken = Some("too many parameters");
    }
    let written = match broken {
        Some(reason) => Err(reason),
        None => Ok(Written {
            item,
            inputs: widths[0],
            widths: widths[1..].to_vec(),
            activations,
            loss: options.loss,
            float: options.float,
            init: options.init,
            seed: options.seed,
        }),
    };
    Generated {
        text,
        written,
        huge_width,
    }
}

/// The parameters of layers of these widths and names.
fn parameters(widths: &[usize], names: &[&str]) -> usize {
    widths
        .windows(2)
        .zip(names)
        .map(|(pair, name)| match Cell::from_name(name) {
            Some(cell) => cell.params(pair[0], pair[1]),
            None => (pair[0] + 1) * pair[1],
        })
        .sum()
}

/// A layer's activation: any name for the output layer, no `softmax`
/// before it but rarely, and now and then a name that is no activation.
fn activation(rng: &mut StdRng, last: bool, broken: &mut Option<&'static str>) -> &'static str {
    if rng.random_bool(0.01) {
        *broken = Some("an unknown activation");
        NOT_ACTIVATIONS.choose(rng).unwrap()
    } else if last || rng.random_bool(0.02) {
        Activation::NAMES.choose(rng).unwrap()
    } else {
        let hidden: Vec<&'static str> = Activation::NAMES
            .into_iter()
            .filter(|name| *name != "softmax")
            .collect();
        hidden.choose(rng).unwrap()
    }
}

/// Writes a width too large to exist in `width_texts`; returns it as written.
fn write_huge(rng: &mut StdRng, huge: Huge, width_texts: &mut [String]) -> String {
    match huge {
        Huge::Product => {
            let max_width = usize::try_from(MAX_WIDTH).expect("a 64-bit target");
            let wide = rng.random_range(16_385..=max_width);
            let mut inputs = (MAX_PARAMS / wide + rng.random_range(1..1000)).min(max_width);
            if inputs == wide {
                inputs -= 1;
            }
            width_texts[0] = inputs.to_string();
            width_texts[1] = wide.to_string();
            wide.to_string()
        }
        Huge::Width(huge) => {
            let at = rng.random_range(0..width_texts.len());
            width_texts[at] = huge.to_owned();
            huge.to_owned()
        }
    }
}

/// The options of a network, as written in a random order.
struct Options {
    written: Vec<String>,
    loss: &'static str,
    float: &'static str,
    init: Option<&'static str>,
    seed: u64,
}

/// `loss` (mostly one that fits the `last` activation), and sometimes
/// `float`, `init` and `seed`; now and then with a mistake, recorded in
/// `broken`.
fn options(rng: &mut StdRng, item: bool, last: &str, broken: &mut Option<&'static str>) -> Options {
    let fitting: Vec<&str> = Loss::NAMES
        .iter()
        .copied()
        .filter(|&loss| match loss {
            "cross_entropy" => last == "softmax",
            "bce" => last == "sigmoid",
            _ => true,
        })
        .chain(["none"])
        .collect();
    let loss = if rng.random_bool(0.9) {
        fitting.choose(rng).unwrap()
    } else {
        Loss::NAMES.choose(rng).unwrap()
    };
    if !fitting.contains(loss) {
        *broken = Some("a loss that does not fit the output");
    }
    let mut written = vec![format!("loss = {}", loss_text(rng, loss, broken))];
    if rng.random_bool(0.02) {
        written.clear();
        *broken = Some("no loss");
    }
    let float = if rng.random_bool(0.5) {
        let float = *["f32", "f64"].choose(rng).unwrap();
        written.push(format!("float = {float}"));
        float
    } else {
        "f32"
    };
    let init = if rng.random_bool(0.25) {
        let init = *InitScheme::ALL.map(InitScheme::name).choose(rng).unwrap();
        written.push(format!("init = {init}"));
        Some(init)
    } else {
        None
    };
    let seed = if rng.random_bool(if item { 0.01 } else { 0.5 }) {
        let seed = rng.random::<u64>() >> rng.random_range(0..64);
        written.push(format!("seed = {}", integer(rng, seed)));
        if item {
            *broken = Some("`seed` in the item form");
        }
        seed
    } else {
        0
    };
    if rng.random_bool(0.02) {
        written.push(
            (*["flaot = f64", "los = mse", "float = f16"]
                .choose(rng)
                .unwrap())
            .to_owned(),
        );
        *broken = Some("an unknown option or float type");
    }
    if rng.random_bool(0.02) && !written.is_empty() {
        let again = written.choose(rng).unwrap().clone();
        written.push(again);
        *broken = Some("a duplicate option");
    }
    shuffle(rng, &mut written);
    Options {
        written,
        loss,
        float,
        init,
        seed,
    }
}

/// `activation(width, parameters…)`.
fn layer(
    rng: &mut StdRng,
    activation: &str,
    width: &str,
    broken: &mut Option<&'static str>,
) -> String {
    let mut params: Vec<String> = Vec::new();
    let number = |rng: &mut StdRng, positive: bool| -> &'static str {
        let value = if positive {
            ["0.5", "1", "2.0", "1e-3", "3", "0.25"].choose(rng)
        } else {
            ["0.2", "-0.5", "0", "1.5e1", "-2", "0.01"].choose(rng)
        };
        value.copied().unwrap_or_default()
    };
    if rng.random_bool(0.5) {
        match activation {
            "leaky_relu" => params.push(format!("slope = {}", number(rng, false))),
            "elu" => params.push(format!("alpha = {}", number(rng, false))),
            "softplus" => {
                if rng.random_bool(0.05) {
                    params.push("beta = 0".to_owned());
                    *broken = Some("`beta = 0`");
                } else {
                    params.push(format!("beta = {}", number(rng, true)));
                }
            }
            "gelu" => params.push(format!(
                "approximate = {}",
                ["none", "tanh"].choose(rng).unwrap()
            )),
            _ => {}
        }
    }
    if rng.random_bool(0.01) {
        params.push("bias = false".to_owned());
        *broken = Some("an unknown layer parameter");
    }
    let trailing = if rng.random_bool(0.1) { "," } else { "" };
    let params = params.iter().fold(String::new(), |mut all, param| {
        let _ = write!(all, ", {param}");
        all
    });
    format!("{activation}({width}{params}{trailing})")
}

/// `loss = …`'s value: `mse`, `huber`, `huber()`, `huber(delta = 0.5)`.
fn loss_text(rng: &mut StdRng, loss: &str, broken: &mut Option<&'static str>) -> String {
    if loss != "huber" {
        return loss.to_owned();
    }
    match rng.random_range(0..4) {
        0 => "huber".to_owned(),
        1 => "huber()".to_owned(),
        2 if rng.random_bool(0.1) => {
            *broken = Some("`delta = -1`");
            "huber(delta = -1)".to_owned()
        }
        _ => format!(
            "huber(delta = {},)",
            ["0.5", "1", "2.0", "1e-2"].choose(rng).unwrap()
        ),
    }
}

/// `value` as an integer literal: mostly decimal, sometimes another base or
/// with underscores.
fn integer(rng: &mut StdRng, value: u64) -> String {
    match rng.random_range(0..20) {
        0 => format!("{value:#x}"),
        1 => format!("{value:#o}"),
        2 => format!("{value:#b}"),
        3 => format!("{value}_"),
        _ => value.to_string(),
    }
}

/// What stands between two tokens: a space mostly, sometimes a line break or a comment.
fn separator(rng: &mut StdRng) -> &'static str {
    [" ", " ", " ", " ", "\n", " /* note */ ", " // note\n", ""]
        .choose(rng)
        .copied()
        .unwrap_or(" ")
}

fn shuffle<T>(rng: &mut StdRng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}

/// `tokens` with every literal outside an attribute in an invisible group,
/// as `macro_rules!` passes a `$x:literal` on.
fn invisible_literals(tokens: TokenStream, in_group: bool) -> TokenStream {
    let mut out = Vec::new();
    let mut after_pound = false;
    for token in tokens {
        let token = match token {
            TokenTree::Literal(literal) => {
                let span = literal.span();
                group(Delimiter::None, TokenTree::Literal(literal).into(), span)
            }
            // `#[doc = "…"]` stays as written: attributes are syn's to read.
            TokenTree::Group(g) if in_group || !after_pound => group(
                g.delimiter(),
                invisible_literals(g.stream(), true),
                g.span(),
            ),
            token => token,
        };
        after_pound = matches!(&token, TokenTree::Punct(p) if p.as_char() == '#');
        out.push(token);
    }
    out.into_iter().collect()
}

/// A group with a real location (`Group::new` alone would be at the call site).
fn group(delimiter: Delimiter, stream: TokenStream, span: Span) -> TokenTree {
    let mut group = Group::new(delimiter, stream);
    group.set_span(span);
    TokenTree::Group(group)
}

// --- Mutation --------------------------------------------------------------

/// Tokens to insert, each parsed once from one string, so each has a location.
struct Pool(Vec<TokenTree>);

impl Pool {
    fn new() -> Self {
        let text = r#"
            0 1 2 3 7 8 0x10 0o17 0b101 1_000 007 3usize 3u8 2i128 4u64 3f32 1.0 0.5 -0.5
            1e400 1e-400 1e10 2.5f64 100000000000000000000000 18446744073709551616
            18446744073709551615 1000000000000 16777216 16777217 4294967296 0.0
            "mse" "" r"raw" r"raw" 'c' '\n' '\u{1F600}' b'x' b"bytes" br"raw"
            c"text" 'a 'static
            ; , -> => = == - + * / % # ! ? : :: . .. ..= ... @ $ & && | || ^ ~ < > <= >= << >>= +=
            _ self Self crate super pub fn struct mod loss float seed init f16 f32 f64 u64 usize
            he_normal glorot_uniform pytorch xavier_uniform
            mse mae huber cross_entropy bce linear sigmoid tanh relu leaky_relu elu gelu silu
            softplus softmax sigmiod swish identity logistic slope alpha approximate beta delta
            none r#type r#loss Xor Réseau
            () [] {} (3) [3] {3} (3, slope = 0.2) (delta = 0.5) (loss = mse) (,) (3,,)
            /// doc
            #[allow(dead_code)]
        "#;
        let hashed_raw = "r#\"raw \"quoted\"\"#";
        let mut tokens: Vec<TokenTree> =
            parse(&format!("{text} {hashed_raw}")).into_iter().collect();
        // Literals a macro could make but no source can hold: negative, huge
        // or non-finite once read, each placed at a pool token's location.
        let at = tokens[0].span();
        for mut literal in [
            Literal::i64_unsuffixed(-3),
            Literal::i128_suffixed(i128::MIN),
            Literal::u128_unsuffixed(u128::MAX),
            Literal::f64_unsuffixed(-0.25),
            Literal::f64_unsuffixed(1e300),
            Literal::f32_suffixed(2.5),
            Literal::string("mse"),
            Literal::character('3'),
            Literal::byte_string(b"3"),
        ] {
            literal.set_span(at);
            tokens.push(TokenTree::Literal(literal));
        }
        Self(tokens)
    }

    fn token(&self, rng: &mut StdRng) -> TokenTree {
        self.0
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| Punct::new(';', Spacing::Alone).into())
    }
}

/// How deep mutants nest groups: past the macro's limit of 64, not so deep
/// that syn's recursive reading of the whole input (before the macro sees
/// it) overflows a test thread's stack.
const MAX_DEPTH: usize = 200;

/// The deepest nesting of groups in `tokens`.
fn nesting(tokens: &[TokenTree]) -> usize {
    tokens
        .iter()
        .map(|token| match token {
            TokenTree::Group(group) => 1 + nesting(&group.stream().into_iter().collect::<Vec<_>>()),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Applies one random mutation, at this level or (a third of the time) in a
/// random group below it.
#[expect(
    clippy::too_many_lines,
    reason = "one arm per kind of mutation, read side by side"
)]
fn mutate(
    mut tokens: Vec<TokenTree>,
    rng: &mut StdRng,
    pool: &Pool,
    depth: usize,
) -> Vec<TokenTree> {
    let groups: Vec<usize> = (0..tokens.len())
        .filter(|&i| matches!(tokens[i], TokenTree::Group(_)))
        .collect();
    if let Some(&i) = groups.choose(rng)
        && depth < 64
        && rng.random_bool(0.35)
    {
        let TokenTree::Group(g) = &tokens[i] else {
            unreachable!("chosen among groups")
        };
        let inner = mutate(g.stream().into_iter().collect(), rng, pool, depth + 1);
        tokens[i] = group(g.delimiter(), inner.into_iter().collect(), g.span());
        return tokens;
    }

    let n = tokens.len();
    let index = |rng: &mut StdRng| rng.random_range(0..n);
    let position = |rng: &mut StdRng| rng.random_range(0..=n);
    match (rng.random_range(0..13), n) {
        // Insert a random token anywhere, even into an empty stream.
        (_, 0) | (0, _) => {
            let at = position(rng);
            tokens.insert(at, pool.token(rng));
        }
        (1, _) => {
            tokens.remove(index(rng));
        }
        (2, _) => {
            let (a, b) = (index(rng), index(rng));
            tokens.swap(a, b);
        }
        (3, _) => {
            let i = index(rng);
            let copy = tokens[i].clone();
            tokens.insert(position(rng), copy);
        }
        (4, _) => {
            let i = index(rng);
            tokens[i] = pool.token(rng);
        }
        // Repeat a run, as in a long chain of `-> relu(3)`.
        (5, _) => {
            let start = index(rng);
            let end = rng.random_range(start + 1..=n.min(start + 6));
            let times = rng.random_range(1..=60);
            let run: Vec<TokenTree> = tokens[start..end].to_vec();
            let repeated: Vec<TokenTree> = (0..times).flat_map(|_| run.clone()).collect();
            tokens.splice(end..end, repeated);
        }
        // Wrap a (possibly empty) run in a group of any kind.
        (6 | 7, _) => {
            let start = position(rng);
            let end = rng.random_range(start..=n);
            let delimiter = *[
                Delimiter::None,
                Delimiter::None,
                Delimiter::Parenthesis,
                Delimiter::Bracket,
                Delimiter::Brace,
            ]
            .choose(rng)
            .unwrap();
            let near = tokens[start.min(n - 1)].span();
            let span = near.join(tokens[end.max(1) - 1].span()).unwrap_or(near);
            let inner: TokenStream = tokens.drain(start..end).collect();
            tokens.insert(start, group(delimiter, inner, span));
        }
        // Bury one token in many groups: `(([[{3}]]))`.
        (8, _) => {
            let i = index(rng);
            let levels = if rng.random_bool(0.1) {
                rng.random_range(48..=160)
            } else {
                rng.random_range(1..=16)
            };
            let levels = levels.min(MAX_DEPTH.saturating_sub(depth + nesting(&tokens)));
            let invisible_only = rng.random_bool(0.3);
            let span = tokens[i].span();
            let mut buried = tokens[i].clone();
            for _ in 0..levels {
                let delimiter = if invisible_only {
                    Delimiter::None
                } else {
                    *[
                        Delimiter::None,
                        Delimiter::Parenthesis,
                        Delimiter::Bracket,
                        Delimiter::Brace,
                    ]
                    .choose(rng)
                    .unwrap()
                };
                buried = group(delimiter, buried.into(), span);
            }
            tokens[i] = buried;
        }
        // Open a group: its tokens join this level.
        (9, _) => {
            if let Some(&i) = groups.choose(rng) {
                let TokenTree::Group(g) = tokens.remove(i) else {
                    unreachable!("chosen among groups")
                };
                tokens.splice(i..i, g.stream());
            }
        }
        // Flip a punctuation's spacing: `->` becomes `- >`, `= =` becomes `==`.
        (10, _) => {
            let puncts: Vec<usize> = (0..n)
                .filter(|&i| matches!(tokens[i], TokenTree::Punct(_)))
                .collect();
            if let Some(&i) = puncts.choose(rng)
                && let TokenTree::Punct(p) = &tokens[i]
            {
                let spacing = match p.spacing() {
                    Spacing::Alone => Spacing::Joint,
                    Spacing::Joint => Spacing::Alone,
                };
                let mut flipped = Punct::new(p.as_char(), spacing);
                flipped.set_span(p.span());
                tokens[i] = flipped.into();
            }
        }
        // Truncate: the input ends early.
        (11, _) => tokens.truncate(index(rng)),
        _ => {
            let i = index(rng);
            tokens.insert(i, pool.token(rng));
            tokens.remove(index(rng));
        }
    }
    tokens
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

// --- Regressions ---------------------------------------------------------
//
// Inputs the fuzzer found mishandled, reduced by hand.

/// The model's errors for `input`, after checking that each lies in it.
fn located_errors(input: &TokenStream) -> Vec<(String, Span)> {
    let error = syn::parse2::<Invocation>(input.clone())
        .and_then(Network::from_invocation)
        .and_then(check::check)
        .err()
        .expect("rejected");
    check_error(&error, &Extents::of(input)).unwrap();
    error
        .into_iter()
        .map(|e| (e.to_string(), e.span()))
        .collect()
}

/// syn puts a token missing at the end of the input at the call site, which
/// would underline the whole `network!{…}`; these point at the last token.
#[test]
fn errors_at_the_end_of_the_input_point_at_its_last_token() {
    for text in [
        "N = 2",
        "N = 2 -> relu(3) ->",
        "N = 2 -> relu",
        "N =",
        "pub N",
        "#[doc = \"a\"] #",
        "2 -> relu(3); loss",
    ] {
        let input = parse(text);
        let last_span = input.clone().into_iter().last().unwrap().span();
        let errors = located_errors(&input);
        assert!(
            errors
                .iter()
                .all(|(_, span)| span.start() >= last_span.start()),
            "{text}: {errors:?}"
        );
    }
}

/// `seed =` with nothing after it was reported at the call site.
#[test]
fn an_empty_seed_is_an_error_at_its_equals_sign() {
    let input = parse("2 -> relu(3); loss = mse; seed =");
    let errors = located_errors(&input);
    let equals = input.into_iter().last().unwrap().span();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].0.contains("expected a seed"), "{errors:?}");
    assert!(same_place(errors[0].1, equals));
}

/// `loss = huber(delta = $d)` with `$d:literal` arrives with `0.5` in an
/// invisible group, which was read as "not a number"; a layer's parameters
/// were already read through such groups.
#[test]
fn a_loss_parameter_in_an_invisible_group_reads_as_written() {
    let input = invisible_literals(
        parse("N = 2 -> leaky_relu(3, slope = 0.5) -> linear(1); loss = huber(delta = 0.5)"),
        false,
    );
    let network = Network::from_invocation(syn::parse2(input).unwrap()).unwrap();
    assert_eq!(network.loss, Some(Loss::Huber { delta: 0.5 }));
    assert_eq!(
        network.layers[0].activation,
        Activation::LeakyRelu { slope: 0.5 }
    );
}

/// syn reads an attribute's value one stack frame per level of nesting, so
/// `#[doc = [[[…]]]]` a couple of hundred levels deep overflowed the stack,
/// which aborts the compiler rather than reporting an error.
#[test]
fn groups_nested_too_deep_are_an_error_not_a_stack_overflow() {
    let depth = 180;
    let text = format!(
        "#[doc = {}\"docs\"{}] N = 2 -> linear(1); loss = mse",
        "[(".repeat(depth / 2),
        ")]".repeat(depth / 2)
    );
    let input = parse(&text);
    let errors = located_errors(&input);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].0.contains("nested more than 64 deep"),
        "{errors:?}"
    );
    let run = run(&input, &Expectation::Either, false);
    assert!(matches!(run, Ok(Outcome::Rejected)), "{:?}", run.err());

    // 64 levels are still read, in an attribute or elsewhere.
    let text = format!(
        "#[doc = {}\"docs\"{}] N = 2 -> linear(1); loss = mse",
        "[(".repeat(31),
        ")]".repeat(31)
    );
    assert!(syn::parse2::<Invocation>(parse(&text)).is_ok());
}
