// A misspelt initialisation suggests the nearest scheme.

backprop::network! {
    pub Net = 2 -> relu(3) -> linear(1); loss = mse; init = he_norml
}

fn main() {}
