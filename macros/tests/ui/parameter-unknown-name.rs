// A misspelt parameter names the parameters the activation takes.

backprop::network! {
    pub Net = 2 -> leaky_relu(3, slop = 0.1) -> linear(1); loss = mse
}

fn main() {}
