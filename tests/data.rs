//! `bpnet::data`: IDX and CSV files the tests write themselves, every malformed case, the shipped
//! digits, the seeded split and the normaliser.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bpnet::data::{
    Column, CsvOptions, DataError, Dataset, IdxData, IdxType, Normalizer, PixelScale, Targets,
    digits, load_digits, load_mnist, load_mnist_classes, read_csv, read_idx, read_idx_as,
    split_indices, write_idx,
};
use bpnet::ndarray::{Array, Array2, Array3, ArrayD, Axis, IxDyn, array};

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bpnet-data-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    fn write(&self, file: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(file);
        fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// An IDX file built byte by byte, independently of the writer.
fn idx_bytes(code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, code, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(body);
    b
}

// ---------------------------------------------------------------------------------------------
// IDX

#[test]
fn idx_round_trips_u8_and_f32_raw_and_gzip_in_one_two_and_three_dimensions() {
    let dir = TempDir::new("round-trip");
    let shapes: [&[usize]; 3] = [&[7], &[3, 5], &[4, 3, 2]];
    for shape in shapes {
        let n: usize = shape.iter().product();
        let bytes =
            ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| (i * 37 % 256) as u8).collect())
                .unwrap();
        // Values whose bytes are all different: signs, fractions, a subnormal, large.
        let floats = ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..n)
                .map(|i| match i % 4 {
                    0 => -(i as f32) * 0.37,
                    1 => 1.0e-40,
                    2 => 3.4e38 / (i as f32 + 1.0),
                    _ => i as f32 + 0.5,
                })
                .collect(),
        )
        .unwrap();
        for gz in [false, true] {
            let name = format!("{}d-{gz}", shape.len());
            let p = dir.path(&format!("{name}-u8.idx"));
            write_idx(&p, &bytes, gz).unwrap();
            let head = fs::read(&p).unwrap();
            assert_eq!(head.starts_with(&[0x1f, 0x8b]), gz, "{name}: gzip or not");
            let back = read_idx(&p).unwrap();
            assert_eq!(back.idx_type(), IdxType::U8);
            assert_eq!(back.shape(), shape);
            assert_eq!(back, IdxData::U8(bytes.clone()), "{name} u8");
            assert_eq!(
                read_idx_as::<f64>(&p).unwrap(),
                bytes.mapv(f64::from),
                "{name} u8 as f64"
            );

            let p = dir.path(&format!("{name}-f32.idx"));
            write_idx(&p, &floats, gz).unwrap();
            let back = read_idx(&p).unwrap();
            assert_eq!(back.idx_type(), IdxType::F32);
            let back: ArrayD<f32> = back.into_array().unwrap();
            assert_eq!(
                back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                floats.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{name} f32, bit for bit"
            );
            assert_eq!(back.shape(), shape);
        }
    }
}

#[test]
fn idx_round_trips_the_other_types_and_non_standard_layouts() {
    let dir = TempDir::new("types");
    let p = dir.path("t.idx");
    let a = array![[-128i8, 0, 127], [5, -6, 7]];
    write_idx(&p, &a, false).unwrap();
    assert_eq!(read_idx(&p).unwrap(), IdxData::I8(a.clone().into_dyn()));
    let a = array![i16::MIN, -2, 258, i16::MAX];
    write_idx(&p, &a, true).unwrap();
    assert_eq!(read_idx(&p).unwrap(), IdxData::I16(a.clone().into_dyn()));
    let a = array![[i32::MIN], [i32::MAX]];
    write_idx(&p, &a, false).unwrap();
    assert_eq!(read_idx(&p).unwrap(), IdxData::I32(a.clone().into_dyn()));
    let a = array![[0.1f64, -1e300], [f64::MIN_POSITIVE, 2.5]];
    write_idx(&p, &a, true).unwrap();
    assert_eq!(read_idx(&p).unwrap(), IdxData::F64(a.clone().into_dyn()));
    // A transposed view is written in its logical order.
    let a = array![[1u8, 2, 3], [4, 5, 6]];
    write_idx(&p, &a.t(), false).unwrap();
    assert_eq!(
        read_idx(&p).unwrap(),
        IdxData::U8(array![[1u8, 4], [2, 5], [3, 6]].into_dyn())
    );
}

#[test]
fn idx_writer_emits_the_format_byte_for_byte() {
    let dir = TempDir::new("bytes");
    let p = dir.path("u8.idx");
    write_idx(&p, &array![[1u8, 2, 3], [4, 5, 6]], false).unwrap();
    assert_eq!(
        fs::read(&p).unwrap(),
        idx_bytes(0x08, &[2, 3], &[1, 2, 3, 4, 5, 6])
    );
    let p = dir.path("f32.idx.gz");
    write_idx(&p, &array![1.5f32, -2.0], true).unwrap();
    let mut body = 1.5f32.to_be_bytes().to_vec();
    body.extend_from_slice(&(-2.0f32).to_be_bytes());
    assert_eq!(body, [0x3F, 0xC0, 0, 0, 0xC0, 0, 0, 0]);
    assert_eq!(gunzip(&fs::read(&p).unwrap()), idx_bytes(0x0D, &[2], &body));
}

#[test]
fn idx_reader_reads_hand_written_mnist_style_files_gzip_told_by_content() {
    let dir = TempDir::new("hand");
    // Three 2×2 images, magic 0x00000803.
    let pixels: Vec<u8> = (0..12).map(|i| (i * 20) as u8).collect();
    let raw = idx_bytes(0x08, &[3, 2, 2], &pixels);
    assert_eq!(&raw[..4], &[0, 0, 8, 3]);
    // Gzip'd under a name without `.gz`, raw under a name with it.
    let a = dir.write("images-idx3-ubyte", &gzip(&raw));
    let b = dir.write("images-idx3-ubyte.gz", &raw);
    for p in [a, b] {
        let data = read_idx(&p).unwrap();
        assert_eq!(data.shape(), &[3, 2, 2]);
        let floats = data.to_float::<f32>();
        for (i, v) in floats.iter().enumerate() {
            assert_eq!(*v, pixels[i] as f32);
        }
        assert_eq!(floats[[2, 1, 0]], pixels[2 * 4 + 2] as f32);
    }
}

#[test]
fn every_malformed_idx_file_is_its_own_error() {
    let dir = TempDir::new("malformed");
    let good = idx_bytes(0x0D, &[2, 2], &[0; 16]);
    let check = |name: &str, bytes: &[u8], ok: &dyn Fn(&DataError) -> bool, message: &str| {
        for gz in [false, true] {
            let file = format!("{name}-{gz}");
            let p = dir.write(&file, &if gz { gzip(bytes) } else { bytes.to_vec() });
            let err = read_idx(&p).unwrap_err();
            assert!(ok(&err), "{file}: {err:?}");
            let text = err.to_string();
            assert!(text.starts_with(&format!("{}: ", p.display())), "{text}");
            assert!(text.contains(message), "{file}: `{text}` lacks `{message}`");
            assert_eq!(err.path(), Some(p.as_path()));
        }
    };
    assert!(read_idx(dir.write("good", &good)).is_ok());

    check(
        "empty",
        &[],
        &|e| {
            matches!(
                e,
                DataError::Truncated {
                    part: "header",
                    expected: 4,
                    found: 0,
                    ..
                }
            )
        },
        "truncated header: expected 4 bytes, found 0",
    );
    check(
        "short-dims",
        &good[..9],
        &|e| {
            matches!(
                e,
                DataError::Truncated {
                    part: "header",
                    expected: 12,
                    found: 9,
                    ..
                }
            )
        },
        "expected 12 bytes, found 9",
    );
    check(
        "short-data",
        &good[..good.len() - 1],
        &|e| {
            matches!(
                e,
                DataError::Truncated {
                    part: "data",
                    expected: 28,
                    found: 27,
                    ..
                }
            )
        },
        "truncated data: expected 28 bytes, found 27",
    );
    let mut long = good.clone();
    long.extend_from_slice(&[9, 9, 9]);
    check(
        "trailing",
        &long,
        &|e| {
            matches!(
                e,
                DataError::TrailingBytes {
                    expected: 28,
                    found: 31,
                    ..
                }
            )
        },
        "3 trailing bytes",
    );
    let mut bad = good.clone();
    bad[1] = 1;
    check(
        "magic",
        &bad,
        &|e| {
            matches!(
                e,
                DataError::BadMagic {
                    magic: [0, 1, 0x0D, 2],
                    ..
                }
            )
        },
        "not an IDX file",
    );
    check(
        "csv",
        b"1,2,3\n",
        &|e| {
            matches!(
                e,
                DataError::BadMagic {
                    magic: [b'1', b',', b'2', b','],
                    ..
                }
            )
        },
        "31 2c 32 2c",
    );
    let mut bad = good.clone();
    bad[2] = 0x0A;
    check(
        "type",
        &bad,
        &|e| matches!(e, DataError::UnknownType { code: 0x0A, .. }),
        "unknown IDX type code 0x0a",
    );
    // Sizes whose product overflows, so that no allocation is even attempted.
    let huge = idx_bytes(0x08, &[u32::MAX, u32::MAX, u32::MAX, 2], &[1, 2, 3]);
    check(
        "overflow",
        &huge,
        &|e| matches!(e, DataError::DimensionOverflow { dims, .. } if dims == &[u32::MAX, u32::MAX, u32::MAX, 2]),
        "overflow",
    );
    // Huge but representable: the header promises far more than the file holds.
    let big = idx_bytes(0x0E, &[1 << 20, 1 << 20], &[0; 8]);
    check(
        "promises",
        &big,
        &|e| matches!(e, DataError::Truncated { part: "data", expected, found: 20, .. } if *expected == 12 + 8 * (1u64 << 40)),
        "truncated data",
    );
}

#[test]
fn broken_gzip_and_missing_files_are_errors() {
    let dir = TempDir::new("gzip");
    let gz = gzip(&idx_bytes(0x08, &[100], &[7; 100]));
    let cut = dir.write("cut.gz", &gz[..gz.len() / 2]);
    assert!(matches!(read_idx(&cut), Err(DataError::Gzip { .. })));
    let mut bad = gz.clone();
    bad[12] ^= 0xFF; // inside the deflate stream, or the CRC check fails
    let p = dir.write("bad.gz", &bad);
    assert!(
        matches!(read_idx(&p), Err(DataError::Gzip { .. })),
        "{:?}",
        read_idx(&p)
    );
    let missing = dir.path("missing.idx");
    let err = read_idx(&missing).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn idx_arrays_the_format_cannot_hold_are_refused() {
    let dir = TempDir::new("unwritable");
    let many = ArrayD::<u8>::zeros(IxDyn(&[1; 256]));
    let p = dir.path("many.idx");
    assert!(matches!(
        write_idx(&p, &many, false),
        Err(DataError::Unwritable { .. })
    ));
    assert!(!p.exists());
    let fine = ArrayD::<u8>::zeros(IxDyn(&[1; 255]));
    write_idx(&p, &fine, false).unwrap();
    assert_eq!(read_idx(&p).unwrap().shape(), &[1; 255]);
}

#[test]
fn idx_writes_replace_whole_and_a_failed_write_leaves_the_old_file() {
    let dir = TempDir::new("atomic");
    let p = dir.path("a.idx");
    write_idx(&p, &array![1u8, 2, 3], false).unwrap();
    write_idx(&p, &array![4u8, 5], false).unwrap();
    let before = fs::read(&p).unwrap();
    assert_eq!(before, idx_bytes(0x08, &[2], &[4, 5]));
    // A write that fails after its temporary file is made: the target is a non-empty directory.
    let blocked = dir.path("blocked.idx");
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("keep"), b"x").unwrap();
    assert!(matches!(
        write_idx(&blocked, &array![7u8, 8], false),
        Err(DataError::Io { .. })
    ));
    assert_eq!(fs::read(blocked.join("keep")).unwrap(), b"x");
    // The existing file is untouched and no temporary file is left behind.
    assert_eq!(fs::read(&p).unwrap(), before);
    let mut names: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a.idx", "blocked.idx"]);
}

#[cfg(unix)]
#[test]
fn idx_writes_keep_the_mode_and_refuse_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let set = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    let dir = TempDir::new("idx-mode");
    let p = dir.path("a.idx");
    write_idx(&p, &array![1u8, 2, 3], false).unwrap();
    set(&p, 0o600);
    write_idx(&p, &array![4u8, 5], true).unwrap();
    assert_eq!(mode(&p), 0o600);
    let before = fs::read(&p).unwrap();
    set(&p, 0o444);
    match write_idx(&p, &array![6u8], false) {
        Err(e @ DataError::Io { .. }) => assert_eq!(
            e.to_string(),
            format!(
                "{}: the file is read-only (mode 0444): make it writable (`chmod u+w`) to \
                 replace it, or write elsewhere",
                p.display()
            )
        ),
        r => panic!("{r:?}"),
    }
    assert_eq!(fs::read(&p).unwrap(), before);
    assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1);
    set(&p, 0o644);
}

// ---------------------------------------------------------------------------------------------
// MNIST

#[test]
fn mnist_pairs_images_with_labels_scaled_as_asked() {
    let dir = TempDir::new("mnist");
    let pixels: Vec<u8> = (0..5 * 3 * 2).map(|i| (i * 41 % 256) as u8).collect();
    let images = Array3::from_shape_vec((5, 3, 2), pixels.clone()).unwrap();
    let labels = array![3u8, 0, 9, 3, 1];
    let (ip, lp) = (dir.path("images.gz"), dir.path("labels"));
    write_idx(&ip, &images, true).unwrap();
    write_idx(&lp, &labels, false).unwrap();

    for (scale, f) in [
        (PixelScale::Unit, (|v: f64| v / 255.0) as fn(f64) -> f64),
        (PixelScale::Symmetric, |v| v / 127.5 - 1.0),
        (PixelScale::Raw, |v| v),
        (
            PixelScale::Range {
                low: -0.1,
                high: 1.175,
            },
            |v| -0.1 + 1.275 * v / 255.0,
        ),
    ] {
        let data = load_mnist::<f64>(&ip, &lp, scale).unwrap();
        assert_eq!(data.inputs.shape(), &[5, 6]);
        for (got, &byte) in data.inputs.iter().zip(&pixels) {
            assert!(
                (got - f(byte as f64)).abs() < 1e-12,
                "{scale:?}: {got} for {byte}"
            );
        }
        assert_eq!(
            data.labels,
            labels.iter().map(|&l| l as usize).collect::<Vec<_>>()
        );
        assert_eq!(data.classes, 10);
    }
    let data = load_mnist::<f32>(&ip, &lp, PixelScale::Unit).unwrap();
    assert!(data.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
    for (targets, on, off) in [
        (Targets::OneHot, 1.0, 0.0),
        (Targets::PlusMinusOne, 1.0, -1.0),
    ] {
        let t = data.targets(targets);
        assert_eq!(t.shape(), &[5, 10]);
        for (row, &label) in t.rows().into_iter().zip(&data.labels) {
            for (c, &v) in row.iter().enumerate() {
                assert_eq!(v, if c == label { on } else { off });
            }
        }
    }
}

#[test]
fn mnist_images_wider_than_the_limit_are_refused_and_fit_survives_no_rows() {
    let dir = TempDir::new("mnist-wide");
    let ip = dir.write("images", &idx_bytes(0x08, &[0, 1 << 31, 1 << 31], &[]));
    let lp = dir.write("labels", &idx_bytes(0x08, &[0], &[]));
    assert!(matches!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit),
        Err(DataError::Unexpected { .. })
    ));
    let ip = dir.write("images", &idx_bytes(0x08, &[0, 4097, 4096], &[]));
    assert!(matches!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit),
        Err(DataError::Unexpected { .. })
    ));
    let ip = dir.write("images", &idx_bytes(0x08, &[0, 4096, 4096], &[]));
    let data = load_mnist::<f32>(&ip, &lp, PixelScale::Unit).unwrap();
    assert_eq!(data.inputs.dim(), (0, 1 << 24));
    // No rows: fitting allocates nothing up front for the width.
    let norm = Normalizer::fit(&Array2::<f32>::zeros((0, 1000)));
    assert_eq!(norm.width(), 1000);
    assert!(norm.mean().iter().all(|&m| m == 0.0));
    assert!(norm.scale().iter().all(|&s| s == 1.0));
}

#[test]
fn mnist_files_that_do_not_pair_are_errors() {
    let dir = TempDir::new("mnist-bad");
    let (ip, lp) = (dir.path("images"), dir.path("labels"));
    write_idx(&ip, &Array3::<u8>::zeros((4, 2, 2)), false).unwrap();
    write_idx(&lp, &array![1u8, 2, 3], false).unwrap();
    assert!(matches!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit),
        Err(DataError::CountMismatch {
            image_count: 4,
            label_count: 3,
            ..
        })
    ));
    write_idx(&lp, &array![[1u8, 2], [3, 4]], false).unwrap();
    let err = load_mnist::<f32>(&ip, &lp, PixelScale::Unit).unwrap_err();
    assert!(
        matches!(&err, DataError::Unexpected { path, .. } if path == &lp),
        "{err}"
    );
    write_idx(&lp, &array![1u8, 2, 3, 4], false).unwrap();
    write_idx(&ip, &Array3::<f32>::zeros((4, 2, 2)), false).unwrap();
    let err = load_mnist::<f32>(&ip, &lp, PixelScale::Unit).unwrap_err();
    assert!(
        matches!(&err, DataError::Unexpected { path, found, .. } if path == &ip && found.contains("f32")),
        "{err}"
    );
    // A label of 25 (EMNIST letters, say) is not MNIST's: its number of classes is asked for.
    write_idx(&ip, &Array3::<u8>::zeros((4, 2, 2)), false).unwrap();
    write_idx(&lp, &array![1u8, 25, 3, 4], false).unwrap();
    assert!(matches!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit),
        Err(DataError::BadLabel { sample: 1, .. })
    ));
    let data = load_mnist_classes::<f32>(&ip, &lp, PixelScale::Unit, 27).unwrap();
    assert_eq!((data.classes, data.labels.clone()), (27, vec![1, 25, 3, 4]));
    // A malformed file is the reader's error, naming that file.
    fs::write(&lp, idx_bytes(0x08, &[4], &[1, 2, 3])).unwrap();
    let err = load_mnist::<f32>(&ip, &lp, PixelScale::Unit).unwrap_err();
    assert!(
        matches!(&err, DataError::Truncated { path, .. } if path == &lp),
        "{err}"
    );
}

#[test]
fn mnist_labels_outside_the_classes_are_errors_naming_the_file_and_the_sample() {
    let dir = TempDir::new("mnist-labels");
    let (ip, lp) = (dir.path("images"), dir.path("labels.gz"));
    write_idx(&ip, &Array3::<u8>::zeros((5, 2, 2)), false).unwrap();
    // A damaged byte: 200 would have made 201 classes.
    write_idx(&lp, &array![3u8, 9, 0, 200, 10], true).unwrap();
    let err = load_mnist::<f32>(&ip, &lp, PixelScale::Unit).unwrap_err();
    assert!(
        matches!(&err, DataError::BadLabel { path, sample: 3, value, .. } if path == &lp && value == "200"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: sample 3: label `200` is not one of 0 to 9, MNIST's 10 classes (for a data set \
             with more, as EMNIST's, use `load_mnist_classes`)",
            lp.display()
        )
    );
    // 10 is the first label that is not a digit.
    write_idx(&lp, &array![3u8, 9, 0, 1, 10], false).unwrap();
    assert!(matches!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit),
        Err(DataError::BadLabel { sample: 4, .. })
    ));
    // Every digit is a class, the data set has 10 whatever labels it holds.
    write_idx(&lp, &array![0u8, 9, 0, 1, 2], false).unwrap();
    assert_eq!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit)
            .unwrap()
            .classes,
        10
    );
    write_idx(&lp, &array![0u8, 0, 0, 1, 2], false).unwrap();
    assert_eq!(
        load_mnist::<f32>(&ip, &lp, PixelScale::Unit)
            .unwrap()
            .classes,
        10
    );
    // With the classes given: below them, or the same error.
    write_idx(&lp, &array![0u8, 46, 0, 47, 2], false).unwrap();
    let err = load_mnist_classes::<f32>(&ip, &lp, PixelScale::Unit, 47).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: sample 3: label `47` is not one of 0 to 46, the data set's 47 classes",
            lp.display()
        )
    );
    let err = load_mnist_classes::<f32>(&ip, &lp, PixelScale::Unit, 0).unwrap_err();
    assert!(
        matches!(err, DataError::BadLabel { sample: 0, .. }),
        "{err:?}"
    );
    assert_eq!(
        load_mnist_classes::<f32>(&ip, &lp, PixelScale::Unit, 48)
            .unwrap()
            .classes,
        48
    );
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_reads_numbers_with_header_label_column_quotes_and_gzip() {
    let dir = TempDir::new("csv");
    let text = "a, label ,c\n1, 0, 2.5\n\n-3,\"1\",1e-3\n4 ,2,  +7\n";
    let plain = dir.write("t.csv", text.as_bytes());
    let zipped = dir.write("t.dat", &gzip(text.as_bytes()));
    for p in [&plain, &zipped] {
        for column in [Column::Index(1), Column::Name("label".into())] {
            let opts = CsvOptions::new().header(true).label(column);
            let d = read_csv::<f64>(p, &opts).unwrap();
            assert_eq!(d.header, Some(vec!["a".into(), "label".into(), "c".into()]));
            assert_eq!(d.features, array![[1.0, 2.5], [-3.0, 1e-3], [4.0, 7.0]]);
            assert_eq!(d.labels, Some(array![0.0, 1.0, 2.0]));
            assert_eq!(d.label_column, Some(1));
        }
    }
    let d = read_csv::<f32>(&plain, &CsvOptions::new().header(true).label(Column::Last)).unwrap();
    assert_eq!(d.labels, Some(array![2.5f32, 1e-3, 7.0]));
    assert_eq!(d.features.column(1).to_vec(), [0.0, 1.0, 2.0]);
    // No header, no label, another delimiter.
    let p = dir.write("semi.csv", b"1;2\n3;4\n");
    let d = read_csv::<f32>(&p, &CsvOptions::new().delimiter(b';')).unwrap();
    assert_eq!(
        (d.features, d.labels, d.header),
        (array![[1.0, 2.0], [3.0, 4.0]], None, None)
    );
}

#[test]
fn csv_errors_name_the_line_and_column() {
    let dir = TempDir::new("csv-bad");
    let read = |name: &str, text: &str, opts: CsvOptions| {
        let p = dir.write(name, text.as_bytes());
        (read_csv::<f32>(&p, &opts).unwrap_err(), p)
    };
    let (err, p) = read(
        "nan.csv",
        "x,y\n1,2\n3,4\n5,abc\n",
        CsvOptions::new().header(true),
    );
    assert!(
        matches!(&err, DataError::NotANumber { line: 4, column: 2, field, .. } if field == "abc"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 4, column 2: `abc` is not a finite number",
            p.display()
        )
    );
    // The header counts as a line, empty lines too; without a header the first line is data.
    let (err, _) = read("h.csv", "x,y\n1,2\n", CsvOptions::new());
    assert!(
        matches!(
            err,
            DataError::NotANumber {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let (err, _) = read("blank.csv", "1,2\n\n\n1,\n", CsvOptions::new());
    assert!(
        matches!(&err, DataError::NotANumber { line: 4, column: 2, field, .. } if field.is_empty()),
        "{err:?}"
    );
    for bad in ["NaN", "inf", "-inf", "1e999"] {
        let (err, _) = read("nf.csv", &format!("1,2\n3,{bad}\n"), CsvOptions::new());
        assert!(
            matches!(&err, DataError::NotANumber { line: 2, column: 2, field, .. } if field == bad),
            "{bad}: {err:?}"
        );
    }
    let p = dir.write("bytes.csv", b"1,2\n3,\xff4\n");
    let err = read_csv::<f32>(&p, &CsvOptions::new()).unwrap_err();
    assert!(
        matches!(&err, DataError::NotANumber { line: 2, column: 2, field, .. } if field == "\u{fffd}4"),
        "{err:?}"
    );

    let (err, p) = read("ragged.csv", "1,2,3\n4,5,6\n7,8\n", CsvOptions::new());
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 3: 2 fields, but the first record has 3",
            p.display()
        )
    );
    let (err, _) = read(
        "wide.csv",
        "a,b\n1,2\n3,4,5\n",
        CsvOptions::new().header(true),
    );
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 3,
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );

    let (err, _) = read("empty.csv", "", CsvOptions::new());
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    let (err, _) = read("header-only.csv", "a,b\n", CsvOptions::new().header(true));
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    let (err, _) = read(
        "col.csv",
        "1,2\n",
        CsvOptions::new().label(Column::Index(2)),
    );
    assert!(
        matches!(err, DataError::NoColumn { columns: 2, .. }),
        "{err:?}"
    );
    let (err, _) = read(
        "name.csv",
        "a,b\n1,2\n",
        CsvOptions::new()
            .header(true)
            .label(Column::Name("c".into())),
    );
    assert!(
        matches!(&err, DataError::NoColumn { column, .. } if column.contains("`c`")),
        "{err:?}"
    );
    let (err, _) = read(
        "nohdr.csv",
        "1,2\n",
        CsvOptions::new().label(Column::Name("a".into())),
    );
    assert!(matches!(err, DataError::NoColumn { .. }), "{err:?}");
    let gz = gzip(b"1,2\n3,4\n");
    let p = dir.write("cut.csv.gz", &gz[..gz.len() - 6]);
    let err = read_csv::<f32>(&p, &CsvOptions::new()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn csv_label_named_twice_in_the_header_is_an_error() {
    let dir = TempDir::new("csv-twice");
    let p = dir.write("twice.csv", b"a,label,b,label\n1,2,3,4\n5,6,7,8\n");
    let by_name = CsvOptions::new()
        .header(true)
        .label(Column::Name("label".into()));
    let err = read_csv::<f32>(&p, &by_name).unwrap_err();
    assert!(
        matches!(&err, DataError::AmbiguousColumn { column, first: 2, second: 4, .. } if column == "label"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the header names the label column `label` twice, columns 2 and 4: rename one, \
             or choose the label by index (`Column::Index`)",
            p.display()
        )
    );
    assert_eq!(err.path(), Some(p.as_path()));
    // By index, the same file reads; and other columns may share a name.
    let data =
        read_csv::<f32>(&p, &CsvOptions::new().header(true).label(Column::Index(3))).unwrap();
    assert_eq!(data.labels.unwrap().to_vec(), [4.0, 8.0]);
    let p = dir.write("others.csv", b"x,x,y\n1,2,3\n");
    let data = read_csv::<f32>(
        &p,
        &CsvOptions::new()
            .header(true)
            .label(Column::Name("y".into())),
    )
    .unwrap();
    assert_eq!(data.label_column, Some(2));
}

#[test]
fn csv_reads_the_shipped_sunspots() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sunspots.csv");
    let d = read_csv::<f64>(
        &p,
        &CsvOptions::new()
            .header(true)
            .label(Column::Name("SUNACTIVITY".into())),
    )
    .unwrap();
    let text = fs::read_to_string(&p).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(d.features.nrows(), lines.len());
    let labels = d.labels.unwrap();
    for (i, line) in lines.iter().enumerate() {
        let (year, spots) = line.split_once(',').unwrap();
        assert_eq!(
            d.features[[i, 0]],
            year.trim_matches('"').parse::<f64>().unwrap()
        );
        assert_eq!(labels[i], spots.trim_matches('"').parse::<f64>().unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Digits

/// The shipped file parsed by hand, independently of the library.
fn digits_by_hand() -> (Vec<Vec<f32>>, Vec<usize>) {
    let gz = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")).unwrap();
    let text = String::from_utf8(gunzip(&gz)).unwrap();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines() {
        let mut v: Vec<f32> = line.split(',').map(|f| f.parse().unwrap()).collect();
        labels.push(v.pop().unwrap() as usize);
        rows.push(v);
    }
    (rows, labels)
}

#[test]
fn digits_load_with_the_files_shape_values_and_labels() {
    let (rows, labels) = digits_by_hand();
    let data = digits();
    assert_eq!(data.inputs.shape(), &[rows.len(), 64]);
    assert_eq!(data.len(), 1797, "the README's count");
    assert_eq!(data.labels, labels);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(data.inputs.row(i).to_vec(), *row, "row {i}");
    }
    assert_eq!(data.classes, 10);
    assert!(data.labels.iter().all(|&l| l < 10));
    let counts = data.class_counts();
    assert!(
        counts.iter().all(|&c| c > 150),
        "every digit is there: {counts:?}"
    );
    assert!(
        data.inputs
            .iter()
            .all(|&p| p.fract() == 0.0 && (0.0..=16.0).contains(&p))
    );
    // The file on disk reads the same, in f64 too.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz");
    assert_eq!(load_digits::<f32>(&path).unwrap(), data);
    assert_eq!(load_digits::<f64>(&path).unwrap(), data.cast::<f64>());
}

#[test]
fn load_digits_refuses_other_layouts() {
    let dir = TempDir::new("digits-bad");
    let row = |label: &str| format!("{}{label}\n", "0,".repeat(64));
    let p = dir.write("ok.csv", (row("3") + &row("9")).as_bytes());
    assert_eq!(load_digits::<f32>(&p).unwrap().labels, [3, 9]);
    for (name, text) in [
        ("ten", row("3") + &row("10")),
        ("half", row("2.5") + &row("1")),
        ("neg", row("-1")),
    ] {
        let p = dir.write(name, text.as_bytes());
        let err = load_digits::<f32>(&p).unwrap_err();
        assert!(matches!(err, DataError::BadLabel { .. }), "{name}: {err:?}");
    }
    let p = dir.write("narrow", b"1,2,3\n");
    assert!(matches!(
        load_digits::<f32>(&p),
        Err(DataError::Unexpected { .. })
    ));
}

#[test]
fn the_split_is_deterministic_per_seed_disjoint_and_stratified() {
    let data = digits();
    let n = data.len();
    let (train, test) = split_indices(&data.labels, 0.25, 11);
    assert_eq!(
        (train.clone(), test.clone()),
        split_indices(&data.labels, 0.25, 11)
    );
    assert_ne!(
        test,
        split_indices(&data.labels, 0.25, 12).1,
        "another seed, another split"
    );
    assert_eq!(test.len(), (0.25 * n as f64).round() as usize);
    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "disjoint and complete");
    assert!(train.windows(2).all(|w| w[0] < w[1]) && test.windows(2).all(|w| w[0] < w[1]));
    // Each class gives a quarter of its samples, up to rounding.
    let counts = data.class_counts();
    for (class, &count) in counts.iter().enumerate() {
        let in_test = test.iter().filter(|&&i| data.labels[i] == class).count() as f64;
        assert!(
            (in_test - 0.25 * count as f64).abs() < 1.0,
            "class {class}: {in_test} of {count}"
        );
    }
    // Dataset::split selects those same rows.
    let (tr, te) = data.split(0.25, 11);
    assert_eq!(tr.inputs, data.inputs.select(Axis(0), &train));
    assert_eq!(
        te.labels,
        test.iter().map(|&i| data.labels[i]).collect::<Vec<_>>()
    );
    // The extremes.
    assert_eq!(split_indices(&data.labels, 0.0, 1).1.len(), 0);
    assert_eq!(split_indices(&data.labels, 1.0, 1).0.len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Normaliser

#[test]
fn the_normaliser_gives_mean_zero_and_unit_scale_on_its_training_data() {
    let data = digits();
    let (mut train, mut test) = data.split(0.3, 5);
    let norm = Normalizer::fit(&train.inputs);
    assert_eq!(norm.width(), 64);
    let constant: Vec<bool> = train
        .inputs
        .columns()
        .into_iter()
        .map(|c| c.iter().all(|&v| v == c[0]))
        .collect();
    assert!(
        constant.iter().any(|&c| c),
        "the digits have blank border pixels"
    );
    assert!(constant.iter().any(|&c| !c));
    norm.apply(&mut train.inputs);
    let n = train.len() as f64;
    for (j, column) in train.inputs.columns().into_iter().enumerate() {
        let mean = column.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = column
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(mean.abs() < 1e-5, "column {j}: mean {mean}");
        if constant[j] {
            assert!(column.iter().all(|&v| v == 0.0), "constant column {j}");
            assert_eq!(norm.scale()[j], 1.0);
        } else {
            assert!(
                (var.sqrt() - 1.0).abs() < 1e-5,
                "column {j}: sd {}",
                var.sqrt()
            );
        }
    }
    norm.apply(&mut test.inputs);
    assert!(test.inputs.iter().all(|v| v.is_finite()));
    // `transform` and `apply_row` agree with `apply`.
    let raw = data.select(&[0, 1, 2]).inputs;
    let mut by_rows = raw.clone();
    for mut row in by_rows.rows_mut() {
        norm.apply_row(row.as_slice_mut().unwrap());
    }
    assert_eq!(norm.transform(&raw), by_rows);
}

#[test]
fn the_normaliser_survives_the_tensors_round_trip() {
    let data: Array2<f32> = Array::from_shape_fn((50, 4), |(i, j)| {
        ((i * 7 + j * 13) % 11) as f32 * (j as f32 + 0.5) - 3.0
    });
    let norm = Normalizer::fit(&data);
    let tensors = norm.tensors();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["normalize.mean", "normalize.scale"]);
    assert_eq!(tensors[0].1, norm.mean());
    assert_eq!(tensors[1].1, norm.scale());
    let back = Normalizer::from_tensors(&tensors).unwrap();
    assert_eq!(back, norm);
    assert_eq!(back.transform(&data), norm.transform(&data));
    // Among other tensors, as borrowed slices, under another prefix.
    let other = Normalizer::fit(&data.slice(bpnet::ndarray::s![..10, ..]));
    let mut saved: Vec<(String, Vec<f32>)> = vec![("linear1.W".into(), vec![1.0; 8])];
    saved.extend(norm.tensors());
    saved.extend(other.tensors_with_prefix("targets"));
    assert_eq!(Normalizer::from_tensors(&saved).unwrap(), norm);
    assert_eq!(
        Normalizer::from_tensors_with_prefix("targets", &saved).unwrap(),
        other
    );
    let borrowed: Vec<(&str, &[f32])> = saved
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    assert_eq!(Normalizer::from_tensors(&borrowed).unwrap(), norm);

    let tensor_error = |t: &[(&str, Vec<f32>)]| match Normalizer::<f32>::from_tensors(t) {
        Err(DataError::Tensor { name, problem }) => (name, problem),
        other => panic!("{other:?}"),
    };
    let m = norm.mean().to_vec();
    let s = norm.scale().to_vec();
    let (name, problem) = tensor_error(&[("normalize.mean", m.clone())]);
    assert_eq!(
        (name.as_str(), problem.as_str()),
        ("normalize.scale", "missing")
    );
    let (name, _) = tensor_error(&[
        ("normalize.mean", m.clone()),
        ("normalize.scale", s[..3].to_vec()),
    ]);
    assert_eq!(name, "normalize.scale");
    let mut zero = s.clone();
    zero[2] = 0.0;
    let (name, problem) = tensor_error(&[("normalize.mean", m.clone()), ("normalize.scale", zero)]);
    assert!(
        name == "normalize.scale" && problem.contains("value 2"),
        "{problem}"
    );
    let mut nan = m.clone();
    nan[1] = f32::NAN;
    let (name, _) = tensor_error(&[("normalize.mean", nan), ("normalize.scale", s.clone())]);
    assert_eq!(name, "normalize.mean");
    let (_, problem) = tensor_error(&[
        ("normalize.mean", m.clone()),
        ("normalize.mean", m),
        ("normalize.scale", s),
    ]);
    assert!(problem.contains("more than once"));
}

#[test]
fn datasets_cast_select_and_encode_consistently() {
    let d = Dataset::new(
        array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]],
        vec![2, 0, 1],
        3,
    );
    let s = d.select(&[2, 0]);
    assert_eq!(s.inputs, array![[5.0, 6.0], [1.0, 2.0]]);
    assert_eq!(s.labels, [1, 2]);
    let t = d.targets(Targets::Custom { on: 0.8, off: -0.8 });
    let argmax: Vec<usize> = t
        .rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0
        })
        .collect();
    assert_eq!(argmax, d.labels);
    assert_eq!(d.cast::<f64>().inputs, d.inputs.mapv(f64::from));
}
