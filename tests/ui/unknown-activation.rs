// An unknown activation with no near name lists the known ones.

backprop::network! {
    pub Net = 2 -> softmax(3) -> linear(1); loss = mse
}

fn main() {}
