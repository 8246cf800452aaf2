//! The pipeline on `proc_macro2` token streams, without a compiler.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand;
use crate::model::{Activation, FloatType, Loss, Network};
use crate::parse::{Form, Invocation};

/// The expansion of `backprop::network!` with these tokens, through the
/// entry point that macro calls, as a dependency named `backprop` gives it.
pub(crate) fn expansion(tokens: TokenStream) -> TokenStream {
    let mut input = quote!((::backprop));
    input.extend(tokens);
    expand::network_at_path(input)
}

fn model(tokens: TokenStream) -> syn::Result<Network> {
    Network::from_invocation(syn::parse2::<Invocation>(tokens)?).and_then(crate::check::check)
}

/// Every message of a failed invocation.
fn errors(tokens: TokenStream) -> Vec<String> {
    match model(tokens) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn item_form_keeps_attributes_visibility_and_name() {
    let invocation: Invocation = syn::parse2(quote! {
        /// Docs.
        #[allow(dead_code)]
        pub(crate) Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
    })
    .unwrap();
    let Form::Item { attrs, vis, name } = &invocation.form else {
        panic!("expected the item form");
    };
    assert_eq!(attrs.len(), 2);
    assert_eq!(quote!(#vis).to_string(), "pub (crate)");
    assert_eq!(name, "Xor");
    assert_eq!(invocation.layers.len(), 2);
    assert_eq!(invocation.options.len(), 1);
}

#[test]
fn seed_network_model_has_its_sizes() {
    let network = model(quote!(Xor = 2 -> sigmoid(3) -> linear(1); loss = mse)).unwrap();
    assert_eq!(network.inputs, 2);
    let layers: Vec<_> = network
        .layers
        .iter()
        .map(|l| (l.activation, l.width))
        .collect();
    assert_eq!(layers, [(Activation::Sigmoid, 3), (Activation::Linear, 1)]);
    assert_eq!(network.loss, Some(Loss::Mse));
    assert_eq!(network.float, FloatType::F32);
    assert_eq!(network.params(), 2 * 3 + 3 + 3 + 1);
    assert_eq!(network.outputs(), 1);
}

#[test]
fn expression_form_reads_options_in_any_order_with_a_trailing_semicolon() {
    let network =
        model(quote!(4 -> relu(8) -> tanh(2); float = f64; seed = 42; loss = mse;)).unwrap();
    assert!(matches!(network.form, Form::Expr));
    assert_eq!(network.float, FloatType::F64);
    assert_eq!(network.seed, 42);
    assert_eq!(network.fan_in(2), 8);
}

#[test]
fn activation_and_loss_parameters_are_read_with_defaults() {
    let network = model(quote! {
        N = 4 -> leaky_relu(8, slope = 0.2) -> elu(8) -> gelu(8, approximate = tanh)
          -> softplus(8, beta = 2) -> silu(8) -> linear(2); loss = huber(delta = 0.5)
    })
    .unwrap();
    let activations: Vec<_> = network.layers.iter().map(|l| l.activation).collect();
    assert_eq!(
        activations,
        [
            Activation::LeakyRelu { slope: 0.2 },
            Activation::Elu { alpha: 1.0 },
            Activation::Gelu {
                tanh_approximation: true
            },
            Activation::Softplus { beta: 2.0 },
            Activation::Silu,
            Activation::Linear,
        ]
    );
    assert_eq!(network.loss, Some(Loss::Huber { delta: 0.5 }));
    let defaults = model(quote!(N = 4 -> leaky_relu(8) -> linear(1); loss = huber)).unwrap();
    assert_eq!(
        defaults.layers[0].activation,
        Activation::LeakyRelu { slope: 0.01 }
    );
    assert_eq!(defaults.loss, Some(Loss::Huber { delta: 1.0 }));
}

#[test]
fn losses_must_fit_the_output_activation() {
    assert!(model(quote!(N = 4 -> relu(8) -> softmax(3); loss = cross_entropy)).is_ok());
    assert!(model(quote!(N = 4 -> relu(8) -> sigmoid(3); loss = bce)).is_ok());
    assert!(model(quote!(N = 4 -> relu(8) -> softmax(3); loss = mse)).is_ok());
    let messages = errors(quote!(N = 4 -> softmax(8) -> tanh(3); loss = cross_entropy));
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].contains("can only be the output layer"));
    assert!(messages[1].contains("write it as `softmax(3)`"));
    let messages = errors(quote!(N = 4 -> linear(2); loss = bce));
    assert_eq!(
        messages,
        [
            "`bce` needs a `sigmoid` output layer, but the last layer is `linear`; write it as `sigmoid(2)`"
        ]
    );
}

#[test]
fn fused_losses_read_the_logits() {
    let expanded = expansion(quote!(Net = 4 -> relu(8) -> softmax(3); loss = cross_entropy));
    let text = prettyplease::unparse(&syn::parse2(expanded).unwrap());
    let compact: String = text
        .split_whitespace()
        .collect::<String>()
        .replace(",)", ")");
    assert!(
        compact.contains("objective::logit_loss(&::backprop::__private::SoftmaxCrossEntropy,&tape.z2,y,live,batch_rows,delta)"),
        "{text}"
    );
    assert!(
        compact.contains(
            "if!of_logits{::backprop::__private::activation::backprop_softmax(&tape.h2,delta2);}"
        ),
        "softmax's Jacobian only for a gradient of the probabilities:\n{text}"
    );
    assert!(
        compact.contains(
            "if!logits_only{::backprop::__private::activation::softmax(&tape.z2,&muttape.h2);}"
        ),
        "forward still outputs probabilities:\n{text}"
    );
}

#[test]
fn misspelled_names_get_the_nearest_suggestion() {
    assert_eq!(
        errors(quote!(N = 2 -> sigmiod(3) -> linear(1); loss = mse)),
        ["unknown activation `sigmiod`; did you mean `sigmoid`?"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> linear(1); loss = mes)),
        ["unknown loss `mes`; did you mean `mse`?"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> linear(1); loss = mse; flaot = f64)),
        ["unknown option `flaot`; did you mean `float`?"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> swish(3) -> linear(1); loss = mse)),
        ["unknown activation `swish`; did you mean `silu`?"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> leaky_relu(3, slop = 0.1) -> linear(1); loss = mse)),
        ["unknown parameter `slop`; did you mean `slope`?"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> linear(1); loss = MSE)),
        ["unknown loss `MSE`; did you mean `mse`?"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> linear(1); loss = mse; float = f16)),
        ["unknown float type `f16`; expected one of `f32`, `f64`"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> banana(3); loss = mse)),
        [
            "unknown activation `banana`; expected one of `linear`, `sigmoid`, `tanh`, `relu`, \
          `leaky_relu`, `elu`, `gelu`, `silu`, `softplus`, `softmax`, `lstm`, `gru`"
        ]
    );
}

#[test]
fn all_mistakes_are_reported_together() {
    let messages =
        errors(quote!(N = 0 -> sigmiod(3.5) -> relu(0); float = f16; loss = mse; loss = mse));
    assert_eq!(messages.len(), 7, "{messages:#?}");
    for expected in [
        "input is 0",
        "`sigmiod`",
        "found `3.5`",
        "`relu` layer is 0",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "{expected}: {messages:#?}"
        );
    }
    assert!(
        messages
            .iter()
            .any(|m| m.contains("unknown float type `f16`"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("duplicate option `loss`"))
    );
}

#[test]
fn missing_loss_is_an_error() {
    assert_eq!(
        errors(quote!(N = 2 -> linear(1))),
        [
            "missing loss: add `; loss = mse` after the last layer (or `; loss = none` to \
          backpropagate gradients of your own)"
        ]
    );
}

#[test]
fn loss_none_declares_a_network_without_a_built_in_loss() {
    let network = model(quote!(Actor = 3 -> relu(8) -> tanh(1); loss = none)).unwrap();
    assert_eq!(network.loss, None);
    let expanded = expansion(quote!(Actor = 3 -> relu(8) -> tanh(1); loss = none)).to_string();
    assert!(expanded.contains("const LOSS"), "{expanded}");
    assert!(
        !expanded.contains("fn loss_rows"),
        "keeps the trait's default: {expanded}"
    );
    assert_eq!(
        errors(quote!(N = 2 -> linear(1); loss = none(weight = 2))),
        ["unknown parameter `weight`; `none` takes no parameters"]
    );
    assert_eq!(
        errors(quote!(N = 2 -> linear(1); loss = nne)),
        ["unknown loss `nne`; did you mean `none`?"]
    );
}

#[test]
fn sizes_that_cannot_exist_are_errors_not_overflows() {
    let too_wide = errors(quote!(N = 2 -> linear(1000000000000); loss = mse));
    assert!(
        too_wide[0].contains("largest supported width"),
        "{too_wide:?}"
    );
    let overflowing = errors(quote!(N = 2 -> linear(99999999999999999999999999); loss = mse));
    assert!(
        overflowing[0].contains("positive integer"),
        "{overflowing:?}"
    );
    let too_many = errors(quote!(N = 100000 -> relu(100000) -> linear(1); loss = mse));
    assert!(too_many[0].contains("parameters"), "{too_many:?}");
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let parse_error = |tokens| syn::parse2::<Invocation>(tokens).err().unwrap().to_string();
    assert!(
        parse_error(quote!(N = 2 sigmoid(3); loss = mse))
            .contains("expected `->` between the input")
    );
    assert!(
        parse_error(quote!(N = 2 -> sigmoid(3) linear(1); loss = mse)).contains("between layers")
    );
    assert!(parse_error(quote!(N = 2; loss = mse)).contains("at least one layer"));
    assert!(parse_error(quote!(N = 2 -> sigmoid; loss = mse)).contains("in parentheses"));
    assert!(parse_error(quote!(N = 2 -> linear(1) extra)).contains("options follow a `;`"));
    assert!(parse_error(quote!(N 2 -> linear(1))).contains("expected `=`"));
}

#[test]
fn expansion_is_valid_rust_with_the_public_surface() {
    let expanded = expansion(quote! {
        /// Docs.
        pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
    });
    let file: syn::File = syn::parse2(expanded).expect("the expansion parses as items");
    let text = prettyplease::unparse(&file);
    let compact: String = text
        .split_whitespace()
        .collect::<String>()
        .replace(",)", ")")
        .replace(",>", ">");
    for expected in [
        "pub struct Xor",
        "pub fn w1(&self) -> &[[::backprop::__private::f32; 3]; 2]",
        "pub fn b2_mut(&mut self)",
        "pub fn seeded(seed: ::backprop::__private::u64) -> Self",
        "impl ::backprop::__private::Network for Xor",
        "fn backward_rows<const B: ::backprop::__private::usize>",
        "kernels::weight_gradient(&tape.h1, delta2, grad.w2_mut(), *store)",
        "kernels::transposed_product(delta2, self.w2(), delta1)",
        "backprop_activation(&::backprop::__private::Sigmoid, &tape.z1, &tape.h1, delta1)",
    ] {
        let expected: String = expected.split_whitespace().collect();
        assert!(
            compact.contains(&expected),
            "missing `{expected}` in\n{text}"
        );
    }
    assert!(
        !text.contains("__private::Linear"),
        "linear layers need no activation call"
    );
}

#[test]
fn expression_form_expands_to_a_block_expression() {
    let expanded = expansion(quote!(2 -> relu(4) -> linear(1); loss = mse; seed = 9));
    let block: syn::Block = syn::parse2(expanded).expect("the expansion is a block");
    let text = quote!(#block).to_string();
    assert!(text.contains("AnonymousNetwork :: seeded (9u64)"), "{text}");
}

#[test]
fn invalid_invocations_expand_to_compile_errors_and_a_stub() {
    let expanded = expansion(quote!(pub Xor = 2 -> sigmiod(3) -> linear(1); loss = mse));
    let file: syn::File = syn::parse2(expanded).unwrap();
    let text = prettyplease::unparse(&file);
    assert!(text.contains("compile_error!"), "{text}");
    assert!(text.contains("pub struct Xor;"), "{text}");

    let expanded = expansion(quote!(2 -> sigmiod(3) -> linear(1); loss = mse; loss = mse));
    let block: syn::Block =
        syn::parse2(expanded).expect("errors in expression position form a block");
    assert_eq!(
        quote!(#block).to_string().matches("compile_error").count(),
        3
    );
}

#[test]
fn malformed_inputs_never_panic() {
    let cases = [
        quote!(),
        quote!(;),
        quote!(->),
        quote!(N),
        quote!(N =),
        quote!(N = ->),
        quote!(2 ->),
        quote!(2 -> ()),
        quote!(2 -> relu(3) ->),
        quote!(2 -> relu((3))),
        quote!(2 -> relu([3]); loss),
        quote!(2 -> relu(3); loss =),
        quote!(2 -> relu(3); = mse),
        quote!(2 -> relu(3); loss = "mse"),
        quote!(2 -> relu(3); loss = mse; seed = -1),
        quote!(2 -> relu(3); loss = mse; seed = x),
        quote!(-2 -> relu(3); loss = mse),
        quote!(2.0 -> relu(3); loss = mse),
        quote!(pub = 2 -> relu(3); loss = mse),
        quote!(#[doc] N = 2 -> relu(0x10); loss = mse),
        quote!(N = 2 -> relu(3usize); loss = mse),
        quote!(N = 2 -> relu(3, 4); loss = mse),
        quote!(N = 2 -> relu(3) -> ; loss = mse),
        quote!(N = 18446744073709551616 -> relu(3); loss = mse),
    ];
    for case in cases {
        let _ = expansion(case);
    }
}

/// The expansion, formatted: what snapshot tests compare, so every change
/// to code generation shows up in review as a readable diff.
fn formatted_expansion(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(expansion(tokens)).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

#[test]
fn seed_network_expansion_snapshot() {
    insta::assert_snapshot!(formatted_expansion(quote! {
        /// The network of the seed.
        pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
    }));
}

#[test]
fn deep_classifier_expansion_snapshot() {
    insta::assert_snapshot!(formatted_expansion(quote! {
        pub Classifier = 8 -> tanh(16) -> leaky_relu(12, slope = 0.2) -> gelu(8) -> softmax(4);
            loss = cross_entropy; float = f64
    }));
}

#[test]
fn recurrent_network_expansion_snapshot() {
    insta::assert_snapshot!(formatted_expansion(quote! {
        /// A GRU under an LSTM, read out by two dense layers.
        pub Amp = 1 -> gru(4) -> lstm(3) -> tanh(2) -> linear(1); loss = mse
    }));
}

#[test]
fn recurrent_layers_come_first_and_number_the_dense_ones() {
    let network =
        model(quote!(N = 2 -> lstm(8) -> gru(4) -> relu(3) -> linear(1); loss = mse)).unwrap();
    assert_eq!(network.recurrent.len(), 2);
    assert_eq!(network.layers.len(), 2);
    assert_eq!(network.dense_inputs(), 4);
    assert_eq!(network.number(1), 3);
    assert_eq!(
        network.params(),
        4 * 8 * (2 + 8 + 2) + 3 * 4 * (8 + 4 + 2) + (4 + 1) * 3 + (3 + 1)
    );
    assert_eq!(
        errors(quote!(N = 2 -> relu(3) -> gru(4) -> linear(1); loss = mse)).len(),
        1
    );
}

#[test]
fn init_option_names_one_scheme_for_every_layer() {
    use crate::model::InitScheme;
    let default = model(quote!(N = 2 -> relu(3) -> linear(1); loss = mse)).unwrap();
    assert_eq!(default.init, None);
    for scheme in InitScheme::ALL {
        let name = syn::Ident::new(scheme.name(), proc_macro2::Span::call_site());
        let network = model(quote!(N = 2 -> relu(3) -> linear(1); init = #name; loss = mse));
        assert_eq!(network.unwrap().init, Some(scheme));
    }
}

#[test]
fn init_option_mistakes_say_how_to_fix_them() {
    let net =
        |init: TokenStream| errors(quote!(N = 2 -> relu(3) -> linear(1); loss = mse; init = #init));
    assert_eq!(
        net(quote!(glorot_unifrom)),
        ["unknown weight initialisation `glorot_unifrom`; did you mean `glorot_uniform`?"]
    );
    assert_eq!(
        net(quote!(xavier_normal)),
        ["unknown weight initialisation `xavier_normal`; did you mean `glorot_normal`?"]
    );
    assert_eq!(
        net(quote!(he_normal(2))),
        ["unexpected tokens after `he_normal`; separate options with `;`"]
    );
    assert_eq!(
        net(quote!()),
        ["expected a weight initialisation after `=`, such as `he_normal`"]
    );
}

#[test]
fn the_readme_shows_the_grammar_of_grammar_txt() {
    let readme = include_str!("../../README.md");
    let grammar = include_str!("../../src/grammar.txt");
    assert!(
        readme.contains(&format!("```text\n{grammar}```")),
        "README.md's DSL block differs from src/grammar.txt"
    );
}

#[test]
fn parameters_are_written_as_rust_literals_at_any_magnitude() {
    let expanded = expansion(
        quote!(2 -> leaky_relu(3, slope = 0.000001) -> softplus(1, beta = 1e20); loss = mse),
    )
    .to_string();
    for written in [
        "LeakyRelu { slope : 1e-6 }",
        "Softplus { beta : 1e20 }",
        "ActivationKind :: LeakyRelu { slope : 1e-6 }",
    ] {
        assert!(
            expanded.contains(written),
            "{written} is not in the expansion"
        );
    }
}
