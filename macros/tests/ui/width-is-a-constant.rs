// A width given by a constant is refused at its name, saying why a number is needed.

const HIDDEN: usize = 3;

backprop::network! { pub Xor = 2 -> sigmoid(HIDDEN) -> linear(1); loss = mse }

fn main() {}
