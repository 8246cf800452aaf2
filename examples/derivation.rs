//! Shows the derivation of the seed's network: its equations as text and
//! LaTeX, and its diagram with the forward arrows and, dashed, the backward
//! gradient arrows, for a batch of two samples as the derivation draws it.
//!
//! Run with `cargo run --example derivation [OUTPUT_DIRECTORY]`. Writes
//! `seed.dot` (and `seed.svg` where Graphviz's `dot` is installed) to the
//! directory, `target/derivation` by default.

use std::path::PathBuf;
use std::process::Command;

use backprop::Network;
use backprop::Sgd;
use backprop::diagram::Diagram;

backprop::network! {
    /// Two inputs, three sigmoid units, one linear output.
    pub Xor = 2 -> sigmoid(3) -> linear(1); loss = mse
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/derivation"), PathBuf::from);
    std::fs::create_dir_all(&directory)?;

    println!("{}", Xor::EQUATIONS);
    println!("{}", Xor::EQUATIONS_LATEX);

    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = [[0.0], [1.0], [1.0], [0.0]];
    let mut net = Xor::seeded(1);
    let mut sgd = Sgd::new(0.5);
    for _ in 0..2000 {
        net.train_step(&x, &y, &mut sgd);
    }

    let dot_path = directory.join("seed.dot");
    std::fs::write(&dot_path, Diagram::new(&net).samples(&x[1..3]).to_string())?;
    println!("wrote {}", dot_path.display());

    let svg_path = directory.join("seed.svg");
    match Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot_path)
        .arg("-o")
        .arg(&svg_path)
        .status()
    {
        Ok(status) if status.success() => println!("wrote {}", svg_path.display()),
        Ok(status) => eprintln!("Graphviz's `dot` failed ({status}); no SVG written"),
        Err(_) => eprintln!("Graphviz's `dot` is not installed (Debian: graphviz); no SVG written"),
    }
    Ok(())
}
