// A missing loss is reported in expression position too.

fn main() {
    let _net = backprop::network!(2 -> sigmoid(3) -> linear(1));
}
