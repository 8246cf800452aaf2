//! The cost constants a deployer reads: parameter bytes, working memory and
//! multiply-adds, counted here by hand from the layers.

use backprop::Network;

backprop::network! {
    /// The seed's network.
    Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

backprop::network! {
    /// Every layer non-linear, in `f64`.
    Deep = 4 -> tanh(5) -> relu(6) -> softmax(3); loss = cross_entropy; float = f64
}

#[test]
fn cost_constants_count_what_the_layers_hold() {
    assert_eq!(Xor::PARAM_BYTES, 13 * 4);
    assert_eq!(Xor::MACS, 2 * 3 + 3);
    // Per row: Z¹ and H¹ (3 each) and H² (1) in the tape; Δ¹ and Δ².
    assert_eq!(Xor::workspace_bytes::<4>(), 4 * (3 + 3 + 1 + 3 + 1) * 4);

    assert_eq!(
        Deep::PARAM_BYTES,
        ((4 + 1) * 5 + (5 + 1) * 6 + (6 + 1) * 3) * 8
    );
    assert_eq!(Deep::MACS, 4 * 5 + 5 * 6 + 6 * 3);
    assert_eq!(
        Deep::workspace_bytes::<1>(),
        (2 * (5 + 6 + 3) + 5 + 6 + 3) * 8
    );
}
