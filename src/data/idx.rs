//! IDX files: the format of LeCun's MNIST distribution.
//!
//! An IDX file is a header and the values, all big-endian:
//!
//! | bytes | what |
//! | --- | --- |
//! | 2 | zero |
//! | 1 | the type code of the values (see [`IdxType`]) |
//! | 1 | the number of dimensions `n` |
//! | 4 × `n` | the size of each dimension, as a `u32` |
//! | size of one value × the product of the sizes | the values, last dimension fastest |

use std::io::{self, Read, Write};
use std::path::Path;

use crate::ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::error::DataError;
use super::open_maybe_gzip;
use crate::Float;

/// The type of the values of an IDX file, given by the third byte of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdxType {
    /// Unsigned byte, code `0x08` (MNIST's images and labels).
    U8,
    /// Signed byte, code `0x09`.
    I8,
    /// Signed 16-bit integer, code `0x0B`.
    I16,
    /// Signed 32-bit integer, code `0x0C`.
    I32,
    /// 32-bit float, code `0x0D`.
    F32,
    /// 64-bit float, code `0x0E`.
    F64,
}

impl IdxType {
    /// Every IDX type, in the order of their codes.
    pub const ALL: [IdxType; 6] = [
        IdxType::U8,
        IdxType::I8,
        IdxType::I16,
        IdxType::I32,
        IdxType::F32,
        IdxType::F64,
    ];

    /// The type code, the third byte of the file.
    ///
    /// ```
    /// use bpnet::data::IdxType;
    /// assert_eq!(IdxType::U8.code(), 0x08);
    /// assert_eq!(IdxType::from_code(0x0D), Some(IdxType::F32));
    /// assert_eq!(IdxType::from_code(0x0A), None);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            IdxType::U8 => 0x08,
            IdxType::I8 => 0x09,
            IdxType::I16 => 0x0B,
            IdxType::I32 => 0x0C,
            IdxType::F32 => 0x0D,
            IdxType::F64 => 0x0E,
        }
    }

    /// The type with this code, if any.
    pub fn from_code(code: u8) -> Option<IdxType> {
        IdxType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The size of one value, in bytes.
    pub const fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }

    /// The Rust name of the type (`"u8"`, `"f32"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            IdxType::U8 => "u8",
            IdxType::I8 => "i8",
            IdxType::I16 => "i16",
            IdxType::I32 => "i32",
            IdxType::F32 => "f32",
            IdxType::F64 => "f64",
        }
    }
}

/// The values of an IDX file, in the type the file declares.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// `u8` values.
    U8(ArrayD<u8>),
    /// `i8` values.
    I8(ArrayD<i8>),
    /// `i16` values.
    I16(ArrayD<i16>),
    /// `i32` values.
    I32(ArrayD<i32>),
    /// `f32` values.
    F32(ArrayD<f32>),
    /// `f64` values.
    F64(ArrayD<f64>),
}

macro_rules! each {
    ($data:expr, $a:ident => $e:expr) => {
        match $data {
            IdxData::U8($a) => $e,
            IdxData::I8($a) => $e,
            IdxData::I16($a) => $e,
            IdxData::I32($a) => $e,
            IdxData::F32($a) => $e,
            IdxData::F64($a) => $e,
        }
    };
}

impl IdxData {
    /// The type of the values.
    pub fn idx_type(&self) -> IdxType {
        match self {
            IdxData::U8(_) => IdxType::U8,
            IdxData::I8(_) => IdxType::I8,
            IdxData::I16(_) => IdxType::I16,
            IdxData::I32(_) => IdxType::I32,
            IdxData::F32(_) => IdxType::F32,
            IdxData::F64(_) => IdxType::F64,
        }
    }

    /// The dimension sizes (`[60000, 28, 28]` for MNIST's training images).
    pub fn shape(&self) -> &[usize] {
        each!(self, a => a.shape())
    }

    /// The values converted to `f32` or `f64` (exactly, except `f64` values read as `f32`, which
    /// are rounded to nearest).
    pub fn to_float<F: Float>(&self) -> ArrayD<F> {
        match self {
            IdxData::U8(a) => a.mapv(|v| F::from_f64(v.into())),
            IdxData::I8(a) => a.mapv(|v| F::from_f64(v.into())),
            IdxData::I16(a) => a.mapv(|v| F::from_f64(v.into())),
            IdxData::I32(a) => a.mapv(|v| F::from_f64(v.into())),
            IdxData::F32(a) => a.mapv(|v| F::from_f64(v.into())),
            IdxData::F64(a) => a.mapv(F::from_f64),
        }
    }

    /// The array, if the file's values are of type `T`; otherwise the data, unchanged.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use bpnet::data::{read_idx, write_idx};
    /// use bpnet::ndarray::{ArrayD, IxDyn, array};
    ///
    /// let path = std::env::temp_dir().join(format!("bpnet-doc-into-{}.idx", std::process::id()));
    /// write_idx(&path, &array![3u8, 1, 4], false)?;
    /// let data = read_idx(&path)?;
    /// let labels: ArrayD<u8> = data.into_array().expect("a u8 file");
    /// assert_eq!(labels, array![3u8, 1, 4].into_dyn());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_array<T: IdxElement>(self) -> Result<ArrayD<T>, IdxData> {
        T::from_data(self)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type an IDX file can hold: `u8`, `i8`, `i16`, `i32`, `f32` and `f64`.
///
/// Sealed: the format has exactly these types.
pub trait IdxElement: sealed::Sealed + Copy + 'static {
    /// The IDX type of `Self`.
    const TYPE: IdxType;
    /// Appends the big-endian bytes of `self`.
    #[doc(hidden)]
    fn put_be(self, out: &mut Vec<u8>);
    /// The array held by `data`, if it holds `Self`.
    #[doc(hidden)]
    fn from_data(data: IdxData) -> Result<ArrayD<Self>, IdxData>;
}

macro_rules! element {
    ($t:ident, $variant:ident) => {
        impl sealed::Sealed for $t {}
        impl IdxElement for $t {
            const TYPE: IdxType = IdxType::$variant;
            fn put_be(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn from_data(data: IdxData) -> Result<ArrayD<Self>, IdxData> {
                match data {
                    IdxData::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    };
}
element!(u8, U8);
element!(i8, I8);
element!(i16, I16);
element!(i32, I32);
element!(f32, F32);
element!(f64, F64);

/// Reads an IDX file, gzip'd or raw (told apart by the gzip magic bytes `1f 8b`, not by the
/// file's name), into an array of the type the file declares.
///
/// Every way a file can be wrong is an error, never a panic: [`DataError::BadMagic`],
/// [`DataError::UnknownType`], [`DataError::Truncated`] (the header, or the data: expected so
/// many bytes, found fewer), [`DataError::TrailingBytes`], [`DataError::DimensionOverflow`],
/// [`DataError::Gzip`] and [`DataError::Io`]. The sizes are checked against the file's length
/// before anything is allocated for the values.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bpnet::data::{IdxData, IdxType, read_idx, write_idx};
/// use bpnet::ndarray::array;
///
/// let path = std::env::temp_dir().join(format!("bpnet-doc-read-{}.idx.gz", std::process::id()));
/// write_idx(&path, &array![[0u8, 128, 255], [1, 2, 3]], true)?;
/// let data = read_idx(&path)?;
/// assert_eq!(data.idx_type(), IdxType::U8);
/// assert_eq!(data.shape(), &[2, 3]);
/// assert_eq!(data.to_float::<f32>()[[0, 2]], 255.0);
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxData, DataError> {
    let path = path.as_ref();
    let (reader, gzip) = open_maybe_gzip(path)?;
    decode(reader, path, gzip)
}

/// Reads an IDX file of any type (see [`read_idx`]) into `f32` or `f64` values.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bpnet::data::{read_idx_as, write_idx};
/// use bpnet::ndarray::array;
///
/// let path = std::env::temp_dir().join(format!("bpnet-doc-as-{}.idx", std::process::id()));
/// write_idx(&path, &array![-2i16, 300], false)?;
/// assert_eq!(read_idx_as::<f64>(&path)?, array![-2.0, 300.0].into_dyn());
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
pub fn read_idx_as<F: Float>(path: impl AsRef<Path>) -> Result<ArrayD<F>, DataError> {
    Ok(read_idx(path)?.to_float())
}

/// Writes `array` as an IDX file of `T`'s type, gzip'd if `gzip` (whatever the file's name).
///
/// Fails with [`DataError::Unwritable`] for an array of more than 255 dimensions or a dimension
/// of 2³² or more, which the format cannot hold, and with [`DataError::Io`] if the file cannot be
/// written. Any memory layout is accepted; values are written in logical (row-major) order.
///
/// The file is replaced atomically (written to a temporary file beside it, then renamed over
/// it): an existing file keeps its permissions, and a read-only one (on Unix, no write bit in its
/// mode, the rule even for root; or one this process may not open for writing) is refused,
/// unchanged, with a [`DataError::Io`] of kind [`std::io::ErrorKind::PermissionDenied`].
pub fn write_idx<T, S, D>(
    path: impl AsRef<Path>,
    array: &ArrayBase<S, D>,
    gzip: bool,
) -> Result<(), DataError>
where
    T: IdxElement,
    S: Data<Elem = T>,
    D: Dimension,
{
    let path = path.as_ref();
    let unwritable = |reason: String| DataError::Unwritable {
        path: path.to_path_buf(),
        reason,
    };
    let ndim = u8::try_from(array.ndim()).map_err(|_| {
        unwritable(format!(
            "{} dimensions, IDX holds at most 255",
            array.ndim()
        ))
    })?;
    let mut bytes = Vec::with_capacity(4 + 4 * array.ndim() + array.len() * T::TYPE.size());
    bytes.extend_from_slice(&[0, 0, T::TYPE.code(), ndim]);
    for (axis, &len) in array.shape().iter().enumerate() {
        let len = u32::try_from(len).map_err(|_| {
            unwritable(format!(
                "dimension {axis} has size {len}, IDX sizes are below 2^32"
            ))
        })?;
        bytes.extend_from_slice(&len.to_be_bytes());
    }
    for &v in array.iter() {
        v.put_be(&mut bytes);
    }
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder
            .write_all(&bytes)
            .map_err(|e| DataError::io(path, e))?;
        bytes = encoder.finish().map_err(|e| DataError::io(path, e))?;
    }
    crate::fsutil::write_atomic(path, &bytes).map_err(|e| DataError::io(path, e))
}

/// Decodes an IDX file from `reader` (decompressed already if `gzip`); `path` names it in
/// errors. Reads no more than the header declares (then counts any trailing bytes without
/// keeping them), so memory stays within the smaller of the declared and the actual size.
fn decode<R: Read>(mut reader: R, path: &Path, gzip: bool) -> Result<IdxData, DataError> {
    let io_error = |source: io::Error| {
        if gzip {
            DataError::Gzip {
                path: path.to_path_buf(),
                source,
            }
        } else {
            DataError::io(path, source)
        }
    };
    // Up to `n` more bytes.
    let mut read = |n: usize, into: &mut Vec<u8>| {
        (&mut reader)
            .take(n as u64)
            .read_to_end(into)
            .map_err(io_error)
    };
    let truncated = |part, expected: usize, found: usize| DataError::Truncated {
        path: path.to_path_buf(),
        part,
        expected: expected as u64,
        found: found as u64,
    };
    let mut bytes = Vec::new();
    read(4, &mut bytes)?;
    let Some(&[m0, m1, code, ndim]) = bytes.first_chunk::<4>() else {
        return Err(truncated("header", 4, bytes.len()));
    };
    if m0 != 0 || m1 != 0 {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            magic: [m0, m1, code, ndim],
        });
    }
    let ty = IdxType::from_code(code).ok_or_else(|| DataError::UnknownType {
        path: path.to_path_buf(),
        code,
    })?;
    let header = 4 + 4 * usize::from(ndim);
    read(header - 4, &mut bytes)?;
    if bytes.len() < header {
        return Err(truncated("header", header, bytes.len()));
    }
    let dims: Vec<u32> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    // The product of the non-zero sizes must fit in an `isize` (ndarray's rule, so an empty
    // array's shape is checked too), and so must the file's size.
    let overflow = || DataError::DimensionOverflow {
        path: path.to_path_buf(),
        dims: dims.clone(),
    };
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(overflow)?;
    let count = if shape.contains(&0) { 0 } else { nonzero };
    let expected = count
        .checked_mul(ty.size())
        .and_then(|n| n.checked_add(header))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(overflow)?;
    let mut body = Vec::new();
    read(expected - header, &mut body)?;
    if header + body.len() < expected {
        return Err(truncated("data", expected, header + body.len()));
    }
    let trailing = io::copy(&mut reader, &mut io::sink()).map_err(io_error)?;
    if trailing > 0 {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected: expected as u64,
            found: expected as u64 + trailing,
        });
    }
    let shape = IxDyn(&shape);
    // `from_shape_vec` cannot fail after the checks above, but file contents never panic.
    fn build<T, const N: usize>(
        shape: IxDyn,
        body: &[u8],
        from_be: fn([u8; N]) -> T,
    ) -> Option<ArrayD<T>> {
        let (chunks, rest) = body.as_chunks::<N>();
        debug_assert!(rest.is_empty());
        ArrayD::from_shape_vec(shape, chunks.iter().map(|c| from_be(*c)).collect()).ok()
    }
    let data = match ty {
        IdxType::U8 => ArrayD::from_shape_vec(shape, body).ok().map(IdxData::U8),
        IdxType::I8 => build(shape, &body, i8::from_be_bytes).map(IdxData::I8),
        IdxType::I16 => build(shape, &body, i16::from_be_bytes).map(IdxData::I16),
        IdxType::I32 => build(shape, &body, i32::from_be_bytes).map(IdxData::I32),
        IdxType::F32 => build(shape, &body, f32::from_be_bytes).map(IdxData::F32),
        IdxType::F64 => build(shape, &body, f64::from_be_bytes).map(IdxData::F64),
    };
    data.ok_or_else(overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn p() -> PathBuf {
        PathBuf::from("mem.idx")
    }

    #[test]
    fn decodes_hand_written_bytes() {
        // 2 × 2 big-endian i16: 1, -2, 258, 0.
        let bytes = [
            0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0xFF, 0xFE, 1, 2, 0, 0,
        ];
        let data = decode(&bytes[..], &p(), false).unwrap();
        assert_eq!(data.shape(), &[2, 2]);
        let a: ArrayD<i16> = data.into_array().unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [1, -2, 258, 0]);
    }

    #[test]
    fn scalar_and_empty_arrays() {
        // No dimensions: one value.
        let data = decode(&[0, 0, 0x08, 0, 7][..], &p(), false).unwrap();
        assert_eq!(data.shape(), &[] as &[usize]);
        assert_eq!(
            data.to_float::<f32>().iter().copied().collect::<Vec<_>>(),
            [7.0]
        );
        // A zero size: no values, whatever the other sizes.
        let data = decode(
            &[0, 0, 0x0D, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF][..],
            &p(),
            false,
        )
        .unwrap();
        assert_eq!(data.shape(), &[0, u32::MAX as usize]);
    }

    #[test]
    fn every_header_byte_is_checked() {
        assert!(matches!(
            decode(&[0, 0, 0x08][..], &p(), false),
            Err(DataError::Truncated {
                part: "header",
                expected: 4,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            decode(&[0, 1, 0x08, 1, 0, 0, 0, 0][..], &p(), false),
            Err(DataError::BadMagic {
                magic: [0, 1, 8, 1],
                ..
            })
        ));
        assert!(matches!(
            decode(&[0, 0, 0x0A, 1, 0, 0, 0, 0][..], &p(), false),
            Err(DataError::UnknownType { code: 0x0A, .. })
        ));
        assert!(matches!(
            decode(&[0, 0, 0x08, 2, 0, 0, 0, 1][..], &p(), false),
            Err(DataError::Truncated {
                part: "header",
                expected: 12,
                found: 8,
                ..
            })
        ));
    }

    #[test]
    fn sizes_are_checked_before_allocating() {
        // 2^32 − 1 cubed overflows.
        let mut bytes = vec![0, 0, 0x0E, 3];
        bytes.extend_from_slice(&[0xFF; 12]);
        assert!(matches!(
            decode(&bytes[..], &p(), false),
            Err(DataError::DimensionOverflow { ref dims, .. }) if dims == &[u32::MAX; 3]
        ));
        #[cfg(target_pointer_width = "64")]
        {
            // (2^32 − 1) × (2^31 − 1) bytes fits in an isize; 12 are there.
            let bytes = vec![
                0, 0, 0x08, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF,
            ];
            let expected = 12 + (u32::MAX as u64) * (i32::MAX as u64);
            assert!(matches!(
                decode(&bytes[..], &p(), false),
                Err(DataError::Truncated { part: "data", expected: e, found: 12, .. }) if e == expected
            ));
        }
    }
}
