// An option with nothing after `=` asks for a value.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss =
}

fn main() {}
