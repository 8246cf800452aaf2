// A parameter that must be a number but is not.

backprop::network! {
    pub Net = 2 -> elu(3, alpha = big) -> linear(1); loss = mse
}

fn main() {}
