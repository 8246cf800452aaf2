// A network with only an input width is rejected.

backprop::network! {
    pub Net = 2; loss = mse
}

fn main() {}
