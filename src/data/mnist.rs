//! MNIST: an IDX file of images and one of labels, paired into a [`Dataset`].

use std::path::Path;

use crate::ndarray::Array2;

use super::{DataError, Dataset, IdxData, read_idx};
use crate::Float;

/// How [`load_mnist`] maps a pixel's byte `0..=255` to an input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PixelScale {
    /// To `[0, 1]`: `v / 255`.
    Unit,
    /// To `[-1, 1]`: `2 v / 255 − 1`.
    Symmetric,
    /// Unchanged: `0..=255`.
    Raw,
    /// To `[low, high]`: `low + (high − low) v / 255`.
    Range {
        /// The input for a byte of 0.
        low: f64,
        /// The input for a byte of 255.
        high: f64,
    },
}

impl PixelScale {
    /// The input for a pixel's byte.
    pub fn map(self, v: u8) -> f64 {
        let v = f64::from(v);
        match self {
            PixelScale::Unit => v / 255.0,
            PixelScale::Symmetric => 2.0 * v / 255.0 - 1.0,
            PixelScale::Raw => v,
            PixelScale::Range { low, high } => low + (high - low) * v / 255.0,
        }
    }
}

/// Reads MNIST (or a data set in its format: Fashion-MNIST, EMNIST, …) from an IDX images file
/// and an IDX labels file, each gzip'd or raw, as LeCun's site distributes them
/// (`train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte.gz`, say).
///
/// The images file must hold `u8` pixels with two or more dimensions, the first counting the
/// images (`[60000, 28, 28]`); each image becomes one row of inputs (28 × 28 = 784 columns,
/// row-major), mapped by `scale`. The labels file must hold one `u8` per image, each `0..=9`:
/// the data set has 10 classes (for a data set in this format with more, as EMNIST's, see
/// [`load_mnist_classes`]). Targets come from [`Dataset::targets`]: one-hot, ±1 or your own
/// values.
///
/// Errors: those of [`read_idx`] for either file, [`DataError::Unexpected`] for a file of
/// another type or shape, [`DataError::CountMismatch`] if the numbers of images and labels
/// differ, [`DataError::BadLabel`] (naming the labels file and the sample, from 0) for the
/// first label of 10 or more: a damaged file, or one of another data set.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bpnet::data::{PixelScale, Targets, load_mnist, write_idx};
/// use bpnet::ndarray::{Array3, array};
///
/// let dir = std::env::temp_dir();
/// let (images, labels) = (
///     dir.join(format!("bpnet-doc-mnist-{}-images.gz", std::process::id())),
///     dir.join(format!("bpnet-doc-mnist-{}-labels", std::process::id())),
/// );
/// // Two 2×2 "images" and their labels.
/// write_idx(&images, &Array3::from_shape_vec((2, 2, 2), vec![0u8, 255, 51, 0, 255, 255, 0, 0])?, true)?;
/// write_idx(&labels, &array![7u8, 3], false)?;
/// let data = load_mnist::<f32>(&images, &labels, PixelScale::Unit)?;
/// assert_eq!(data.inputs, array![[0.0, 1.0, 0.2, 0.0], [1.0, 1.0, 0.0, 0.0]]);
/// assert_eq!((data.labels.clone(), data.classes), (vec![7, 3], 10));
/// assert_eq!(data.targets(Targets::OneHot).row(1)[3], 1.0);
/// # std::fs::remove_file(&images)?;
/// # std::fs::remove_file(&labels)?;
/// # Ok(())
/// # }
/// ```
pub fn load_mnist<F: Float>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    scale: PixelScale,
) -> Result<Dataset<F>, DataError> {
    load(images.as_ref(), labels.as_ref(), scale, 10)
}

/// [`load_mnist`] for a data set in MNIST's format with `classes` classes instead of 10:
/// EMNIST's (`balanced`: 47 classes; `letters`: labels 1 to 26, so 27 classes with class 0
/// unused), say. Every label must be below `classes`, or the first one that is not is a
/// [`DataError::BadLabel`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bpnet::data::{DataError, PixelScale, load_mnist, load_mnist_classes, write_idx};
/// use bpnet::ndarray::{Array3, array};
///
/// let dir = std::env::temp_dir();
/// let (images, labels) = (
///     dir.join(format!("bpnet-doc-emnist-{}-images", std::process::id())),
///     dir.join(format!("bpnet-doc-emnist-{}-labels", std::process::id())),
/// );
/// write_idx(&images, &Array3::<u8>::zeros((2, 2, 2)), false)?;
/// write_idx(&labels, &array![26u8, 1], false)?;
/// let data = load_mnist_classes::<f32>(&images, &labels, PixelScale::Unit, 27)?;
/// assert_eq!((data.labels.clone(), data.classes), (vec![26, 1], 27));
/// // Not MNIST: label 26 is not a digit.
/// let err = load_mnist::<f32>(&images, &labels, PixelScale::Unit).unwrap_err();
/// assert!(matches!(err, DataError::BadLabel { sample: 0, .. }));
/// # std::fs::remove_file(&images)?;
/// # std::fs::remove_file(&labels)?;
/// # Ok(())
/// # }
/// ```
pub fn load_mnist_classes<F: Float>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    scale: PixelScale,
    classes: usize,
) -> Result<Dataset<F>, DataError> {
    load(images.as_ref(), labels.as_ref(), scale, classes)
}

/// [`load_mnist_classes`], its arguments as paths.
fn load<F: Float>(
    images: &Path,
    labels: &Path,
    scale: PixelScale,
    n_classes: usize,
) -> Result<Dataset<F>, DataError> {
    let unexpected = |path: &Path, expected: &str, data: &IdxData| DataError::Unexpected {
        path: path.to_path_buf(),
        expected: expected.to_string(),
        found: format!(
            "{} values of shape {:?}",
            data.idx_type().name(),
            data.shape()
        ),
    };

    let pixels = read_idx(images)?;
    /// The most values one image may hold (2^24: a 4096×4096 picture).
    const MAX_IMAGE_VALUES: usize = 1 << 24;
    const IMAGES: &str = "u8 images of two or more dimensions (count, rows, columns)";
    if pixels.shape().len() < 2 {
        return Err(unexpected(images, IMAGES, &pixels));
    }
    let pixels = pixels
        .into_array::<u8>()
        .map_err(|data| unexpected(images, IMAGES, &data))?;

    let classes = read_idx(labels)?;
    const LABELS: &str = "u8 labels of one dimension";
    if classes.shape().len() != 1 {
        return Err(unexpected(labels, LABELS, &classes));
    }
    let classes = classes
        .into_array::<u8>()
        .map_err(|data| unexpected(labels, LABELS, &data))?;

    let count = pixels.shape()[0];
    if classes.len() != count {
        return Err(DataError::CountMismatch {
            images: images.to_path_buf(),
            image_count: count,
            labels: labels.to_path_buf(),
            label_count: classes.len(),
        });
    }
    // The reader bounds the total size, not one image's: with no images, any width passes it.
    let width = pixels.shape()[1..]
        .iter()
        .try_fold(1usize, |w, &d| w.checked_mul(d))
        .filter(|&w| w <= MAX_IMAGE_VALUES)
        .ok_or_else(|| DataError::Unexpected {
            path: images.to_path_buf(),
            expected: format!("{IMAGES}, at most 2^24 values per image"),
            found: format!("an image shape of {:?}", &pixels.shape()[1..]),
        })?;
    let values: Vec<F> = pixels.iter().map(|&v| F::from_f64(scale.map(v))).collect();
    // Cannot fail (the reader checked the sizes), but file contents never panic.
    let inputs =
        Array2::from_shape_vec((count, width), values).map_err(|e| DataError::Unexpected {
            path: images.to_path_buf(),
            expected: IMAGES.to_string(),
            found: e.to_string(),
        })?;
    if let Some((sample, &label)) = classes
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= n_classes)
    {
        let expected = match n_classes {
            0 => "the 0 classes asked for".to_string(),
            10 => "0 to 9, MNIST's 10 classes (for a data set with more, as EMNIST's, use \
                   `load_mnist_classes`)"
                .to_string(),
            n => format!("0 to {}, the data set's {n} classes", n - 1),
        };
        return Err(DataError::BadLabel {
            path: labels.to_path_buf(),
            sample,
            value: label.to_string(),
            expected,
        });
    }
    let label_values: Vec<usize> = classes.iter().map(|&l| usize::from(l)).collect();
    Dataset::try_new(inputs, label_values, n_classes)
}
