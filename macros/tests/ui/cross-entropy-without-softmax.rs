// `cross_entropy` needs a `softmax` output and says how to write it.

backprop::network! {
    pub Net = 4 -> relu(8) -> linear(3); loss = cross_entropy
}

fn main() {}
