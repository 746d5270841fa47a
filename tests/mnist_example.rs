//! The `mnist` example (`examples/mnist/`) on small IDX files written here, gzip'd and raw: a
//! synthetic four-class task in MNIST's format that both its models (LeNet-5 and the dense
//! network) must learn (from three seeds each), the model it saves and reloads, the files it
//! finds or misses, the errors of malformed files, and its command line.

// The example's pipeline, compiled into this test; main.rs is not, so the parts only the
// command line uses would be dead code here.
#[allow(dead_code)]
#[path = "../examples/mnist/pipeline.rs"]
mod pipeline;

use std::fs;
use std::path::{Path, PathBuf};

use bpnet::data::{DataError, write_idx};
use bpnet::ndarray::{Array1, Array3};
use bpnet::prelude::*;
use pipeline::{
    CLASSES, Classifier, Command, Dense, FILE_NAMES, Lenet5, MissingFiles, MnistFiles, Model,
    Settings, Source, WHERE_TO_GET,
};

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bpnet-mnist-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The labels of the four synthetic classes: not 0..4, so that a label is not its row index.
const DIGITS: [u8; 4] = [1, 4, 7, 9];

/// `n` synthetic 28×28 images and their labels. The four classes are drawn on a grid of 7×7
/// blocks of 4×4 pixels: a base pattern shared by all (each block lit with probability 0.3)
/// with `FLIPS` blocks of it flipped for each class, so that classes differ in a few blocks
/// only. Each image is its class's pattern shifted by up to `SHIFT` pixels each way, at an
/// intensity from 0.5 to 1, plus noise of up to ±`NOISE` everywhere, in bytes 0..=255. The
/// patterns depend on `seed` alone, the images on `seed` and `stream` (one for the training
/// set, another for the test set).
fn synthetic(seed: u64, n: usize, stream: u64) -> (Array3<u8>, Array1<u8>) {
    const FLIPS: usize = 3;
    const SHIFT: i32 = 2;
    const NOISE: f32 = 0.7;
    let mut rng = StdRng::seed_from_u64(seed);
    let base: Vec<bool> = (0..49).map(|_| rng.random_bool(0.3)).collect();
    let patterns: Vec<Vec<bool>> = (0..DIGITS.len())
        .map(|_| {
            let mut blocks = base.clone();
            for _ in 0..FLIPS {
                let b = rng.random_range(0..49);
                blocks[b] = !blocks[b];
            }
            blocks
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(stream));
    let mut images = Array3::<u8>::zeros((n, 28, 28));
    let mut labels = Array1::<u8>::zeros(n);
    for i in 0..n {
        let class = rng.random_range(0..DIGITS.len());
        labels[i] = DIGITS[class];
        let (dr, dc) = (
            rng.random_range(-SHIFT..=SHIFT),
            rng.random_range(-SHIFT..=SHIFT),
        );
        let intensity = rng.random_range(0.5f32..1.0);
        for r in 0..28 {
            for c in 0..28 {
                let (sr, sc) = ((r as i32 - dr).clamp(0, 27), (c as i32 - dc).clamp(0, 27));
                let lit = patterns[class][(sr as usize / 4) * 7 + sc as usize / 4];
                let v = if lit { intensity } else { 0.0 } + rng.random_range(-NOISE..NOISE);
                images[[i, r, c]] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    (images, labels)
}

/// Writes a synthetic training set of `n_train` images and a test set of `n_test` into `dir`
/// under MNIST's names, the training files gzip'd if `train_gz`, the test files if `test_gz`.
fn write_synthetic(dir: &Path, seed: u64, sizes: (usize, usize), gz: (bool, bool)) {
    let name =
        |i: usize, gz: bool| dir.join(format!("{}{}", FILE_NAMES[i], if gz { ".gz" } else { "" }));
    let (images, labels) = synthetic(seed, sizes.0, 1);
    write_idx(name(0, gz.0), &images, gz.0).unwrap();
    write_idx(name(1, gz.0), &labels, gz.0).unwrap();
    let (images, labels) = synthetic(seed, sizes.1, 2);
    write_idx(name(2, gz.1), &images, gz.1).unwrap();
    write_idx(name(3, gz.1), &labels, gz.1).unwrap();
}

/// Settings for a few quick epochs, writing into `out`.
fn quick(seed: u64, out: PathBuf) -> Settings {
    Settings {
        epochs: 6,
        batch: 16,
        seed,
        out_dir: out,
        ..Settings::default()
    }
}

/// What a model learns from in `learns`: the numbers of training and test images, and the
/// settings.
struct Task {
    train: usize,
    test: usize,
    settings: fn(u64, PathBuf) -> Settings,
}

/// The dense model's: 240 training images, 200 test images, [`quick`].
const DENSE: Task = Task {
    train: 240,
    test: 200,
    settings: quick,
};

/// LeNet-5's, smaller: `cargo test` builds without optimisation, where its convolutions take
/// about 40 ms a training image and 12 ms a test image, so 96 training images, 80 to test, and 3
/// epochs of minibatches of 8 at Adam's rate 0.003: about 10 s a seed.
const LENET5: Task = Task {
    train: 96,
    test: 80,
    settings: |seed, out| Settings {
        epochs: 3,
        batch: 8,
        learning_rate: 0.003,
        ..quick(seed, out)
    },
};

/// The whole example on a synthetic set with the network `N`: it learns, and saves a model that
/// reloads to the same parameters, scaling and predictions, and not into the network `Other`.
fn learns<N: Classifier, Other: Classifier>(task: &Task, seed: u64, gz: (bool, bool)) {
    let name = std::any::type_name::<N>().rsplit("::").next().unwrap();
    let dir = TempDir::new(&format!("learns-{name}-{seed}"));
    write_synthetic(&dir.0, seed, (task.train, task.test), gz);
    let files = MnistFiles::find(&dir.0).unwrap();
    let settings = (task.settings)(seed, dir.0.join("out"));
    let outcome = pipeline::run::<N>(&files, &settings).unwrap();

    // The training images, 1/12 of them (stratified) for validation; the test images.
    assert_eq!(outcome.sizes.0 + outcome.sizes.1, task.train);
    let twelfth = task.train / 12;
    assert!(
        (twelfth - 2..=twelfth + 2).contains(&outcome.sizes.1),
        "{:?}",
        outcome.sizes
    );
    assert_eq!(outcome.sizes.2, task.test);
    assert!(!outcome.history.epochs.is_empty());
    assert!(
        outcome.test_accuracy >= 0.9,
        "{name}, seed {seed}: test accuracy {} on four classes",
        outcome.test_accuracy
    );

    // Learnt, not there from the start: an untrained network is near chance.
    let (_, test) = pipeline::load(&files, None).unwrap();
    let test_s = pipeline::samples(&test, &outcome.scaling);
    let mut fresh = N::new(&mut StdRng::seed_from_u64(seed + 1));
    fresh.reserve_batch(settings.batch).unwrap();
    let untrained = pipeline::predictions(&mut *fresh, &test_s, settings.batch).unwrap();
    let untrained = pipeline::accuracy(&untrained, &test.labels);
    assert!(
        untrained < 0.6,
        "{name}, seed {seed}: untrained accuracy {untrained}"
    );

    // The model file: the trained parameters bit for bit, the scaling, the same predictions.
    let (mut reloaded, scaling) = pipeline::reload::<N>(&outcome.model).unwrap();
    let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(reloaded.params()), bits(outcome.net.params()));
    assert_eq!(scaling, outcome.scaling);
    reloaded.reserve_batch(settings.batch).unwrap();
    let mut net = outcome.net;
    net.reserve_batch(settings.batch).unwrap();
    assert_eq!(
        pipeline::predictions(&mut *reloaded, &test_s, settings.batch).unwrap(),
        pipeline::predictions(&mut *net, &test_s, settings.batch).unwrap()
    );

    // The other model's tensors are not in the file: loading it there is an error that says
    // which network the file holds.
    let err = pipeline::reload::<Other>(&outcome.model).err().unwrap();
    assert!(err.to_string().contains(name), "{err}");

    // The loss curves: a PNG.
    let png = fs::read(&outcome.curves).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[test]
fn dense_learns_synthetic_digits_seed_1_gzip_train_raw_test() {
    learns::<Dense, Lenet5>(&DENSE, 1, (true, false));
}

#[test]
fn dense_learns_synthetic_digits_seed_2_raw_train_gzip_test() {
    learns::<Dense, Lenet5>(&DENSE, 2, (false, true));
}

#[test]
fn dense_learns_synthetic_digits_seed_3_all_gzip() {
    learns::<Dense, Lenet5>(&DENSE, 3, (true, true));
}

#[test]
fn lenet5_learns_synthetic_digits_seed_1_gzip_train_raw_test() {
    learns::<Lenet5, Dense>(&LENET5, 1, (true, false));
}

#[test]
fn lenet5_learns_synthetic_digits_seed_2_raw_train_gzip_test() {
    learns::<Lenet5, Dense>(&LENET5, 2, (false, true));
}

#[test]
fn lenet5_learns_synthetic_digits_seed_3_all_gzip() {
    learns::<Lenet5, Dense>(&LENET5, 3, (true, true));
}

#[test]
fn missing_files_say_where_to_get_them() {
    let dir = TempDir::new("missing");
    // An empty directory: all four missing, and the message says where to get them.
    let err = MnistFiles::find(&dir.0).unwrap_err();
    assert_eq!(
        err,
        MissingFiles::InDirectory {
            dir: dir.0.clone(),
            names: FILE_NAMES.to_vec()
        }
    );
    let message = err.to_string();
    for name in FILE_NAMES {
        assert!(message.contains(&format!("{name}[.gz]")), "{message}");
    }
    assert!(message.contains(WHERE_TO_GET), "{message}");
    assert!(message.contains("http://yann.lecun.com/exdb/mnist/"));
    assert!(message.contains("https://ossci-datasets.s3.amazonaws.com/mnist/"));

    // Only the test files there: the training files are the ones missing.
    write_synthetic(&dir.0, 1, (8, 8), (true, false));
    fs::remove_file(dir.0.join("train-images-idx3-ubyte.gz")).unwrap();
    fs::remove_file(dir.0.join("train-labels-idx1-ubyte.gz")).unwrap();
    match MnistFiles::find(&dir.0) {
        Err(MissingFiles::InDirectory { names, .. }) => assert_eq!(names, FILE_NAMES[..2]),
        other => panic!("{other:?}"),
    }

    // No such directory; paths given one by one that are not files (a directory is not one).
    let nowhere = dir.0.join("nowhere");
    assert_eq!(
        MnistFiles::find(&nowhere),
        Err(MissingFiles::NoDirectory(nowhere.clone()))
    );
    let present = dir.0.join("t10k-images-idx3-ubyte");
    let paths = [nowhere.clone(), dir.0.clone(), present.clone(), present];
    let err = MnistFiles::from_paths(paths).unwrap_err();
    assert_eq!(
        err,
        MissingFiles::Paths(vec![nowhere.clone(), dir.0.clone()])
    );
    let message = err.to_string();
    assert!(message.contains(&nowhere.display().to_string()) && message.contains(WHERE_TO_GET));
}

#[test]
fn finds_raw_and_gzipped_files_and_torchvisions_layout() {
    let dir = TempDir::new("find");
    // Training files gzip'd in DIR/MNIST/raw (torchvision's layout), test files raw in DIR.
    let raw = dir.0.join("MNIST").join("raw");
    fs::create_dir_all(&raw).unwrap();
    write_synthetic(&raw, 1, (8, 8), (true, true));
    write_synthetic(&dir.0, 1, (8, 8), (true, false));
    for name in &FILE_NAMES[..2] {
        fs::remove_file(dir.0.join(format!("{name}.gz"))).unwrap();
    }
    let files = MnistFiles::find(&dir.0).unwrap();
    assert_eq!(
        files,
        MnistFiles {
            train_images: raw.join("train-images-idx3-ubyte.gz"),
            train_labels: raw.join("train-labels-idx1-ubyte.gz"),
            test_images: dir.0.join("t10k-images-idx3-ubyte"),
            test_labels: dir.0.join("t10k-labels-idx1-ubyte"),
        }
    );
    // Both forms read the same: gzip is told by the file's first bytes.
    let (train, test) = pipeline::load(&files, None).unwrap();
    assert_eq!((train.len(), test.len(), train.width()), (8, 8, 784));
    assert!(train.labels.iter().all(|l| DIGITS.contains(&(*l as u8))));
    assert_eq!(train.classes, CLASSES);
    // The four paths given one by one, under any names.
    let renamed = dir.0.join("my-test-images");
    fs::rename(&files.test_images, &renamed).unwrap();
    let given = MnistFiles::from_paths([
        files.train_images.clone(),
        files.train_labels.clone(),
        renamed.clone(),
        files.test_labels.clone(),
    ])
    .unwrap();
    assert_eq!(given.test_images, renamed);
    assert_eq!(pipeline::load(&given, None).unwrap().1, test);
}

#[test]
fn limit_keeps_the_first_training_images() {
    let dir = TempDir::new("limit");
    write_synthetic(&dir.0, 1, (30, 10), (false, false));
    let files = MnistFiles::find(&dir.0).unwrap();
    let (all, test) = pipeline::load(&files, None).unwrap();
    let (first, test2) = pipeline::load(&files, Some(12)).unwrap();
    assert_eq!(first.len(), 12);
    assert_eq!(first.inputs, all.inputs.slice(bpnet::ndarray::s![..12, ..]));
    assert_eq!(first.labels, all.labels[..12]);
    assert_eq!(test, test2, "the test set is never cut");
    // A limit above the number of images keeps them all.
    assert_eq!(pipeline::load(&files, Some(1000)).unwrap().0, all);
}

/// What `run` reports for the files in `dir`: the error, which must be a `DataError`.
fn data_error(dir: &Path) -> (DataError, String) {
    let files = MnistFiles::find(dir).unwrap();
    let settings = quick(1, dir.join("out"));
    let err = match pipeline::run::<Dense>(&files, &settings) {
        Ok(_) => panic!("{} ran", dir.display()),
        Err(err) => err,
    };
    let message = err.to_string();
    match err.downcast::<DataError>() {
        Ok(data) => (*data, message),
        Err(other) => panic!("not a DataError: {other}"),
    }
}

#[test]
fn malformed_files_give_the_data_error() {
    let dir = TempDir::new("malformed");
    let write_good = || write_synthetic(&dir.0, 1, (16, 8), (true, false));
    let train_images = dir.0.join("train-images-idx3-ubyte.gz");
    let test_images = dir.0.join("t10k-images-idx3-ubyte");
    let test_labels = dir.0.join("t10k-labels-idx1-ubyte");
    let path_of = |e: &DataError| e.path().map(Path::to_path_buf);

    // A raw file cut short.
    write_good();
    let bytes = fs::read(&test_images).unwrap();
    fs::write(&test_images, &bytes[..bytes.len() - 100]).unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(
        matches!(err, DataError::Truncated { part: "data", .. }),
        "{err:?}"
    );
    assert_eq!(path_of(&err), Some(test_images.clone()));
    assert!(
        message.starts_with(&test_images.display().to_string()),
        "{message}"
    );
    assert!(message.contains("truncated data"), "{message}");

    // A gzip'd file cut short: gzip data that does not decompress.
    write_good();
    let bytes = fs::read(&train_images).unwrap();
    fs::write(&train_images, &bytes[..bytes.len() / 2]).unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(
        matches!(err, DataError::Gzip { .. } | DataError::Truncated { .. }),
        "{err:?}"
    );
    assert_eq!(path_of(&err), Some(train_images.clone()));
    assert!(
        message.starts_with(&train_images.display().to_string()),
        "{message}"
    );

    // Not an IDX file at all.
    write_good();
    fs::write(&test_labels, b"label,digit\n0,7\n").unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
    assert!(message.contains("not an IDX file"), "{message}");

    // The files swapped: labels where the images should be.
    write_good();
    fs::copy(&test_labels, &test_images).unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(matches!(err, DataError::Unexpected { .. }), "{err:?}");
    assert_eq!(path_of(&err), Some(test_images.clone()));
    assert!(
        message.contains("images of two or more dimensions"),
        "{message}"
    );

    // As many labels as images, or not.
    write_good();
    write_idx(&test_labels, &Array1::<u8>::from_elem(7, 1), false).unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                image_count: 8,
                label_count: 7,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("has 8 images but"), "{message}");

    // Images of another size (8×8, the shipped digits' size): the network reads 28×28.
    write_good();
    write_idx(&test_images, &Array3::<u8>::zeros((8, 8, 8)), false).unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(matches!(err, DataError::Unexpected { .. }), "{err:?}");
    assert_eq!(path_of(&err), Some(test_images.clone()));
    assert!(message.contains("28×28 images"), "{message}");
    assert!(message.contains("8 images of 64 pixels"), "{message}");

    // A label that is not a digit (EMNIST has letters).
    write_good();
    let mut labels = Array1::<u8>::from_elem(8, 1);
    labels[5] = 12;
    write_idx(&test_labels, &labels, false).unwrap();
    let (err, message) = data_error(&dir.0);
    assert!(
        matches!(err, DataError::BadLabel { sample: 5, .. }),
        "{err:?}"
    );
    assert_eq!(path_of(&err), Some(test_labels.clone()));
    assert!(message.contains("label `12`"), "{message}");

    // Nothing was trained or written.
    assert!(!dir.0.join("out").join("model.safetensors").exists());
}

#[test]
fn command_line() {
    let parse = |args: &[&str]| pipeline::parse_args(args.iter().map(|a| a.to_string()));
    assert_eq!(parse(&[]), Ok(Command::Usage));
    assert_eq!(parse(&["mnist", "--help"]), Ok(Command::Help));
    assert_eq!(parse(&["-h"]), Ok(Command::Help));
    assert_eq!(
        parse(&["data/mnist"]),
        Ok(Command::Train(
            Source::Dir(PathBuf::from("data/mnist")),
            Model::Dense,
            Settings::default()
        ))
    );
    let short = Settings {
        epochs: 3,
        limit: Some(10000),
        seed: 7,
        out_dir: PathBuf::from("out"),
        ..Settings::default()
    };
    assert_eq!(
        parse(&[
            "--epochs",
            "3",
            "d",
            "--limit=10000",
            "--model",
            "lenet",
            "--seed",
            "7",
            "--out",
            "out"
        ]),
        Ok(Command::Train(
            Source::Dir(PathBuf::from("d")),
            Model::Lenet5,
            short
        ))
    );
    assert_eq!(
        parse(&["a", "b", "c", "d", "--model=dense"]),
        Ok(Command::Train(
            Source::Paths(["a", "b", "c", "d"].map(PathBuf::from)),
            Model::Dense,
            Settings::default()
        ))
    );
    // The last of two `--model` counts, as for the other options.
    assert_eq!(
        parse(&["d", "--model", "dense", "--model=lenet"]),
        Ok(Command::Train(
            Source::Dir(PathBuf::from("d")),
            Model::Lenet5,
            Settings::default()
        ))
    );
    for (args, error) in [
        (
            &["a", "b"][..],
            "expected a directory or the four files, got 2 paths",
        ),
        (
            &["--epochs", "3"],
            "expected a directory or the four files, got 0 paths",
        ),
        (
            &["d", "--epochs", "0"],
            "--epochs takes a whole number of at least 1, not `0`",
        ),
        (
            &["d", "--limit", "ten"],
            "--limit takes a whole number of at least 1, not `ten`",
        ),
        (&["d", "--epochs"], "--epochs needs a value"),
        (&["d", "--batch", "8"], "unknown option --batch"),
        (
            &["d", "--model", "LeNet"],
            "--model takes `lenet` or `dense`, not `LeNet`",
        ),
        (
            &["d", "--model=lenet5"],
            "--model takes `lenet` or `dense`, not `lenet5`",
        ),
        (&["d", "--model"], "--model needs a value"),
    ] {
        assert_eq!(parse(args), Err(error.to_string()), "{args:?}");
    }
}

/// Not a test: writes the synthetic task above at MNIST's size (60000 training images, 10000
/// test images, raw IDX files under MNIST's names) into the directory `BPNET_MNIST_SYNTHETIC`
/// names (relative to the crate's root), to time the example on a full-size set:
///
/// ```sh
/// BPNET_MNIST_SYNTHETIC=target/mnist-synthetic \
///     cargo test --test mnist_example -- --ignored write_mnist_sized_synthetic_set
/// cargo run --release --example mnist -- target/mnist-synthetic --model lenet --epochs 2
/// ```
#[test]
#[ignore = "writes 55 MB, to time the example: set BPNET_MNIST_SYNTHETIC to a directory"]
fn write_mnist_sized_synthetic_set() {
    let dir = std::env::var_os("BPNET_MNIST_SYNTHETIC")
        .map(PathBuf::from)
        .expect("BPNET_MNIST_SYNTHETIC: the directory to write the files into");
    fs::create_dir_all(&dir).unwrap();
    write_synthetic(&dir, 1, (60_000, 10_000), (false, false));
}
