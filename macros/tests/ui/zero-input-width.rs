// An input width of 0 is rejected at the 0.

backprop::network! {
    pub Net = 0 -> sigmoid(3) -> linear(1); loss = mse
}

fn main() {}
