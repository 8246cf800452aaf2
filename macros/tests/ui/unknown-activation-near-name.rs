// An unknown activation close to a known one suggests the known one.

backprop::network! {
    pub Net = 2 -> sigmiod(3) -> linear(1); loss = mse
}

fn main() {}
