// A layer width that is a name, not an integer, is rejected at the name.

backprop::network! {
    pub Net = 2 -> sigmoid(x) -> linear(1); loss = mse
}

fn main() {}
