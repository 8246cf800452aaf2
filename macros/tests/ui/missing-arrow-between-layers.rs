// Two layers without `->` between them are rejected at the second.

backprop::network! {
    pub Net = 2 -> sigmoid(3) linear(1); loss = mse
}

fn main() {}
