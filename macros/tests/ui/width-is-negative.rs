// A negative layer width is rejected at `-3`.

backprop::network! {
    pub Net = 2 -> sigmoid(-3) -> linear(1); loss = mse
}

fn main() {}
