// A network whose layers each fit but whose parameters do not is rejected at the first layer too many.

backprop::network! {
    pub Net = 100000 -> relu(100000) -> linear(1); loss = mse
}

fn main() {}
