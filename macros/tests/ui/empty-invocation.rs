// An empty invocation shows what a network looks like.

backprop::network! {}

fn main() {}
