// Tokens after an option's value are rejected; options are separated by `;`.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss = mse extra
}

fn main() {}
