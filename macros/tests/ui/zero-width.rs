// A layer of width 0 is rejected at the 0.

backprop::network! {
    pub Net = 2 -> sigmoid(0) -> linear(1); loss = mse
}

fn main() {}
