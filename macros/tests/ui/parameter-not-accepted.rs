// A parameter the activation does not take (`slope` on `relu`).

backprop::network! {
    pub Net = 2 -> relu(3, slope = 0.1) -> linear(1); loss = mse
}

fn main() {}
