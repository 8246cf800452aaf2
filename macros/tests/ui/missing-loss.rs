// A network without `loss = …` is rejected after its last layer.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1)
}

fn main() {}
