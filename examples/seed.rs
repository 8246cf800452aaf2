//! The seed's network, `2 → sigmoid(3) → linear(1)`, learns XOR.
//!
//! Run with `cargo run --release --example seed`.

use backprop::{Network, Sgd};

backprop::network! {
    /// Two inputs, three sigmoid units, one linear output: the network of
    /// the derivation this library grew from.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

fn main() {
    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = [[0.0], [1.0], [1.0], [0.0]];

    let mut net = Xor::seeded(1);
    let mut sgd = Sgd::new(0.5);
    println!(
        "{} parameters; training on the 4 XOR samples, batch 4, SGD lr 0.5",
        Xor::PARAMS
    );
    for epoch in 0..=4000 {
        let loss = net.train_step(&x, &y, &mut sgd);
        if epoch % 250 == 0 {
            println!("epoch {epoch:>5}  loss {loss:.6}");
        }
    }
    println!("\n input     output  target");
    for (input, (output, target)) in x.iter().zip(net.forward(&x).iter().zip(&y)) {
        println!(" {input:?}  {:>6.3}  {:>6.1}", output[0], target[0]);
    }
}
