// A loss parameter given twice.

backprop::network! {
    pub Net = 2 -> relu(3) -> linear(1); loss = huber(delta = 1.0, delta = 2.0)
}

fn main() {}
