#!/usr/bin/env bash
# Compile time and generated code size of each reference workload's network
# (DESIGN.md): for each, a one-file crate that defines the network and takes
# one training step is built in release mode (dependencies built first, so
# the time is the network's own crate), and its macro expansion is printed
# with `-Zunpretty=expanded` (RUSTC_BOOTSTRAP lets a stable compiler do it)
# to count the lines.
#
# Usage: tools/compile_report.sh [scratch directory]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$(mktemp -d)}
export CARGO_TARGET_DIR="$scratch/target"

workloads=(
    "W1 seed|2 -> sigmoid(3) -> linear(1); loss = mse|2|1|4"
    "W2 control|8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse|8|2|32"
    "W3 digits|64 -> relu(128) -> softmax(10); loss = cross_entropy|64|10|64"
    "W4 mnist|784 -> relu(128) -> softmax(10); loss = cross_entropy|784|10|128"
)

printf '| workload | release build of the crate (s) | expanded lines |\n| --- | --- | --- |\n'
for workload in "${workloads[@]}"; do
    IFS='|' read -r name spec inputs outputs batch <<<"$workload"
    crate="$scratch/${name// /_}"
    mkdir -p "$crate/src"
    cat >"$crate/Cargo.toml" <<TOML
[package]
name = "compile-report"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
backprop = { path = "$repo" }

[workspace]
TOML
    cat >"$crate/src/main.rs" <<RUST
backprop::network! {
    /// The workload's network.
    pub Net = $spec
}

fn main() {
    let x = vec![[0.5_f32; $inputs]; $batch];
    let y = vec![[0.0_f32; $outputs]; $batch];
    let mut net = Net::seeded(1);
    let loss = net.train_step_slice(&x, &y, &mut backprop::Sgd::new(0.01));
    println!("{loss:?}");
}
RUST
    (cd "$crate" && cargo build --release --quiet 2>/dev/null) # dependencies
    touch "$crate/src/main.rs"
    start=$(date +%s.%N)
    (cd "$crate" && cargo build --release --quiet)
    end=$(date +%s.%N)
    lines=$(cd "$crate" && RUSTC_BOOTSTRAP=1 cargo rustc --release --quiet -- -Zunpretty=expanded 2>/dev/null | wc -l)
    printf '| %s | %.2f | %s |\n' "$name" "$(echo "$end - $start" | bc)" "$lines"
done
