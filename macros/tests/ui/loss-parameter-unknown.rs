// A loss parameter the loss does not take.

backprop::network! {
    pub Net = 2 -> relu(3) -> linear(1); loss = huber(width = 2.0)
}

fn main() {}
