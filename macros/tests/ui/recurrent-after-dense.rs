// A recurrent layer after a dense one is refused at the cell's name.

backprop::network! {
    pub Amp = 1 -> tanh(8) -> lstm(16) -> linear(1); loss = mse
}

fn main() {}
