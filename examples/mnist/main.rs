//! The digits classifier on MNIST, from the IDX files of LeCun's distribution: 60000 training
//! images of 28×28 handwritten digits, a twelfth of them (5000) held out for validation (early
//! stopping), and the 10000 t10k images for the test. One of two networks, with tanh units
//! and a cross-entropy loss, trained on minibatches of 64 with Adam: a dense 784-256-10 network
//! (`--model dense`, the default), or LeNet-5 (`--model lenet`: 5 × 5 convolutions to 6 maps of
//! 28 × 28, subsampled to 14 × 14, convolved to 16 maps of 10 × 10, subsampled to 5 × 5, then
//! 120, 84 and 10 units). Then the test accuracy; the model saved to safetensors with its pixel
//! scaling, reloaded, and checked to give the same predictions; the loss curves as a PNG.
//!
//! MNIST is not shipped with bpnet and nothing is downloaded: get the four files (gzip'd or
//! unpacked) from <http://yann.lecun.com/exdb/mnist/> (often unavailable) or from the mirror
//! torchvision uses, <https://ossci-datasets.s3.amazonaws.com/mnist/> (run the example without
//! arguments for the commands), and pass their directory, or the four paths:
//!
//! ```sh
//! cargo run --release --example mnist -- DIR                            # writes to target/mnist/
//! cargo run --release --example mnist -- DIR --epochs 3 --limit 10000   # a short run
//! cargo run --release --example mnist -- DIR --model lenet              # LeNet-5
//! cargo run --release --example mnist -- TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS --out OUT_DIR
//! cargo run --release --example mnist -- --help
//! ```
//!
//! It writes `model.safetensors` (the parameters, the network's name, and the pixel scaling as
//! `normalize.mean` and `normalize.scale`: the mean and standard deviation of all training
//! pixels) and `loss.png` (the loss curves), and prints each epoch's losses, accuracy and time.
//! Files of the same format and names (Fashion-MNIST's) train the same way.
//!
//! **Accuracy on MNIST: not measured.** The files could not be downloaded where this example was
//! written, so its settings (the dense network's 256 hidden units, Adam at 0.001, minibatches of
//! 64, patience 5, for both models) are common defaults, not tuned on MNIST, and no MNIST number is claimed here. What was run is a
//! synthetic stand-in of the same size in the same files: every step works end to end on it,
//! for both models (the time does not depend on what the images show). An epoch of 55000 images
//! (and the 5000 to validate) took, in release on a 2-core machine, 1.6 to 1.7 s for the dense
//! network (on two threads) and 9.5 to 9.7 s for LeNet-5 (on one; its convolutions go through
//! the matrix product, im2col), two epochs of each; 12.1 to 12.4 s for LeNet-5 with the machine
//! busy with a build. Before the convolutions went through the matrix product: 92 to 132 s.
//! To time it again (the set is the test's synthetic task at MNIST's size):
//!
//! ```sh
//! BPNET_MNIST_SYNTHETIC=target/mnist-synthetic \
//!     cargo test --test mnist_example -- --ignored write_mnist_sized_synthetic_set
//! cargo run --release --example mnist -- target/mnist-synthetic --model lenet --epochs 2
//! ```
//!
//! `tests/mnist_example.rs` runs the same pipeline on small files it writes (gzip'd and raw) and
//! checks that both models learn, that the model reloads identically, and the errors of missing
//! and malformed files.
//!
//! Exit codes: 0 on success or `--help`; 2 with no argument (the usage, and where to get MNIST)
//! or bad arguments; 1 when files are missing (with where to get them) or unreadable (the
//! loader's message, naming the file and what is wrong with it).
//!
//! The work is in `pipeline.rs`, apart from the command line, so that the test can run it.

mod pipeline;

use pipeline::{Classifier, Command, Dense, Lenet5, Model, Outcome, USAGE, WHERE_TO_GET};
use std::error::Error;
use std::process::ExitCode;

fn main() -> ExitCode {
    let (source, model, settings) = match pipeline::parse_args(std::env::args().skip(1)) {
        Ok(Command::Train(source, model, settings)) => (source, model, settings),
        Ok(Command::Help) => {
            println!("{USAGE}\n\n{WHERE_TO_GET}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Usage) => {
            eprintln!("{USAGE}\n\n{WHERE_TO_GET}");
            return ExitCode::from(2);
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let files = match source.resolve() {
        Ok(files) => files,
        Err(missing) => {
            eprintln!("error: {missing}");
            return ExitCode::FAILURE;
        }
    };
    match model {
        Model::Lenet5 => report(pipeline::run::<Lenet5>(&files, &settings)),
        Model::Dense => report(pipeline::run::<Dense>(&files, &settings)),
    }
}

/// The summary of a run, or its error.
fn report<N: Classifier>(outcome: Result<Outcome<N>, Box<dyn Error>>) -> ExitCode {
    match outcome {
        Ok(outcome) => {
            let (train, val, test) = outcome.sizes;
            println!(
                "done: {} parameters trained on {train} images ({val} more to validate) in {} \
                 epochs, {:.2}% of {test} test images right",
                outcome.net.params().len(),
                outcome.history.epochs.len(),
                100.0 * outcome.test_accuracy,
            );
            println!(
                "  {}: the parameters, and the pixel scaling (v − {:.2}) / {:.2} (the mean and \
                 standard deviation of the training pixels)",
                outcome.model.display(),
                outcome.scaling.mean()[0],
                outcome.scaling.scale()[0]
            );
            println!("  {}: the loss curves", outcome.curves.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
