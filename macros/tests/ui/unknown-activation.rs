// An activation with no near name lists every activation.

backprop::network! {
    pub Net = 2 -> sine(3) -> linear(1); loss = mse
}

fn main() {}
