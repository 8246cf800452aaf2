// Errors are reported in expression position too.

fn main() {
    let _net = backprop::network!(2 -> sigmiod(3) -> linear(1); loss = mse);
}
