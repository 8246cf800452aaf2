// A fractional layer width is rejected at the literal.

backprop::network! {
    pub Net = 2 -> sigmoid(3.5) -> linear(1); loss = mse
}

fn main() {}
