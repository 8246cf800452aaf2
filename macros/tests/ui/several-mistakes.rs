// Every independent mistake in one invocation is reported together.

backprop::network! {
    pub Net = 0 -> sigmiod(3) -> relu(0) -> linear(x); float = f16; optimizer = adam
}

fn main() {}
