// Another library's name for an activation (`swish`) suggests ours (`silu`).

backprop::network! {
    pub Net = 2 -> swish(3) -> linear(1); loss = mse
}

fn main() {}
