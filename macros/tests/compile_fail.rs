//! Every mistake in a `network!` invocation is a compile error that
//! underlines the offending token and says how to fix it.
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p backprop-macros --test compile_fail`,
//! then read each `macros/tests/ui/*.stderr`.

#[test]
fn network_mistakes_are_compile_errors_at_the_offending_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
