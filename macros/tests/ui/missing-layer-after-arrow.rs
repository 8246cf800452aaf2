// An `->` not followed by a layer is rejected.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> ; loss = mse
}

fn main() {}
