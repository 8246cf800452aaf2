// A recurrent network with a mistake is one error, at the mistake, even
// where the program streams it and names its state type.

use backprop::Recurrent;

backprop::network! {
    pub Amp = 1 -> lstm(16) -> tahn(4) -> linear(1); loss = mse
}

fn main() {
    let net = Amp::seeded(1);
    let mut state = AmpState::default();
    let y: [f32; 1] = net.step(&mut state, &[0.5]);
    state.reset();
    println!("{y:?} {}", Amp::PARAMS);
}
