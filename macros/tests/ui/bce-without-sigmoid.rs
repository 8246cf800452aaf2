// `bce` needs a `sigmoid` output and says how to write it.

backprop::network! {
    pub Net = 4 -> relu(8) -> tanh(1); loss = bce
}

fn main() {}
