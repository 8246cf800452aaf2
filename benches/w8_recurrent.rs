//! W8, streaming recurrent layers: one sample of one input through an
//! LSTM (16, 32 units) or a GRU (8, 16, 32 units) and a dense head of one
//! output, in `f32`, the layer's state kept for the next sample and the
//! output fed back as the next input, as a real-time audio or control
//! loop runs them.

use std::hint::black_box;
use std::time::Duration;

use backprop::recurrent::{
    GruParams, GruState, LstmParams, LstmState, gru, gru_params, lstm, lstm_params,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

/// `len` seeded weights in `[-0.3, 0.3)`.
fn weights(len: usize) -> Vec<f32> {
    let mut seed = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32 - 0.5) * 0.6
        })
        .collect()
}

/// The dense head of one output, `y = w·h + b`, its weights after the layer's.
struct Head<const H: usize> {
    w: [f32; H],
    b: f32,
}

impl<const H: usize> Head<H> {
    fn after(flat: &[f32], layer: usize) -> Self {
        Self {
            w: flat[layer..][..H].try_into().expect("sized"),
            b: flat[layer + H],
        }
    }

    #[inline]
    fn output(&self, h: &[f32; H]) -> f32 {
        self.w.iter().zip(h).fold(self.b, |y, (w, h)| y + w * h)
    }
}

/// A bounded signal from the output, the next input.
#[inline]
fn feed_back(y: f32) -> f32 {
    black_box(0.9 * y.clamp(-1.0, 1.0))
}

fn lstm_stream<const H: usize>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let layer = lstm_params(1, H);
    let flat = weights(layer + H + 1);
    let params = LstmParams::<f32, 1, H>::from_flat(&flat[..layer]);
    let head = Head::<H>::after(&flat, layer);
    let mut state = LstmState::<f32, H>::default();
    let mut x = 0.25_f32;
    group.bench_function(format!("lstm {H}"), |b| {
        b.iter(|| {
            let y = head.output(&lstm::step(&params, &mut state, &[x]));
            x = feed_back(y);
            y
        });
    });
}

fn gru_stream<const H: usize>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let layer = gru_params(1, H);
    let flat = weights(layer + H + 1);
    let params = GruParams::<f32, 1, H>::from_flat(&flat[..layer]);
    let head = Head::<H>::after(&flat, layer);
    let mut state = GruState::<f32, H>::default();
    let mut x = 0.25_f32;
    group.bench_function(format!("gru {H}"), |b| {
        b.iter(|| {
            let y = head.output(&gru::step(&params, &mut state, &[x]));
            x = feed_back(y);
            y
        });
    });
}

fn streaming(c: &mut Criterion) {
    let mut group = c.benchmark_group("W8 streaming step, input 1, head 1");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    gru_stream::<8>(&mut group);
    gru_stream::<16>(&mut group);
    gru_stream::<32>(&mut group);
    lstm_stream::<16>(&mut group);
    lstm_stream::<32>(&mut group);
    group.finish();
}

criterion_group! {
    name = w8;
    config = Criterion::default();
    targets = streaming
}
criterion_main!(w8);
