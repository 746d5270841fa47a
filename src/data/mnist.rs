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
/// row-major), mapped by `scale`. The labels file must hold one `u8` per image. The data set has
/// 10 classes, or more if a label is 10 or more (EMNIST). Targets come from
/// [`Dataset::targets`]: one-hot, ±1 or your own values.
///
/// Errors: those of [`read_idx`] for either file, [`DataError::Unexpected`] for a file of
/// another type or shape, [`DataError::CountMismatch`] if the numbers of images and labels
/// differ.
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
    let (images, labels) = (images.as_ref(), labels.as_ref());
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
    let labels: Vec<usize> = classes.iter().map(|&l| usize::from(l)).collect();
    let n_classes = labels.iter().max().map_or(10, |&m| (m + 1).max(10));
    Ok(Dataset::new(inputs, labels, n_classes))
}
