// Empty parentheses after an activation ask for the width.

backprop::network! {
    pub Net = 2 -> sigmoid() -> linear(1); loss = mse
}

fn main() {}
