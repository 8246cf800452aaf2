// An input that ends right after `->` is rejected at that arrow, not at the whole macro call.
backprop::network! {
    pub Net = 2 -> sigmoid(3) ->
}

fn main() {}
