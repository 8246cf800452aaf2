// A network with a mistake is one error, at the mistake, even where the
// rest of the program uses it as if it were valid.

use backprop::{Network, Sgd};

backprop::network! {
    pub Xor = 2 -> sigmiod(3) -> linear(1); loss = mse
}

fn main() {
    let mut net = Xor::seeded(1);
    let x = [[0.0, 1.0], [1.0, 0.0]];
    let y = [[1.0], [1.0]];
    let loss: f32 = net.train_step(&x, &y, &mut Sgd::new(0.1));
    let out: [[f32; 1]; 2] = net.forward(&x);
    let (grad, grad_x) = net.backward(&x, &y);
    println!("{loss} {out:?} {:?} {grad_x:?} {}", grad.params(), Xor::PARAMS);
}
