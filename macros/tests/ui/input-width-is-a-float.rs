// A fractional input width is rejected at the literal.

backprop::network! {
    pub Net = 2.0 -> sigmoid(3) -> linear(1); loss = mse
}

fn main() {}
