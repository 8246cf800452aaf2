//! Weight files from untrusted sources: a seeded battery of mutated
//! safetensors files against `io::load_bytes` and `io::load_bytes_training`.
//!
//! The seeds are valid files: those `io::to_bytes` writes for networks of
//! several shapes in `f32` and `f64`, one `io::to_bytes_training` writes
//! with Adam's state, and the files PyTorch wrote in
//! `tests/fixtures/safetensors/`. Each mutant is loaded into its seed's
//! network (and optimizer), and every load must
//!
//! - return, not panic;
//! - allocate no more than the file warrants: in all, at most
//!   [`ALLOWED_PER_FILE_BYTE`] bytes per byte of the file plus the network's
//!   parameters and a small constant, so that a header claiming a 2⁴⁰-element
//!   tensor or a length prefix of 2⁶⁴ − 1 is an error, not a giant
//!   allocation;
//! - on an error, leave the network's parameters (and the optimizer's
//!   state) as they were, bit for bit.
//!
//! The battery runs `BACKPROP_MUTATIONS` mutants (30 000 unless set; CI
//! runs a million in release) and prints a one-line summary: run it with
//! `-- --nocapture` to see it.
//!
//! This file holds one test only: the allocation counter is global, and
//! tests running on parallel threads would count each other's allocations.

use std::alloc::System;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use backprop::runtime::Resume;
use backprop::runtime::io::{self, WeightsError};
use backprop::{Adam, Network};
use serde_json::{Map, Value};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// How many bytes one load may allocate per byte of the file, beyond the
/// network's parameters and [`ALLOWED_CONSTANT`]: parsing the JSON header
/// into names, shapes and maps costs a few times its length.
const ALLOWED_PER_FILE_BYTE: usize = 16;

/// Bytes any load may allocate whatever the file: the error's list of
/// tensor names, the architecture's spelling, small maps.
const ALLOWED_CONSTANT: usize = 16 * 1024;

/// Mutants in a plain `cargo test`, a few seconds in debug.
const DEFAULT_MUTATIONS: usize = 30_000;

backprop::network! {
    /// The architecture of the `tanh_linear_*` fixtures, in `f32`.
    TanhLinear = 4 -> tanh(5) -> linear(3); loss = mse
}
backprop::network! {
    /// The architecture of the `tanh_linear_*` fixtures, in `f64`.
    TanhLinear64 = 4 -> tanh(5) -> linear(3); loss = mse; float = f64
}
backprop::network! {
    /// The architecture of the `relu_sigmoid_linear_f32` fixture.
    ReluSigmoidLinear = 3 -> relu(6) -> sigmoid(4) -> linear(2); loss = mse
}
backprop::network! {
    /// The smallest network: one weight, one bias.
    Scalar = 1 -> linear(1); loss = mse; float = f64
}
backprop::network! {
    /// A deeper, wider network in `f64`.
    Deep64 = 16 -> relu(32) -> tanh(8) -> gelu(8) -> softmax(4); loss = cross_entropy; float = f64
}
backprop::network! {
    /// A network without a loss.
    Actor = 6 -> relu(12) -> tanh(2); loss = none
}

/// A network that mutants are loaded into, with the parameters it must keep
/// whenever a load fails.
trait Target {
    /// Loads `bytes`, checks that a failed load changed nothing, and puts
    /// the original parameters back after a successful one.
    fn load(&mut self, bytes: &[u8]) -> Result<(), WeightsError>;
    /// The size of the network's parameters in bytes.
    fn param_bytes(&self) -> usize;
}

struct Held<N: Network> {
    network: N,
    original: Vec<N::Float>,
}

impl<N: Network> Held<N> {
    fn new(network: N) -> Self {
        let original = network.params().to_vec();
        Self { network, original }
    }
}

fn bits<T: backprop::Float>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.to_f64().to_bits()).collect()
}

impl<N: Network> Target for Held<N> {
    fn load(&mut self, bytes: &[u8]) -> Result<(), WeightsError> {
        let result = io::load_bytes(&mut self.network, bytes);
        if result.is_err() {
            assert!(
                bits(self.network.params()) == bits(&self.original),
                "a failed load changed the network ({:?})",
                result.as_ref().err()
            );
        } else {
            self.network.params_mut().copy_from_slice(&self.original);
        }
        result
    }

    fn param_bytes(&self) -> usize {
        N::PARAMS * size_of::<N::Float>()
    }
}

/// A network and an Adam that has taken a step, which training files are
/// loaded into.
struct Resuming<N: Network> {
    held: Held<N>,
    adam: Adam<Vec<N::Float>>,
    state: (u64, Vec<Vec<N::Float>>),
}

impl<N: Network> Resuming<N> {
    fn new(mut network: N, x: &[N::Input; 1], y: &[N::Target; 1]) -> Self {
        let mut adam = Adam::new(0.01);
        network.train_step(x, y, &mut adam);
        let state = adam_state(&adam);
        Self {
            held: Held::new(network),
            adam,
            state,
        }
    }
}

/// The steps and buffers of `adam`, copied.
fn adam_state<T: backprop::Float>(adam: &Adam<Vec<T>>) -> (u64, Vec<Vec<T>>) {
    let mut buffers = Vec::new();
    adam.buffers(&mut |_, values| buffers.push(values.to_vec()));
    (adam.steps(), buffers)
}

impl<N: Network> Target for Resuming<N> {
    fn load(&mut self, bytes: &[u8]) -> Result<(), WeightsError> {
        let result = io::load_bytes_training(&mut self.held.network, &mut self.adam, bytes);
        if result.is_err() {
            let (steps, buffers) = adam_state(&self.adam);
            assert!(
                bits(self.held.network.params()) == bits(&self.held.original)
                    && steps == self.state.0
                    && buffers.len() == self.state.1.len()
                    && buffers
                        .iter()
                        .zip(&self.state.1)
                        .all(|(now, before)| bits(now) == bits(before)),
                "a failed load changed the network or the optimizer ({:?})",
                result.as_ref().err()
            );
        } else {
            let original = &self.held.original;
            self.held.network.params_mut().copy_from_slice(original);
            let views: Vec<&[N::Float]> = self.state.1.iter().map(Vec::as_slice).collect();
            self.adam
                .restore(self.state.0, &views)
                .expect("the state fits");
        }
        result
    }

    fn param_bytes(&self) -> usize {
        3 * N::PARAMS * size_of::<N::Float>()
    }
}

/// A valid file and the network it is for.
struct Seed {
    name: String,
    bytes: Vec<u8>,
    target: usize,
}

/// `SplitMix64`: small, seeded, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`, `n > 0`.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }

    /// Uniform in `0..=n`.
    fn upto(&mut self, n: usize) -> usize {
        self.below(n + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// The kinds of mutation, in the order the summary lists them.
const KINDS: [&str; 9] = [
    "bit flip",
    "byte replacement",
    "insertion",
    "deletion",
    "truncation",
    "splice",
    "header edit",
    "length prefix",
    "stacked",
];

/// A seed split into its length prefix's header and its data.
fn split(bytes: &[u8]) -> (&str, &[u8]) {
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let end = 8 + usize::try_from(len).expect("a seed's header fits");
    (
        std::str::from_utf8(&bytes[8..end]).expect("a seed's header is UTF-8"),
        &bytes[end..],
    )
}

/// A file of `header` (given its true length) and `data`.
fn assemble(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Marks a string that [`render`] writes as a bare number, since
/// `serde_json::Value` cannot hold numbers beyond 64 bits.
const BIG: &str = "\u{1}big\u{1}";

/// Numbers a header should not have: beyond 64 bits, negative, fractional.
const HUGE_NUMBERS: [&str; 8] = [
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1e400",
    "-1",
    "-9223372036854775809",
    "1.5",
    "0.0",
    "1e3",
];

/// A number for a shape or an offset, from the small to the absurd.
fn number(rng: &mut Rng, near: u64) -> Value {
    match rng.below(12) {
        0 => Value::from(0),
        1 => Value::from(near + 1),
        2 => Value::from(near.saturating_sub(1)),
        3 => Value::from(1_u64 << 40),
        4 => Value::from(1_u64 << 62),
        5 => Value::from(u64::MAX),
        6 => Value::from(1_u64 << 63),
        7 => Value::from(-1),
        8 => Value::from(rng.next()),
        9 => Value::from(rng.below(64)),
        10 => Value::String(format!("{BIG}{}{BIG}", rng.pick(&HUGE_NUMBERS))),
        _ => Value::from(near * 2),
    }
}

/// The header's JSON text, with marked strings written as bare numbers.
fn render(header: &Value) -> String {
    let text = serde_json::to_string(header).expect("a JSON value");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    let marker = serde_json::to_string(BIG).expect("a string");
    let marker = &marker[1..marker.len() - 1];
    let quoted_marker = format!("\"{marker}");
    let closing = format!("{marker}\"");
    while let Some(start) = rest.find(&quoted_marker) {
        out.push_str(&rest[..start]);
        let after = &rest[start + quoted_marker.len()..];
        let end = after.find(&closing).expect("a closed marker");
        out.push_str(&after[..end]);
        rest = &after[end + closing.len()..];
    }
    out.push_str(rest);
    out
}

/// A header edit that keeps the header valid JSON.
#[allow(clippy::too_many_lines)]
fn edit_header(rng: &mut Rng, header: &str, data: &[u8]) -> Vec<u8> {
    let mut data = data.to_vec();
    let mut value: Value = serde_json::from_str(header).expect("a seed's header is JSON");
    let object = value.as_object_mut().expect("an object");
    let names: Vec<String> = object
        .keys()
        .filter(|name| *name != "__metadata__")
        .cloned()
        .collect();
    let name = rng.pick(&names).clone();
    let mut duplicate = None;
    match rng.below(14) {
        // A shape's dimension.
        0 | 1 => {
            let shape = object[&name]["shape"].as_array_mut().expect("a shape");
            let i = rng.below(shape.len());
            let near = shape[i].as_u64().expect("a dimension");
            shape[i] = number(rng, near);
        }
        // A dimension more or fewer.
        2 => {
            let shape = object[&name]["shape"].as_array_mut().expect("a shape");
            if rng.below(2) == 0 || shape.is_empty() {
                let i = rng.upto(shape.len());
                shape.insert(i, number(rng, 1));
            } else {
                shape.remove(rng.below(shape.len()));
            }
        }
        // Shapes whose product overflows, or is huge but small in each dimension.
        3 => {
            let dims = rng.upto(6);
            let dim = *rng.pick(&[1_u64 << 20, 1 << 32, 1 << 40, u64::MAX, 0]);
            object[&name]["shape"] = Value::from(vec![dim; dims]);
        }
        // The dtype.
        4 => {
            let dtypes = [
                "F32", "F64", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "F128", "", "f32",
            ];
            object[&name]["dtype"] = Value::from(*rng.pick(&dtypes));
        }
        // An offset.
        5 | 6 => {
            let offsets = object[&name]["data_offsets"]
                .as_array_mut()
                .expect("offsets");
            let i = rng.below(2);
            let near = offsets[i].as_u64().expect("an offset");
            offsets[i] = number(rng, near);
        }
        // Offsets swapped, or both at the end of the data.
        7 => {
            let offsets = object[&name]["data_offsets"]
                .as_array_mut()
                .expect("offsets");
            if rng.below(2) == 0 {
                offsets.swap(0, 1);
            } else {
                *offsets = vec![Value::from(data.len()), Value::from(data.len())];
            }
        }
        // A tensor renamed.
        8 => {
            let entry = object.remove(&name).expect("the tensor");
            let other = rng.pick(&names).clone();
            let new_names = [
                other,
                "1.weight".to_owned(),
                format!("{name} "),
                name.to_uppercase(),
                String::new(),
                "__metadata__".to_owned(),
                "0.weight\u{0}".to_owned(),
                "é.weight".to_owned(),
            ];
            object.insert(rng.pick(&new_names).clone(), entry);
        }
        // A tensor removed, or one added.
        9 => {
            if rng.below(2) == 0 {
                object.remove(&name);
            } else {
                // With data of its own after the others', so that the file
                // stays valid safetensors.
                let mut entry = object[&name].clone();
                let offsets: Vec<u64> = entry["data_offsets"]
                    .as_array()
                    .expect("offsets")
                    .iter()
                    .map(|offset| offset.as_u64().expect("an offset"))
                    .collect();
                let len = usize::try_from(offsets[1] - offsets[0]).expect("a length");
                entry["data_offsets"] = Value::from(vec![data.len(), data.len() + len]);
                data.extend((0..len).map(|_| rng.byte()));
                object.insert(format!("{}.weight", 2 * rng.below(4) + 1), entry);
            }
        }
        // A metadata value.
        10 | 11 => {
            let metadata = object
                .entry("__metadata__")
                .or_insert_with(|| Value::Object(Map::new()));
            let keys = [
                "architecture",
                "format",
                "float",
                "backprop_version",
                "extra",
            ];
            let key = *rng.pick(&keys);
            let values = [
                Value::from("1 -> linear(1); loss = mse; float = f64"),
                Value::from(""),
                Value::from("x".repeat(rng.upto(4096))),
                Value::from(1),
                Value::Null,
                Value::from(vec![1, 2]),
                Value::Object(Map::new()),
                Value::from("4 -> tanh(5) -> linear(3); loss = mse; float = f32"),
            ];
            match metadata {
                Value::Object(map) if rng.below(4) == 0 => {
                    map.remove(key);
                }
                Value::Object(map) => {
                    map.insert(key.to_owned(), rng.pick(&values).clone());
                }
                other => *other = Value::Object(Map::new()),
            }
        }
        // The metadata, or a tensor's entry, as something other than an object.
        12 => {
            let key = if rng.below(2) == 0 {
                "__metadata__".to_owned()
            } else {
                name.clone()
            };
            let replacements = [
                Value::Null,
                Value::from(1),
                Value::from("F32"),
                Value::from(vec![0; 3]),
            ];
            object.insert(key, rng.pick(&replacements).clone());
        }
        // A key given twice, written into the text below.
        _ => {
            let key = if rng.below(3) == 0 {
                "__metadata__".to_owned()
            } else {
                name.clone()
            };
            let mut entry = object.get(&key).cloned().unwrap_or(Value::Null);
            if rng.below(2) == 0
                && let Some(shape) = entry.get_mut("shape")
            {
                *shape = Value::from(vec![1_u64 << 40]);
            }
            duplicate = Some(format!(
                "{}:{}",
                serde_json::to_string(&key).expect("a key"),
                serde_json::to_string(&entry).expect("a value")
            ));
        }
    }
    let mut text = render(&value);
    if let Some(duplicate) = duplicate {
        let at = if rng.below(2) == 0 { 1 } else { text.len() - 1 };
        let joined = if at == 1 {
            format!("{duplicate},")
        } else {
            format!(",{duplicate}")
        };
        text.insert_str(at, &joined);
    }
    if rng.below(2) == 0 {
        while !text.len().is_multiple_of(8) {
            text.push(' ');
        }
    }
    assemble(&text, &data)
}

/// One byte-level mutation of `bytes`, in place.
fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>, kind: usize) {
    if bytes.is_empty() {
        bytes.push(rng.byte());
        return;
    }
    match kind {
        0 => {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = rng.below(bytes.len());
            let interesting = [
                0, 0xFF, b'"', b'{', b'}', b'[', b']', b',', b':', b'9', b'-', b' ', 0x80,
            ];
            bytes[i] = if rng.below(2) == 0 {
                rng.byte()
            } else {
                *rng.pick(&interesting)
            };
        }
        2 => {
            let i = rng.upto(bytes.len());
            let n = 1 + rng.below(16);
            let inserted: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            bytes.splice(i..i, inserted);
        }
        3 => {
            let i = rng.below(bytes.len());
            let n = (1 + rng.below(16)).min(bytes.len() - i);
            bytes.drain(i..i + n);
        }
        _ => {
            let keep = rng.below(bytes.len());
            bytes.truncate(keep);
        }
    }
}

/// A new length prefix: off by a little, by a lot, or absurd.
fn edit_length(rng: &mut Rng, bytes: &mut [u8]) {
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let total = bytes.len() as u64;
    let choices = [
        0,
        1,
        7,
        len.wrapping_sub(1),
        len + 1,
        len.wrapping_sub(1 + rng.next() % 16),
        len + 1 + rng.next() % 16,
        total,
        total - 8,
        total - 7,
        1 << 40,
        100_000_001,
        u64::MAX,
        u64::MAX - 7,
        rng.next(),
        rng.next() % total,
    ];
    let new = *rng.pick(&choices);
    bytes[..8].copy_from_slice(&new.to_le_bytes());
}

/// A mutant of seed `seed`: the kind of mutation and the bytes.
fn mutant(rng: &mut Rng, seeds: &[Seed], seed: usize) -> (usize, Vec<u8>) {
    let original = &seeds[seed].bytes;
    let kind = rng.below(KINDS.len());
    let bytes = match KINDS[kind] {
        "splice" => {
            let other = &rng.pick(seeds).bytes;
            if rng.below(2) == 0 {
                // A prefix of one file, the rest of another.
                let cut = rng.upto(original.len());
                let from = rng.upto(other.len());
                [&original[..cut], &other[from..]].concat()
            } else {
                // One file's header, another's data.
                let (header, _) = split(original);
                let (_, data) = split(other);
                assemble(header, data)
            }
        }
        "header edit" => {
            let (header, data) = split(original);
            edit_header(rng, header, data)
        }
        "length prefix" => {
            let mut bytes = original.clone();
            edit_length(rng, &mut bytes);
            bytes
        }
        "stacked" => {
            let mut bytes = if rng.below(2) == 0 {
                let (header, data) = split(original);
                edit_header(rng, header, data)
            } else {
                original.clone()
            };
            for _ in 0..2 + rng.below(4) {
                let kind = rng.below(5);
                mutate_bytes(rng, &mut bytes, kind);
            }
            bytes
        }
        _ => {
            let mut bytes = original.clone();
            mutate_bytes(rng, &mut bytes, kind);
            bytes
        }
    };
    (kind, bytes)
}

/// The variant of an error, and for a corrupt file which check refused it.
fn error_kind(error: &WeightsError) -> String {
    match error {
        WeightsError::Corrupt { reason, .. } => {
            let causes = [
                ("empty", "it is empty"),
                ("too short", "too short"),
                ("header length past the end", "runs past the end"),
                ("header above 100 MB", "100 MB"),
                ("data size", "not the size"),
                ("header not UTF-8", "not UTF-8"),
                ("header not safetensors JSON", "not the JSON"),
                ("offsets overlap or leave gaps", "overlap or leave gaps"),
                ("offsets do not span the shape", "do not span"),
                ("shape overflows", "overflows"),
            ];
            let cause = causes
                .iter()
                .find(|(_, text)| reason.contains(text))
                .map_or_else(
                    || format!("other: {reason}"),
                    |(cause, _)| (*cause).to_owned(),
                );
            format!("Corrupt ({cause})")
        }
        WeightsError::MissingTensor { .. } => "MissingTensor".to_owned(),
        WeightsError::UnexpectedTensor { .. } => "UnexpectedTensor".to_owned(),
        WeightsError::WrongShape { .. } => "WrongShape".to_owned(),
        WeightsError::WrongDtype { .. } => "WrongDtype".to_owned(),
        WeightsError::OtherArchitecture { .. } => "OtherArchitecture".to_owned(),
        WeightsError::MissingOptimizerState => "MissingOptimizerState".to_owned(),
        WeightsError::OtherOptimizer { .. } => "OtherOptimizer".to_owned(),
        WeightsError::OptimizerState(_) => "OptimizerState".to_owned(),
        other => format!("other: {other}"),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/safetensors")
        .join(format!("{name}.safetensors"));
    std::fs::read(path).expect("the fixture")
}

#[test]
#[allow(clippy::too_many_lines)]
fn mutated_weight_files_are_refused_without_panics_giant_allocations_or_changes() {
    let mutations = std::env::var("BACKPROP_MUTATIONS").map_or(DEFAULT_MUTATIONS, |count| {
        count.parse().expect("BACKPROP_MUTATIONS: a count")
    });

    let mut targets: Vec<Box<dyn Target>> = vec![
        Box::new(Held::new(TanhLinear::seeded(101))),
        Box::new(Held::new(TanhLinear64::seeded(102))),
        Box::new(Held::new(ReluSigmoidLinear::seeded(103))),
        Box::new(Held::new(Scalar::seeded(104))),
        Box::new(Held::new(Deep64::seeded(105))),
        Box::new(Held::new(Actor::seeded(106))),
        Box::new(Resuming::new(
            TanhLinear::seeded(107),
            &[[0.5, -0.5, 1.0, 0.0]],
            &[[1.0, 0.0, -1.0]],
        )),
    ];
    let training_file = {
        let (mut network, mut adam) = (TanhLinear::seeded(7), Adam::new(0.01));
        for _ in 0..2 {
            network.train_step(&[[0.1, 0.2, 0.3, 0.4]], &[[0.0, 1.0, 0.0]], &mut adam);
        }
        io::to_bytes_training(&network, &adam).expect("the state fits")
    };
    let seed = |name: &str, bytes: Vec<u8>, target: usize| Seed {
        name: name.to_owned(),
        bytes,
        target,
    };
    let seeds = [
        seed("TanhLinear", io::to_bytes(&TanhLinear::seeded(1)), 0),
        seed("TanhLinear64", io::to_bytes(&TanhLinear64::seeded(2)), 1),
        seed(
            "ReluSigmoidLinear",
            io::to_bytes(&ReluSigmoidLinear::seeded(3)),
            2,
        ),
        seed("Scalar", io::to_bytes(&Scalar::seeded(4)), 3),
        seed("Deep64", io::to_bytes(&Deep64::seeded(5)), 4),
        seed("Actor", io::to_bytes(&Actor::seeded(6)), 5),
        seed("TanhLinear with Adam's state", training_file, 6),
        seed("tanh_linear_f32 (PyTorch)", fixture("tanh_linear_f32"), 0),
        seed("tanh_linear_f64 (PyTorch)", fixture("tanh_linear_f64"), 1),
        seed(
            "relu_sigmoid_linear_f32 (PyTorch)",
            fixture("relu_sigmoid_linear_f32"),
            2,
        ),
    ];
    // Every seed is valid as it stands.
    for seed in &seeds {
        targets[seed.target]
            .load(&seed.bytes)
            .unwrap_or_else(|error| panic!("seed {}: {error}", seed.name));
    }

    // The counter sees a load's allocations: a valid load of `Deep64`
    // builds its parameters before it writes them.
    let region = Region::new(GLOBAL);
    targets[4].load(&seeds[4].bytes).expect("the seed");
    let allocated = region.change().bytes_allocated;
    assert!(allocated >= targets[4].param_bytes(), "{allocated} bytes");

    // Headers that claim absurd sizes, whatever the mutants below find.
    let (_, data) = split(&seeds[0].bytes);
    let absurd = [
        (
            r#"{"0.weight":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}}"#,
            data,
        ),
        (
            r#"{"0.weight":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#,
            data,
        ),
        (
            r#"{"0.weight":{"dtype":"F32","shape":[5,4],"data_offsets":[0,18446744073709551615]}}"#,
            data,
        ),
        (
            r#"{"0.weight":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,80]}}"#,
            data,
        ),
    ];
    for (header, data) in absurd {
        let bytes = assemble(header, data);
        let region = Region::new(GLOBAL);
        let error = targets[0].load(&bytes).expect_err(header);
        let allocated = region.change().bytes_allocated;
        assert!(
            matches!(error, WeightsError::Corrupt { .. }),
            "{header}: {error}"
        );
        assert!(
            allocated <= ALLOWED_CONSTANT + 16 * bytes.len(),
            "{header}: {allocated} bytes"
        );
    }
    for length in [u64::MAX, 1 << 40, 100_000_001] {
        let mut bytes = seeds[0].bytes.clone();
        bytes[..8].copy_from_slice(&length.to_le_bytes());
        let region = Region::new(GLOBAL);
        let error = targets[0]
            .load(&bytes)
            .expect_err("an absurd header length");
        let allocated = region.change().bytes_allocated;
        assert!(
            matches!(error, WeightsError::Corrupt { .. }),
            "{length}: {error}"
        );
        assert!(allocated <= ALLOWED_CONSTANT, "{length}: {allocated} bytes");
    }

    let mut rng = Rng(0x05EE_D0FF_11E5);
    let mut per_kind = [0_usize; KINDS.len()];
    let mut accepted = 0;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut largest = (0_usize, 0_usize); // (bytes allocated, file length)
    let start = Instant::now();
    for index in 0..mutations {
        let which = rng.below(seeds.len());
        let (kind, bytes) = mutant(&mut rng, &seeds, which);
        per_kind[kind] += 1;
        let target = &mut targets[seeds[which].target];
        let allowed =
            ALLOWED_PER_FILE_BYTE * bytes.len() + 2 * target.param_bytes() + ALLOWED_CONSTANT;

        let region = Region::new(GLOBAL);
        let result = panic::catch_unwind(AssertUnwindSafe(|| target.load(&bytes)));
        let allocated = region.change().bytes_allocated;
        let describe = || {
            format!(
                "mutant {index} ({} of {}, {} bytes): {:?}",
                KINDS[kind],
                seeds[which].name,
                bytes.len(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
            )
        };
        let Ok(result) = result else {
            panic!("load panicked on {}", describe());
        };
        assert!(
            allocated <= allowed,
            "load allocated {allocated} bytes (allowed {allowed}) on {}",
            describe()
        );
        if allocated > largest.0 {
            largest = (allocated, bytes.len());
        }
        match result {
            Ok(()) => accepted += 1,
            Err(error) => *errors.entry(error_kind(&error)).or_default() += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();

    let kinds: Vec<String> = KINDS
        .iter()
        .zip(per_kind)
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    let errors_text: Vec<String> = errors
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    println!(
        "untrusted weights: {mutations} mutants of {} seeds in {seconds:.2} s ({}); \
         {accepted} accepted; errors: {}; most allocated by one load: {} bytes, for a file of {} \
         (the limit: {ALLOWED_PER_FILE_BYTE} × file + 2 × parameters + {ALLOWED_CONSTANT})",
        seeds.len(),
        kinds.join(", "),
        errors_text.join(", "),
        largest.0,
        largest.1,
    );

    // The battery exercised every kind of mutation and every stage of the
    // checks, and most mutants were refused.
    assert!(per_kind.iter().all(|&n| n > 0) || mutations < 1000);
    if mutations >= 10_000 {
        for kind in [
            "Corrupt (header not safetensors JSON)",
            "WrongShape",
            "WrongDtype",
            "MissingTensor",
            "UnexpectedTensor",
            "OtherArchitecture",
        ] {
            assert!(
                errors.contains_key(kind),
                "no mutant gave {kind}: {errors:?}"
            );
        }
        assert!(
            accepted < mutations / 2,
            "{accepted} of {mutations} accepted"
        );
    }
}
