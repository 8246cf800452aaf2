// Junk after the last layer is rejected at the junk.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1) extra; loss = mse
}

fn main() {}
