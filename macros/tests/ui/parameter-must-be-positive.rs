// `softplus`'s `beta` must be positive.

backprop::network! {
    pub Net = 2 -> softplus(3, beta = -1.0) -> linear(1); loss = mse
}

fn main() {}
