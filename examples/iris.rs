//! A softmax classifier for Fisher's iris flowers, `4 → tanh(8) → softmax(3)`
//! with cross-entropy, trained in shuffled mini-batches and tested on
//! flowers it never saw.
//!
//! Run with `cargo run --release --example iris`. Reads `data/iris.csv`
//! (see `data/README.md` for its source and licence).

use std::error::Error;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use backprop::data::{DataSet, Trainer, shuffle};
use backprop::{Adam, Network, one_hot};

backprop::network! {
    /// Four measurements in, one probability per species out.
    pub Iris = 4 -> tanh(8) -> softmax(3); loss = cross_entropy
}

const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];
/// The seed of the split, the initial weights and the shuffles.
const SEED: u64 = 2024;
/// Flowers of each species held out for the test.
const TEST_PER_SPECIES: usize = 10;
const EPOCHS: u64 = 100;
const BATCH: usize = 16;
/// The test accuracy below which the run fails, so that a check can run it.
const REQUIRED_ACCURACY: f64 = 0.95;

fn main() -> Result<(), Box<dyn Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv");
    let mut flowers = read_iris(&path)?;
    println!("{} flowers from data/iris.csv", flowers.len());

    // A stratified split from a fixed seed: after a seeded shuffle, the first
    // ten flowers of each species are the test set, the other forty training.
    shuffle(&mut flowers, SEED, 0);
    let mut taken = [0; 3];
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (features, species) in flowers {
        let set = if taken[species] < TEST_PER_SPECIES {
            &mut test
        } else {
            &mut train
        };
        taken[species] += 1;
        set.push((features, species));
    }

    // Standardise each measurement with the training set's mean and spread.
    let scaler = Scaler::fit(train.iter().map(|(features, _)| features));
    let rows = |set: &[Flower]| -> (Vec<[f32; 4]>, Vec<[f32; 3]>) {
        set.iter()
            .map(|(features, species)| (scaler.apply(features), one_hot(*species)))
            .unzip()
    };
    let (x_train, y_train) = rows(&train);
    let (x_test, y_test) = rows(&test);
    println!(
        "{} for training, {} held out for the test\n",
        x_train.len(),
        x_test.len()
    );

    let mut net = Iris::seeded(SEED);
    let mut adam = Adam::new(0.01);
    let data = DataSet::new(&x_train, &y_train)?;
    let started = Instant::now();
    Trainer::<BATCH>::new(EPOCHS)
        .seed(SEED)
        .run_with(&mut net, &mut adam, &data, |end| {
            if (end.epoch + 1) % 20 == 0 {
                let test_loss = end
                    .network
                    .loss_slice(&x_test, &y_test)
                    .expect("a non-empty test set");
                println!(
                    "epoch {:>3}  training loss {:.4}  test loss {test_loss:.4}",
                    end.epoch + 1,
                    end.mean_loss
                );
            }
            ControlFlow::Continue(())
        });
    let elapsed = started.elapsed();

    let train_accuracy = accuracy(&net, &x_train, &y_train);
    let test_accuracy = accuracy(&net, &x_test, &y_test);
    println!(
        "\ntrained {EPOCHS} epochs of batches of {BATCH} in {:.1} ms",
        elapsed.as_secs_f64() * 1e3
    );
    println!("training accuracy {:.1}%", 100.0 * train_accuracy);
    println!(
        "test accuracy     {:.1}% ({} flowers)",
        100.0 * test_accuracy,
        x_test.len()
    );
    if test_accuracy < REQUIRED_ACCURACY {
        return Err(format!("the test accuracy is below {}%", 100.0 * REQUIRED_ACCURACY).into());
    }

    let probabilities = net.forward(&[x_test[0]]);
    let truth = arg_max(&y_test[0]);
    println!(
        "\nfirst test flower, a {}: {}",
        SPECIES[truth],
        SPECIES
            .iter()
            .zip(probabilities[0])
            .map(|(name, p)| format!("{name} {p:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The fraction of samples whose most probable class is the target's.
fn accuracy(net: &Iris, x: &[[f32; 4]], y: &[[f32; 3]]) -> f64 {
    let mut outputs = vec![[0.0; 3]; x.len()];
    net.forward_slice(x, &mut outputs)
        .expect("one output row per input row");
    let correct = outputs
        .iter()
        .zip(y)
        .filter(|(p, y)| arg_max(&p[..]) == arg_max(&y[..]))
        .count();
    correct as f64 / x.len() as f64
}

fn arg_max(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap_or_default()
}

/// Per-column mean and standard deviation, to standardise the inputs.
struct Scaler {
    mean: [f32; 4],
    std: [f32; 4],
}

impl Scaler {
    fn fit<'a>(rows: impl Iterator<Item = &'a [f32; 4]> + Clone) -> Self {
        let n = rows.clone().count() as f32;
        let mut mean = [0.0; 4];
        let mut std = [0.0; 4];
        for row in rows.clone() {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n;
            }
        }
        for row in rows {
            for ((s, v), m) in std.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        Self {
            mean,
            std: std.map(f32::sqrt),
        }
    }

    fn apply(&self, row: &[f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| (row[i] - self.mean[i]) / self.std[i])
    }
}

/// A flower's four measurements and its species, 0, 1 or 2.
type Flower = ([f32; 4], usize);

/// Reads the measurements and the species (as 0, 1 or 2) of every flower.
fn read_iris(path: &Path) -> Result<Vec<Flower>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut flowers = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let at = |message: String| format!("{}:{}: {message}", path.display(), number + 1);
        let fields: Vec<&str> = line.split(',').collect();
        let [a, b, c, d, species] = fields[..] else {
            return Err(at(format!("expected 5 fields, found {}", fields.len())).into());
        };
        let mut features = [0.0; 4];
        for (value, field) in features.iter_mut().zip([a, b, c, d]) {
            *value = field
                .parse()
                .map_err(|error| at(format!("`{field}`: {error}")))?;
        }
        let species = SPECIES
            .iter()
            .position(|&name| name == species)
            .ok_or_else(|| at(format!("unknown species `{species}`")))?;
        flowers.push((features, species));
    }
    Ok(flowers)
}
