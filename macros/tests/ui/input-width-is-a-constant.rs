// An input width given by a constant's path is refused at the path.

mod config {
    pub const INPUTS: usize = 2;
}

backprop::network! { pub Xor = config::INPUTS -> sigmoid(3) -> linear(1); loss = mse }

fn main() {}
