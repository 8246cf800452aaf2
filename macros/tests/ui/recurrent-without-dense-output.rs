// A recurrent network needs a dense layer to map its state to the output.

backprop::network! {
    pub Amp = 1 -> lstm(16); loss = mse
}

fn main() {}
