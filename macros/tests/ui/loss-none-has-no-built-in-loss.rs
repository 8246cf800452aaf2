use backprop::Network;

backprop::network! {
    pub Actor = 3 -> relu(8) -> tanh(1); loss = none
}

fn main() {
    let actor = Actor::seeded(0);
    let x = [[0.5, -1.0, 0.25]];
    let _ = actor.forward(&x);
    let _ = actor.loss(&x, &[[0.0]]);
}
