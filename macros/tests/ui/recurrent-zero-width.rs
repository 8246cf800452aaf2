// A recurrent layer needs at least one unit.

backprop::network! {
    pub Amp = 1 -> gru(0) -> linear(1); loss = mse
}

fn main() {}
