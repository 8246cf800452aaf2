// A loss that is not a name lists the known losses.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss = 3
}

fn main() {}
