// `lstm` and `gru` take only their width.

backprop::network! {
    pub Amp = 1 -> lstm(16, dropout = 0.1) -> linear(1); loss = mse
}

fn main() {}
