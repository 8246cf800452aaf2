// An unknown kernel strategy lists the strategies, with the nearest one.

backprop::network! {
    pub Net = 2 -> relu(3) -> linear(1); loss = mse; kernels = blocks
}

fn main() {}
