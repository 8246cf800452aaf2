// `softmax(1)` is always 1, so it is rejected with the two-class alternatives.

backprop::network! {
    pub Net = 4 -> relu(8) -> softmax(1); loss = cross_entropy
}

fn main() {}
