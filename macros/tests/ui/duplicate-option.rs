// An option given twice is rejected at the second, pointing at the first.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss = mse; loss = mse
}

fn main() {}
