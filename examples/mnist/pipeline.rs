//! The MNIST classifier without its command line: finding the four IDX files, loading them,
//! training, testing, saving, reloading and plotting. `main.rs` parses the arguments and calls
//! [`run`]; `tests/mnist_example.rs` includes this file (with `#[path]`) and runs the same
//! functions on small IDX files it writes itself.

use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bpnet::data::{self, DataError, Dataset, Normalizer, PixelScale, Targets};
use bpnet::kernels::loss::argmax;
use bpnet::optim::Adam;
use bpnet::plot::{self, CurveOptions};
use bpnet::prelude::*;
use bpnet::progress::Progress;
use bpnet::train::{Columns, History, Trainer};

/// Pixels per image: 28 × 28.
pub const PIXELS: usize = 28 * 28;
/// The ten digits.
pub const CLASSES: usize = 10;

network! {
    /// LeNet-5 (LeCun, Bottou, Bengio, Haffner, 1998), with every C3 map reading all six S2
    /// maps (no partial connection table), tanh units, and the dense model's cross-entropy:
    /// 1 map of 28 × 28 → C1, 6 maps of 28 × 28 (5 × 5 kernels, padded by 2, as the paper's
    /// 32 × 32 input) → S2, subsampled to 14 × 14 → C3, 16 maps of 10 × 10 (5 × 5 kernels) →
    /// S4, subsampled to 5 × 5 → C5, 120 units → F6, 84 units → 10 scores. Each subsampling has
    /// the paper's trainable coefficient and bias per map; the tanh modules after a `conv`,
    /// `subsample` or biased `linear` have no bias of their own (it is already there).
    pub struct Lenet5 {
        input  x: [1, 28, 28];
        target y: 10;
        c1: [6, 28, 28] = k1: conv(x, maps = 6, kernel = 5, padding = 2);
        h1     = t1: tanh(c1, bias = false);
        s2: [6, 14, 14] = p2: subsample(h1, size = 2);
        h2     = t2: tanh(s2, bias = false);
        c3: [16, 10, 10] = k3: conv(h2, maps = 16, kernel = 5);
        h3     = t3: tanh(c3, bias = false);
        s4: [16, 5, 5] = p4: subsample(h3, size = 2);
        h4     = t4: tanh(s4, bias = false);
        c5     = l5: linear(h4 -> 120, bias = true);
        h5     = t5: tanh(c5, bias = false);
        f6     = l6: linear(h5 -> 84, bias = true);
        h6     = t6: tanh(f6, bias = false);
        out    = l7: linear(h6 -> 10, bias = true);
        energy = cross_entropy(out, y);
    }
}

network! {
    /// 784 pixels → 256 tanh units → 10 scores, one per digit; the loss is the negative
    /// log-likelihood of the right digit under a softmax of the scores (cross-entropy).
    pub struct Dense {
        input  x: 784;
        target y: 10;
        sum1   = linear1: linear(x -> 256);
        hidden = tanh1: tanh(sum1);
        out    = linear2: linear(hidden -> 10);
        energy = cross_entropy(out, y);
    }
}

/// A network the pipeline trains: 784 pixels in, 10 scores out, with a cross-entropy energy.
/// `network!` generates these methods on each network by itself (inherent methods, whose
/// argument types depend on the network); this trait lets one generic pipeline call them.
pub trait Classifier: Network<Float = f32> + Sized {
    /// What the network is, for the messages.
    const DESCRIPTION: &'static str;
    /// A network with fresh initial weights drawn from `rng`, on the heap: a network holds its
    /// states in place, which for LeNet-5 makes 200 KB, and a few of them in the frames of a
    /// debug build overflow the 2 MiB stack of a thread (a test's, say).
    fn new(rng: &mut StdRng) -> Box<Self>;
    /// The scores of one image.
    fn run(&mut self, x: &[f32; PIXELS]) -> &[f32; CLASSES];
    /// The scores of a minibatch of images.
    fn run_batch(&mut self, xs: &[[f32; PIXELS]]) -> Result<&[[f32; CLASSES]], bpnet::Error>;
    /// The mean energy of a minibatch, keeping what `bprop_batch` needs.
    fn fprop_batch(
        &mut self,
        xs: &[[f32; PIXELS]],
        ys: &[[f32; CLASSES]],
    ) -> Result<f32, bpnet::Error>;
    /// Back-propagates the last minibatch into the gradients.
    fn bprop_batch(&mut self);
    /// Room for minibatches of up to `capacity` samples.
    fn reserve_batch(&mut self, capacity: usize) -> Result<(), bpnet::Error>;
}

/// Implements [`Classifier`] for a network by calling its own methods (which take precedence
/// over the trait's of the same name).
macro_rules! classifier {
    ($net:ty, $description:literal) => {
        impl Classifier for $net {
            const DESCRIPTION: &'static str = $description;
            fn new(rng: &mut StdRng) -> Box<Self> {
                Box::new(<$net>::new(rng))
            }
            fn run(&mut self, x: &[f32; PIXELS]) -> &[f32; CLASSES] {
                <$net>::run(self, x)
            }
            fn run_batch(
                &mut self,
                xs: &[[f32; PIXELS]],
            ) -> Result<&[[f32; CLASSES]], bpnet::Error> {
                <$net>::run_batch(self, xs)
            }
            fn fprop_batch(
                &mut self,
                xs: &[[f32; PIXELS]],
                ys: &[[f32; CLASSES]],
            ) -> Result<f32, bpnet::Error> {
                <$net>::fprop_batch(self, xs, ys)
            }
            fn bprop_batch(&mut self) {
                <$net>::bprop_batch(self)
            }
            fn reserve_batch(&mut self, capacity: usize) -> Result<(), bpnet::Error> {
                <$net>::reserve_batch(self, capacity)
            }
        }
    };
}

classifier!(
    Lenet5,
    "LeNet-5 (two convolutions, two subsamplings, 120-84-10)"
);
classifier!(Dense, "a 784-256-10 tanh network");

/// The network to train, as `--model` names it. The dense network is the default: LeNet-5 has
/// 30% of its parameters but twice its multiply-adds, in small products on one thread (the dense
/// net's large ones take two), and trains an epoch of MNIST's size in about 10 s against under
/// 2 s; the default keeps what the example did before it had LeNet-5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Model {
    /// [`Lenet5`], `--model lenet`.
    Lenet5,
    /// [`Dense`], `--model dense`.
    #[default]
    Dense,
}

impl std::str::FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lenet" => Ok(Model::Lenet5),
            "dense" => Ok(Model::Dense),
            _ => Err(format!("--model takes `lenet` or `dense`, not `{s}`")),
        }
    }
}

/// Normalised pixels and a one-hot target.
pub type Sample = ([f32; PIXELS], [f32; CLASSES]);

/// The four files of LeCun's distribution, without `.gz`: training images, training labels,
/// test images, test labels.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Where to get the files (this example downloads nothing).
pub const WHERE_TO_GET: &str = "\
MNIST is not shipped with bpnet, and this example downloads nothing. Get the four files
(gzip'd, about 12 MB in all; unpacked files work too)

    train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz    t10k-labels-idx1-ubyte.gz

from the original distribution, http://yann.lecun.com/exdb/mnist/ (often unavailable), or the
mirror torchvision downloads from, https://ossci-datasets.s3.amazonaws.com/mnist/ :

    mkdir -p mnist
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte \\
             t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        curl -fL -o mnist/$f.gz https://ossci-datasets.s3.amazonaws.com/mnist/$f.gz
    done
    md5sum mnist/*.gz   # as torchvision checks them:
        # f68b3c2dcbeaaa9fbdd348bbdeb94873  mnist/train-images-idx3-ubyte.gz
        # d53e105ee54ea40749a09fcbcd1e9432  mnist/train-labels-idx1-ubyte.gz
        # 9fb629c4189551a2d022fa330f9573f3  mnist/t10k-images-idx3-ubyte.gz
        # ec29112dd5afa0611ce80d1b7f02629c  mnist/t10k-labels-idx1-ubyte.gz

then pass that directory: cargo run --release --example mnist -- mnist";

/// The paths of the four files.
#[derive(Clone, Debug, PartialEq)]
pub struct MnistFiles {
    /// `train-images-idx3-ubyte[.gz]`: 60000 images of 28 × 28 bytes.
    pub train_images: PathBuf,
    /// `train-labels-idx1-ubyte[.gz]`: their digits.
    pub train_labels: PathBuf,
    /// `t10k-images-idx3-ubyte[.gz]`: 10000 test images.
    pub test_images: PathBuf,
    /// `t10k-labels-idx1-ubyte[.gz]`: their digits.
    pub test_labels: PathBuf,
}

/// Files that are not where the user said.
#[derive(Debug, PartialEq)]
pub enum MissingFiles {
    /// The directory given does not exist (or is a file).
    NoDirectory(PathBuf),
    /// The directory has not these files, by [`FILE_NAMES`], raw or gzip'd.
    InDirectory {
        /// The directory.
        dir: PathBuf,
        /// The names of the missing files, without `.gz`.
        names: Vec<&'static str>,
    },
    /// Paths given one by one that are not files.
    Paths(Vec<PathBuf>),
}

impl fmt::Display for MissingFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissingFiles::NoDirectory(dir) => write!(f, "{}: no such directory", dir.display())?,
            MissingFiles::InDirectory { dir, names } => {
                write!(
                    f,
                    "MNIST files missing from {} (looked there and in its MNIST/raw, for each \
                     NAME or NAME.gz):",
                    dir.display()
                )?;
                for name in names {
                    write!(f, "\n    {name}[.gz]")?;
                }
            }
            MissingFiles::Paths(paths) => {
                write!(f, "no such file:")?;
                for path in paths {
                    write!(f, "\n    {}", path.display())?;
                }
            }
        }
        write!(f, "\n\n{WHERE_TO_GET}")
    }
}

impl Error for MissingFiles {}

impl MnistFiles {
    /// The four files in `dir`, each as `NAME` or `NAME.gz` (the first found); also looked for
    /// in `dir/MNIST/raw`, where torchvision keeps them.
    pub fn find(dir: &Path) -> Result<Self, MissingFiles> {
        if !dir.is_dir() {
            return Err(MissingFiles::NoDirectory(dir.to_path_buf()));
        }
        let places = [dir.to_path_buf(), dir.join("MNIST").join("raw")];
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for name in FILE_NAMES {
            let hit = places
                .iter()
                .flat_map(|place| [place.join(name), place.join(format!("{name}.gz"))])
                .find(|path| path.is_file());
            match hit {
                Some(path) => found.push(path),
                None => missing.push(name),
            }
        }
        if !missing.is_empty() {
            return Err(MissingFiles::InDirectory {
                dir: dir.to_path_buf(),
                names: missing,
            });
        }
        let [train_images, train_labels, test_images, test_labels] =
            <[PathBuf; 4]>::try_from(found).expect("four files found");
        Ok(MnistFiles {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }

    /// The four files given one by one, in the order of [`FILE_NAMES`] (any names); each must
    /// be a file.
    pub fn from_paths(paths: [PathBuf; 4]) -> Result<Self, MissingFiles> {
        let missing: Vec<PathBuf> = paths.iter().filter(|p| !p.is_file()).cloned().collect();
        if !missing.is_empty() {
            return Err(MissingFiles::Paths(missing));
        }
        let [train_images, train_labels, test_images, test_labels] = paths;
        Ok(MnistFiles {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }
}

/// Reads one images file and its labels file: pixels as their bytes, `0.0..=255.0` (scaled
/// later, by a normaliser saved with the model). Besides [`data::load_mnist`]'s errors, refuses
/// images that are not 28 × 28, labels that are not digits, and an empty set.
pub fn load_set(images: &Path, labels: &Path) -> Result<Dataset<f32>, DataError> {
    let set = data::load_mnist::<f32>(images, labels, PixelScale::Raw)?;
    if set.width() != PIXELS || set.is_empty() {
        return Err(DataError::Unexpected {
            path: images.to_path_buf(),
            expected: format!("28×28 images ({PIXELS} pixels each)"),
            found: if set.is_empty() {
                "no image".to_string()
            } else {
                format!("{} images of {} pixels", set.len(), set.width())
            },
        });
    }
    if let Some(i) = set.labels.iter().position(|&l| l >= CLASSES) {
        return Err(DataError::BadLabel {
            path: labels.to_path_buf(),
            sample: i,
            value: set.labels[i].to_string(),
            expected: "the digits 0 to 9".to_string(),
        });
    }
    Ok(Dataset::new(set.inputs, set.labels, CLASSES))
}

/// The training set (its first `limit` images, if given) and the test set.
pub fn load(
    files: &MnistFiles,
    limit: Option<usize>,
) -> Result<(Dataset<f32>, Dataset<f32>), DataError> {
    let mut train = load_set(&files.train_images, &files.train_labels)?;
    let test = load_set(&files.test_images, &files.test_labels)?;
    if let Some(n) = limit.filter(|&n| n < train.len()) {
        train = train.select(&(0..n).collect::<Vec<_>>());
    }
    Ok((train, test))
}

/// The pixel scaling: the mean and standard deviation of all the pixels of `train`, the same for
/// every pixel (a normaliser fitted pixel by pixel, `Normalizer::fit`, blows up the nearly
/// constant pixels at the border). Saved with the model.
pub fn pixel_scaling(train: &Dataset<f32>) -> Result<Normalizer<f32>, DataError> {
    let n = train.inputs.len() as f64;
    let mean = train.inputs.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = train
        .inputs
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    // Images of one uniform colour have no spread: leave their scale alone.
    let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
    Normalizer::new(vec![mean as f32; PIXELS], vec![scale as f32; PIXELS])
}

/// Normalised inputs and their targets, one sample per image.
pub fn samples(set: &Dataset<f32>, norm: &Normalizer<f32>) -> Vec<Sample> {
    let targets = set.targets(Targets::OneHot);
    let ys = data::as_rows::<f32, _, CLASSES>(&targets).expect("10 contiguous columns");
    set.inputs
        .rows()
        .into_iter()
        .zip(ys)
        .map(|(row, &y)| {
            let mut x = [0.0; PIXELS];
            for (xi, &v) in x.iter_mut().zip(row) {
                *xi = v;
            }
            norm.apply_row(&mut x);
            (x, y)
        })
        .collect()
}

/// The predicted digit of each sample (the highest score), run in minibatches of up to
/// `batch` images (the network needs room for them: `reserve_batch`).
pub fn predictions<N: Classifier>(
    net: &mut N,
    set: &[Sample],
    batch: usize,
) -> Result<Vec<usize>, bpnet::Error> {
    let mut xs = Vec::with_capacity(batch);
    let mut out = Vec::with_capacity(set.len());
    for chunk in set.chunks(batch) {
        xs.clear();
        xs.extend(chunk.iter().map(|(x, _)| *x));
        out.extend(net.run_batch(&xs)?.iter().map(|scores| argmax(scores)));
    }
    Ok(out)
}

/// The fraction of `predicted` equal to `labels`.
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> f64 {
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len() as f64
}

/// How to train, and where to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Epochs at most (early stopping may end sooner).
    pub epochs: usize,
    /// Train on the first `limit` training images only (then split for validation).
    pub limit: Option<usize>,
    /// Samples per minibatch.
    pub batch: usize,
    /// Adam's learning rate.
    pub learning_rate: f32,
    /// Stop when the validation loss has not improved for this many epochs.
    pub patience: usize,
    /// The fraction of the training images held out for validation.
    pub validation: f64,
    /// Seeds the validation split, the initial weights and the shuffling.
    pub seed: u64,
    /// Where the model and the pictures go.
    pub out_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            epochs: 30,
            limit: None,
            batch: 64,
            learning_rate: 0.001,
            patience: 5,
            // 5000 of the 60000 training images, as is customary.
            validation: 1.0 / 12.0,
            seed: 1,
            out_dir: PathBuf::from("target/mnist"),
        }
    }
}

/// Trains `net` on `train` in minibatches with Adam, one line per epoch (with its time: the
/// training steps and the validation), a progress bar on a terminal; stops when the validation
/// loss has not improved for `patience` epochs, then goes back to the best parameters.
pub fn train<N: Classifier>(
    net: &mut N,
    train: &[Sample],
    val: &[Sample],
    settings: &Settings,
) -> Result<History, Box<dyn Error>> {
    net.reserve_batch(settings.batch)?;
    let mut opt = Adam::new(settings.learning_rate);
    let steps_per_epoch = train.len().div_ceil(settings.batch);
    let bar = Progress::new((settings.epochs * steps_per_epoch) as u64);
    let mut columns = Columns::new();
    let mut epoch_start = Instant::now();
    let history = Trainer::new(net, &mut opt, train)
        .epochs(settings.epochs)
        .seed(settings.seed.wrapping_add(2))
        .validation(val)
        .accuracy(|net, (x, y)| argmax(net.run(x)) == argmax(y))
        .train_accuracy(false) // a pass over the training set per epoch: not worth it here
        .early_stopping(settings.patience)
        .restore_best(true)
        .on_step(|step| {
            bar.set_loss(step.epoch, step.loss);
            bar.inc(1);
        })
        .on_epoch(|e, _| {
            let seconds = epoch_start.elapsed().as_secs_f64();
            bar.suspend(|| {
                println!(
                    "  epoch {:3}   train loss {:.4}   validation loss {:.4}   accuracy {:.2}%   \
                     {seconds:.1} s",
                    e.epoch,
                    e.train_loss,
                    e.val_loss.unwrap_or(f64::NAN),
                    100.0 * e.val_accuracy.unwrap_or(f64::NAN)
                )
            });
            epoch_start = Instant::now();
        })
        .fit_batches(
            settings.batch,
            |net, batch| {
                let (xs, ys) = columns.split(batch);
                net.fprop_batch(xs, ys)
            },
            |net| net.bprop_batch(),
        );
    bar.finish_and_clear();
    Ok(history?)
}

/// Saves `net`'s parameters to `path` with the pixel scaling beside them (`normalize.mean`,
/// `normalize.scale`) and `metadata`.
pub fn save<N: Classifier>(
    path: &Path,
    net: &N,
    norm: &Normalizer<f32>,
    metadata: &[(&str, &str)],
) -> Result<(), bpnet::io::SaveError> {
    let tensors = norm.tensors();
    let extras: Vec<(&str, &[f32])> = tensors
        .iter()
        .map(|(name, values)| (name.as_str(), values.as_slice()))
        .collect();
    bpnet::io::save(path, net, &extras, metadata)
}

/// A network and its pixel scaling, loaded from a file written by [`save`] for a network of the
/// same type (the file of the other model is an error, which names the network the file holds).
pub fn reload<N: Classifier>(path: &Path) -> Result<(Box<N>, Normalizer<f32>), Box<dyn Error>> {
    // The initial weights are overwritten: any seed will do.
    let mut net = N::new(&mut StdRng::seed_from_u64(0));
    let loaded = bpnet::io::load(path, &mut *net)?;
    let norm = Normalizer::from_tensors(&loaded.extras)?;
    Ok((net, norm))
}

/// What [`run`] did.
pub struct Outcome<N> {
    /// The number of training, validation and test images.
    pub sizes: (usize, usize, usize),
    /// The epochs of training.
    pub history: History,
    /// The fraction of test images classified right.
    pub test_accuracy: f64,
    /// The saved model.
    pub model: PathBuf,
    /// The loss curves.
    pub curves: PathBuf,
    /// The trained network (with the parameters of the best epoch).
    pub net: Box<N>,
    /// The pixel scaling, saved with it.
    pub scaling: Normalizer<f32>,
}

/// The whole example with the network `N`: load, split, scale, train, test, save, reload and
/// check, plot.
pub fn run<N: Classifier>(
    files: &MnistFiles,
    settings: &Settings,
) -> Result<Outcome<N>, Box<dyn Error>> {
    std::fs::create_dir_all(&settings.out_dir)?;

    // The data: the validation set (for early stopping) comes out of the training images,
    // stratified; the test set is t10k, untouched until the end.
    let (all, test) = load(files, settings.limit)?;
    let (train_set, val_set) = all.split(settings.validation, settings.seed);
    drop(all);
    if train_set.is_empty() || val_set.is_empty() {
        return Err(format!(
            "too few training images to hold {:.1}% out for validation: {} to train, {} to validate",
            100.0 * settings.validation,
            train_set.len(),
            val_set.len()
        )
        .into());
    }
    let sizes = (train_set.len(), val_set.len(), test.len());
    println!(
        "MNIST: {} images to train, {} to validate, {} to test; the model: {}, {} parameters",
        sizes.0,
        sizes.1,
        sizes.2,
        N::DESCRIPTION,
        N::PARAMS
    );
    let norm = pixel_scaling(&train_set)?;
    let train_s = samples(&train_set, &norm);
    drop(train_set);
    let (val_s, test_s) = (samples(&val_set, &norm), samples(&test, &norm));

    // Training.
    let mut net = N::new(&mut StdRng::seed_from_u64(settings.seed.wrapping_add(1)));
    let history = train(&mut *net, &train_s, &val_s, settings)?;
    let best = history.best().expect("at least one epoch");
    println!(
        "stopped after {} epochs ({:?}); best validation loss {:.4} at epoch {}",
        history.epochs.len(),
        history.stop,
        best.val_loss.unwrap_or(f64::NAN),
        best.epoch
    );

    // The test.
    let predicted = predictions(&mut *net, &test_s, settings.batch)?;
    let test_accuracy = accuracy(&predicted, &test.labels);
    println!(
        "test accuracy: {:.2}% ({} of {} unseen images)",
        100.0 * test_accuracy,
        (test_accuracy * test.len() as f64).round(),
        test.len()
    );

    // Save the parameters with the pixel scaling beside them, load them into a fresh network,
    // scale the raw test images with the loaded scaling, and check it predicts the same.
    let model = settings.out_dir.join("model.safetensors");
    let accuracy_text = format!("{test_accuracy:.4}");
    save(&model, &*net, &norm, &[("test_accuracy", &accuracy_text)])?;
    let (mut reloaded, norm2) = reload::<N>(&model)?;
    reloaded.reserve_batch(settings.batch)?;
    let again = predictions(&mut *reloaded, &samples(&test, &norm2), settings.batch)?;
    if again != predicted {
        return Err("the reloaded model predicts differently".into());
    }
    println!(
        "saved to {}; reloaded, it gives the same predictions",
        model.display()
    );

    // The loss curves.
    let (train_loss, val_loss) = (history.train_losses(), history.val_losses());
    let curves = settings.out_dir.join("loss.png");
    plot::loss_curves(
        &curves,
        &[("training", &train_loss), ("validation", &val_loss)],
        &CurveOptions::new()
            .title("MNIST: mean loss per epoch")
            .x_label("epoch")
            .y_label("cross-entropy")
            .log_scale(true),
    )?;
    println!("wrote {}", curves.display());
    Ok(Outcome {
        sizes,
        history,
        test_accuracy,
        model,
        curves,
        net,
        scaling: norm,
    })
}

/// How to call the example.
pub const USAGE: &str = "\
usage: cargo run --release --example mnist -- DIR [OPTIONS]
       cargo run --release --example mnist -- TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS [OPTIONS]

Trains a network on MNIST and tests it on the t10k images. DIR holds the four IDX files, each
as NAME or NAME.gz (or in DIR/MNIST/raw, where torchvision keeps them).

options:
  --model M    dense: a 784-256-10 tanh network (the default, 203520 parameters), or
               lenet: LeNet-5, convolutions and subsampling then 120-84-10 units (61750
               parameters; an epoch takes about 6 times as long as the dense network's)
  --epochs N   at most N epochs (default 30; stops sooner when the validation loss has not
               improved for 5)
  --limit N    train on the first N training images only: --epochs 3 --limit 10000 is a short run
  --seed N     seeds the validation split, the initial weights and the shuffling (default 1)
  --out DIR    where model.safetensors and loss.png go (default target/mnist)
  -h, --help   this help, and where to get MNIST";

/// Where the files are, as given on the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A directory holding the four files.
    Dir(PathBuf),
    /// The four files, in the order of [`FILE_NAMES`].
    Paths([PathBuf; 4]),
}

impl Source {
    /// The four files, checked to exist.
    pub fn resolve(&self) -> Result<MnistFiles, MissingFiles> {
        match self {
            Source::Dir(dir) => MnistFiles::find(dir),
            Source::Paths(paths) => MnistFiles::from_paths(paths.clone()),
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// No argument: say how to call the example and where to get MNIST.
    Usage,
    /// `-h` or `--help`: the same, asked for.
    Help,
    /// Train this model on these files with these settings.
    Train(Source, Model, Settings),
}

/// Parses the arguments (without the program's name). An error is a message for the user.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut settings = Settings::default();
    let mut model = Model::default();
    let mut paths = Vec::new();
    let mut args = args.into_iter();
    let mut any = false;
    while let Some(arg) = args.next() {
        any = true;
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let Some(option) = arg.strip_prefix("--") else {
            paths.push(PathBuf::from(arg));
            continue;
        };
        // `--name value` or `--name=value`.
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--{option} needs a value"))?;
                (option.to_string(), value)
            }
        };
        let number = |min: u64| {
            value
                .parse::<u64>()
                .ok()
                .filter(|&n| n >= min)
                .ok_or_else(|| {
                    format!("--{name} takes a whole number of at least {min}, not `{value}`")
                })
        };
        match name.as_str() {
            "epochs" => settings.epochs = number(1)? as usize,
            "limit" => settings.limit = Some(number(1)? as usize),
            "seed" => settings.seed = number(0)?,
            "out" => settings.out_dir = PathBuf::from(&value),
            "model" => model = value.parse()?,
            _ => return Err(format!("unknown option --{name}")),
        }
    }
    if !any {
        return Ok(Command::Usage);
    }
    let source = match <[PathBuf; 4]>::try_from(paths) {
        Ok(four) => Source::Paths(four),
        Err(mut paths) if paths.len() == 1 => Source::Dir(paths.remove(0)),
        Err(paths) => {
            return Err(format!(
                "expected a directory or the four files, got {} path{}",
                paths.len(),
                if paths.len() == 1 { "" } else { "s" }
            ));
        }
    };
    Ok(Command::Train(source, model, settings))
}
