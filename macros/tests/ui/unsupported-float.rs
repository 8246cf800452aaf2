// A float type other than `f32` or `f64` is rejected at the type.

backprop::network! {
    pub Net = 2 -> sigmoid(3) -> linear(1); loss = mse; float = f16
}

fn main() {}
