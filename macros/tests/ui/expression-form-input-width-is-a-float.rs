// A fractional input width in the expression form is rejected at the literal.

fn main() {
    let _net = backprop::network!(2.0 -> sigmoid(3) -> linear(1); loss = mse);
}
