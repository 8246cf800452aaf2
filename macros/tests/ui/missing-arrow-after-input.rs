// A first layer without `->` after the input width is rejected at the layer.

backprop::network! {
    pub Net = 2 sigmoid(3) -> linear(1); loss = mse
}

fn main() {}
