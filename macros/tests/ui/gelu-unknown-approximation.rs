// `gelu`'s `approximate` takes `none` or `tanh`.

backprop::network! {
    pub Net = 2 -> gelu(3, approximate = erf) -> linear(1); loss = mse
}

fn main() {}
