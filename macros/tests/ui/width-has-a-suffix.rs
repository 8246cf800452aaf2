// A width written with a type suffix (`3u8`) is rejected rather than silently read as 3.
backprop::network! {
    pub Net = 2 -> sigmoid(3u8) -> linear(1); loss = mse
}

fn main() {}
