// Another library's name for an initialisation points at ours.

backprop::network! {
    pub Net = 2 -> relu(3) -> linear(1); loss = mse; init = kaiming_uniform
}

fn main() {}
