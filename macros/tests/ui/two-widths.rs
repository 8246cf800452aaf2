// A layer with two widths is rejected at its arguments.

backprop::network! {
    pub Net = 2 -> sigmoid(3, 4) -> linear(1); loss = mse
}

fn main() {}
