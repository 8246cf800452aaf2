// A seed that is not a non-negative integer is rejected at the seed.

fn main() {
    let _net = backprop::network!(2 -> sigmoid(3) -> linear(1); loss = mse; seed = -1);
}
