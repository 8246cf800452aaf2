// An option name not followed by `=` is rejected.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss mse
}

fn main() {}
