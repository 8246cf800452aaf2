// A layer wider than the largest supported width is rejected at the width.

backprop::network! {
    pub Net = 2 -> relu(10000000000000) -> linear(1); loss = mse
}

fn main() {}
