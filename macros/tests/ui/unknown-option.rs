// An unknown option lists the known options.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss = mse; optimizer = adam
}

fn main() {}
