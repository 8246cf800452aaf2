// An activation without parentheses asks for the width.

backprop::network! {
    pub Net = 2 -> sigmoid -> linear(1); loss = mse
}

fn main() {}
