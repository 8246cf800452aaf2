// `softmax` normalises a row, so it is rejected anywhere but the output layer.

backprop::network! {
    pub Net = 2 -> softmax(3) -> linear(1); loss = mse
}

fn main() {}
