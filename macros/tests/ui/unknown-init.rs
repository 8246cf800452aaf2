// An unknown initialisation lists the schemes.

backprop::network! {
    pub Net = 2 -> relu(3) -> linear(1); loss = mse; init = orthogonal
}

fn main() {}
