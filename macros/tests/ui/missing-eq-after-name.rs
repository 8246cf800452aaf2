// A name not followed by `=` is rejected after the name.

backprop::network! {
    pub Net 2 -> sigmoid(3) -> linear(1); loss = mse
}

fn main() {}
