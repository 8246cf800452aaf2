// `seed` belongs to the expression form; a named network is seeded with `Net::seeded`.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss = mse; seed = 7
}

fn main() {}
