// An item-form invocation without a name asks for one.

backprop::network! {
    pub = 2 -> sigmoid(3) -> linear(1); loss = mse
}

fn main() {}
