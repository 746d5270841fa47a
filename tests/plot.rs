//! PNG charts and DOT files: valid PNGs of the requested size, pictures that follow the data,
//! errors instead of panics on bad input, and atomic writes that leave an old file untouched
//! when they fail.

use std::fs;
use std::path::{Path, PathBuf};

use bpnet::plot::{self, CurveOptions, HeatMapOptions, MIN_SIZE, PlotErrorKind};
use bpnet::prelude::*;

network! {
    /// The lecture's two-layer net, for its DOT.
    pub struct TwoLayer {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

/// A fresh directory under the system's temporary one, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bpnet-plot-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names of the files in the directory, sorted: no temporary file may be left behind.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// CRC-32 (ISO-HDLC, as in PNG chunks), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Checks the PNG signature and its first chunk, IHDR (length 13, a valid CRC, 8-bit RGB), and
/// that the file ends with an IEND chunk; returns the width and height.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = fs::read(path).unwrap();
    assert!(bytes.len() > 8 + 8 + 13 + 4 + 12, "{} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(be(8), 13, "IHDR length");
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(be(29), crc32(&bytes[12..29]), "IHDR CRC");
    let (bit_depth, colour_type) = (bytes[24], bytes[25]);
    assert_eq!((bit_depth, colour_type), (8, 2), "8-bit RGB");
    let end = bytes.len() - 12;
    assert_eq!(&bytes[end..], b"\0\0\0\0IEND\xae\x42\x60\x82", "IEND");
    (be(16), be(20))
}

fn curve_a() -> Vec<f64> {
    (0..30).map(|i| 1.0 / (1.0 + i as f64)).collect()
}

fn curve_b() -> Vec<f64> {
    (0..30)
        .map(|i| 1.2 / (1.0 + 0.5 * i as f64) + 0.05)
        .collect()
}

/// The 1-1-1 net's loss (0.5 − tanh(w1 tanh(w0 / 2)))² sampled at the centres of a grid over
/// [-4, 4]², `n` cells a side, row 0 at the bottom.
fn landscape(n: usize) -> Vec<f64> {
    let centre = |i: usize| -4.0 + 8.0 * (i as f64 + 0.5) / n as f64;
    (0..n)
        .flat_map(|r| {
            (0..n).map(move |c| (0.5 - (centre(r) * (centre(c) * 0.5).tanh()).tanh()).powi(2))
        })
        .collect()
}

#[test]
fn loss_curves_are_pngs_of_the_requested_size() {
    let dir = TempDir::new("curve-size");
    let (a, b) = (curve_a(), curve_b());
    let series: [(&str, &[f64]); 2] = [("train", &a), ("validation", &b)];
    let path = dir.join("default.png");
    plot::loss_curves(&path, &series, &CurveOptions::new()).unwrap();
    assert_eq!(png_size(&path), (800, 500));
    let path = dir.join("custom.png");
    let options = CurveOptions::new()
        .size(333, 251)
        .title("XOR")
        .log_scale(true);
    plot::loss_curves(&path, &series, &options).unwrap();
    assert_eq!(png_size(&path), (333, 251));
    assert_eq!(dir.names(), ["custom.png", "default.png"]);
}

#[test]
fn loss_curves_follow_the_data_and_the_options() {
    let dir = TempDir::new("curve-differ");
    let (a, b) = (curve_a(), curve_b());
    let draw = |name: &str, series: &[(&str, &[f64])], options: &CurveOptions| {
        let path = dir.join(name);
        plot::loss_curves(&path, series, options).unwrap();
        fs::read(path).unwrap()
    };
    let o = CurveOptions::new();
    let first = draw("a.png", &[("train", &a)], &o);
    // Drawing is deterministic, so a difference below comes from what changed.
    assert_eq!(first, draw("a-again.png", &[("train", &a)], &o));
    assert_ne!(first, draw("b.png", &[("train", &b)], &o));
    assert_ne!(first, draw("ab.png", &[("train", &a), ("valid", &b)], &o));
    assert_ne!(
        first,
        draw("log.png", &[("train", &a)], &o.clone().log_scale(true))
    );
    assert_ne!(
        first,
        draw("title.png", &[("train", &a)], &o.clone().title("A title"))
    );
    assert_ne!(first, draw("name.png", &[("training", &a)], &o));
    assert_ne!(
        first,
        draw("x.png", &[("train", &a)], &o.clone().x_axis(0.0, 10.0))
    );
}

#[test]
fn non_finite_values_are_skipped() {
    let dir = TempDir::new("curve-nan");
    let mut a = curve_a();
    a[3] = f64::NAN;
    a[10] = f64::INFINITY;
    a[12] = f64::NEG_INFINITY;
    let b = [f64::NAN, 0.5, f64::NAN]; // one drawable value between two skipped ones: a dot
    let series: [(&str, &[f64]); 3] = [("train", &a), ("valid", &b), ("empty", &[])];
    let path = dir.join("nan.png");
    plot::loss_curves(&path, &series, &CurveOptions::new()).unwrap();
    assert_eq!(png_size(&path), (800, 500));
    // On a log scale zero and negative values are skipped too.
    let c = [0.0, -1.0, 0.5, 0.25, 0.0, 0.1];
    let path = dir.join("log.png");
    let log = CurveOptions::new().log_scale(true);
    plot::loss_curves(&path, &[("train", &c)], &log).unwrap();
    assert_eq!(png_size(&path), (800, 500));
    // A single value, and a constant series, still make a chart.
    plot::loss_curves(dir.join("one.png"), &[("", &[0.3])], &CurveOptions::new()).unwrap();
    plot::loss_curves(dir.join("one-log.png"), &[("x", &[0.3])], &log).unwrap();
    plot::loss_curves(
        dir.join("flat.png"),
        &[("x", &[0.0; 5])],
        &CurveOptions::new(),
    )
    .unwrap();
}

#[test]
fn curves_with_nothing_to_draw_are_errors_and_write_nothing() {
    let dir = TempDir::new("curve-errors");
    let path = dir.join("never.png");
    let o = CurveOptions::new();
    let log = CurveOptions::new().log_scale(true);
    type Series<'a> = &'a [(&'a str, &'a [f64])];
    let no_data: [(Series, &CurveOptions); 5] = [
        (&[], &o),
        (&[("train", &[]), ("valid", &[])], &o),
        (&[("train", &[f64::NAN, f64::INFINITY])], &o),
        (&[("train", &[0.0, -1.0, f64::NAN])], &log),
        (&[("", &[f64::NEG_INFINITY])], &log),
    ];
    for (series, options) in no_data {
        let err = plot::loss_curves(&path, series, options).unwrap_err();
        assert!(matches!(err.kind(), PlotErrorKind::NoData), "{err}");
        assert_eq!(err.path(), path);
        assert!(err.to_string().contains("never.png"), "{err}");
    }
    let a = curve_a();
    let series: [(&str, &[f64]); 1] = [("train", &a)];
    for (w, h) in [
        (0, 0),
        (MIN_SIZE.0 - 1, 400),
        (400, MIN_SIZE.1 - 1),
        (100_000, 400),
    ] {
        let err = plot::loss_curves(&path, &series, &o.clone().size(w, h)).unwrap_err();
        assert!(
            matches!(err.kind(), PlotErrorKind::Size { width, height } if (*width, *height) == (w, h)),
            "{err}"
        );
    }
    for (start, step) in [
        (1.0, 0.0),
        (1.0, -1.0),
        (f64::NAN, 1.0),
        (0.0, f64::INFINITY),
    ] {
        let err = plot::loss_curves(&path, &series, &o.clone().x_axis(start, step)).unwrap_err();
        assert!(matches!(err.kind(), PlotErrorKind::Invalid(_)), "{err}");
    }
    // Values whose span overflows f64.
    let huge = [-f64::MAX, f64::MAX];
    let err = plot::loss_curves(&path, &[("huge", &huge)], &o).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Invalid(_)), "{err}");
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn heat_maps_are_pngs_of_the_requested_size() {
    let dir = TempDir::new("heat-size");
    let grid = landscape(41);
    let path = dir.join("default.png");
    plot::heat_map(&path, &grid, 41, &HeatMapOptions::new()).unwrap();
    assert_eq!(png_size(&path), (720, 600));
    let path = dir.join("custom.png");
    let options = HeatMapOptions::new()
        .size(411, 307)
        .title("L(W0, W1)")
        .x_axis("W0", -4.0, 4.0)
        .y_axis("W1", -4.0, 4.0)
        .value_label("loss");
    plot::heat_map(&path, &grid, 41, &options).unwrap();
    assert_eq!(png_size(&path), (411, 307));
    // A grid of one cell, one row, one column.
    plot::heat_map(dir.join("1x1.png"), &[0.5], 1, &options).unwrap();
    plot::heat_map(dir.join("row.png"), &[1.0, 2.0, 3.0], 3, &options).unwrap();
    plot::heat_map(dir.join("col.png"), &[1.0, 2.0, 3.0], 1, &options).unwrap();
    assert_eq!(png_size(&dir.join("col.png")), (411, 307));
}

#[test]
fn heat_maps_of_different_grids_differ() {
    let dir = TempDir::new("heat-differ");
    let options = HeatMapOptions::new()
        .x_axis("W0", -4.0, 4.0)
        .y_axis("W1", -4.0, 4.0);
    let draw = |name: &str, grid: &[f64], cols: usize, options: &HeatMapOptions| {
        let path = dir.join(name);
        plot::heat_map(&path, grid, cols, options).unwrap();
        fs::read(path).unwrap()
    };
    let grid = landscape(21);
    let first = draw("a.png", &grid, 21, &options);
    assert_eq!(first, draw("a-again.png", &grid, 21, &options));
    // One cell changed.
    let mut one_cell = grid.clone();
    one_cell[5 * 21 + 7] += 0.3;
    assert_ne!(first, draw("cell.png", &one_cell, 21, &options));
    // The same values upside down (rows reversed): row 0 is the bottom row.
    let flipped: Vec<f64> = grid.chunks(21).rev().flatten().copied().collect();
    assert_ne!(first, draw("flipped.png", &flipped, 21, &options));
    // A finer grid of the same function, and a fixed colour scale.
    assert_ne!(first, draw("fine.png", &landscape(42), 42, &options));
    let fixed = options.clone().value_range(0.0, 2.0);
    assert_ne!(first, draw("fixed.png", &grid, 21, &fixed));
}

#[test]
fn heat_map_cells_without_a_value_are_grey_not_errors() {
    let dir = TempDir::new("heat-nan");
    let mut grid = landscape(10);
    grid[0] = f64::NAN;
    grid[11] = f64::INFINITY;
    grid[22] = f64::NEG_INFINITY;
    let path = dir.join("nan.png");
    plot::heat_map(&path, &grid, 10, &HeatMapOptions::new()).unwrap();
    assert_eq!(png_size(&path), (720, 600));
    let with_nan = fs::read(&path).unwrap();
    plot::heat_map(&path, &landscape(10), 10, &HeatMapOptions::new()).unwrap();
    assert_ne!(with_nan, fs::read(&path).unwrap());
    // A constant grid has a colour scale around its value.
    plot::heat_map(dir.join("flat.png"), &[0.25; 12], 4, &HeatMapOptions::new()).unwrap();
    plot::heat_map(dir.join("zeros.png"), &[0.0; 12], 4, &HeatMapOptions::new()).unwrap();
}

#[test]
fn bad_grids_and_ranges_are_errors_and_write_nothing() {
    let dir = TempDir::new("heat-errors");
    let path = dir.join("never.png");
    let o = HeatMapOptions::new();
    for (grid, cols) in [
        (&[][..], 3),
        (&[][..], 0),
        (&[1.0, 2.0][..], 0),
        (&[1.0; 7][..], 3),
    ] {
        let err = plot::heat_map(&path, grid, cols, &o).unwrap_err();
        assert!(
            matches!(err.kind(), PlotErrorKind::Grid { len, cols: c } if *len == grid.len() && *c == cols),
            "{err}"
        );
        assert_eq!(err.path(), path);
    }
    let err = plot::heat_map(&path, &[f64::NAN; 6], 3, &o).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::NoData), "{err}");
    let bad_ranges = [
        o.clone().x_axis("x", 1.0, 1.0),
        o.clone().x_axis("x", 1.0, -1.0),
        o.clone().y_axis("y", f64::NAN, 1.0),
        o.clone().y_axis("y", 0.0, f64::INFINITY),
        o.clone().x_axis("x", -f64::MAX, f64::MAX),
        o.clone().value_range(2.0, 1.0),
        o.clone().value_range(0.0, f64::NAN),
    ];
    for options in &bad_ranges {
        let err = plot::heat_map(&path, &[1.0, 2.0], 2, options).unwrap_err();
        assert!(matches!(err.kind(), PlotErrorKind::Invalid(_)), "{err}");
    }
    let err = plot::heat_map(&path, &[1.0], 1, &o.clone().size(0, 0)).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Size { .. }), "{err}");
    let err = plot::heat_map(&path, &[-f64::MAX, f64::MAX], 2, &o).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Invalid(_)), "{err}");
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn failed_writes_leave_an_existing_file_untouched() {
    let dir = TempDir::new("untouched");
    let a = curve_a();
    let series: [(&str, &[f64]); 1] = [("train", &a)];
    let o = CurveOptions::new();

    // Bad input: the old file stays as it was.
    let old = dir.join("old.png");
    fs::write(&old, b"the old picture").unwrap();
    let err = plot::loss_curves(&old, &[("train", &[f64::NAN])], &o).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::NoData));
    let err = plot::heat_map(&old, &[1.0; 5], 2, &HeatMapOptions::new()).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Grid { .. }));
    assert_eq!(fs::read(&old).unwrap(), b"the old picture");

    // A path under a file (not a directory): an I/O error naming the path, the file unchanged.
    let under_file = old.join("chart.png");
    let err = plot::loss_curves(&under_file, &series, &o).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");
    assert_eq!(err.path(), under_file);
    assert!(err.to_string().contains("old.png/chart.png"), "{err}");
    let err = plot::write_dot(&under_file, TwoLayer::DOT).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");
    assert_eq!(fs::read(&old).unwrap(), b"the old picture");

    // A directory that does not exist.
    let missing = dir.join("missing").join("chart.png");
    let err = plot::heat_map(&missing, &[1.0], 1, &HeatMapOptions::new()).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");
    assert!(std::error::Error::source(&err).is_some());

    // The path is a directory with a file in it: the chart is drawn, then cannot replace it;
    // the directory and its file stay, and no temporary file is left behind.
    let taken = dir.join("taken.png");
    fs::create_dir(&taken).unwrap();
    fs::write(taken.join("keep.txt"), b"keep me").unwrap();
    let err = plot::loss_curves(&taken, &series, &o).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");
    let err = plot::heat_map(&taken, &[1.0, 2.0], 2, &HeatMapOptions::new()).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");
    let err = plot::write_dot(&taken, TwoLayer::DOT).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");
    assert_eq!(fs::read(taken.join("keep.txt")).unwrap(), b"keep me");

    // A path that names no file.
    let err = plot::write_dot(dir.join(".."), TwoLayer::DOT).unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::Io(_)), "{err}");

    assert_eq!(dir.names(), ["old.png", "taken.png"]);
    // And a successful write replaces the old file whole.
    plot::loss_curves(&old, &series, &o).unwrap();
    assert_eq!(png_size(&old), (800, 500));
    assert_eq!(dir.names(), ["old.png", "taken.png"]);
}

#[test]
fn dot_files_round_trip() {
    let dir = TempDir::new("dot");
    let path = dir.join("two_layer.dot");
    plot::write_dot(&path, TwoLayer::DOT).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), TwoLayer::DOT);
    assert!(TwoLayer::DOT.starts_with("digraph"));
    // Replacing an existing file, with a shorter text: nothing of the old one is left.
    let short = "digraph g { a -> b; }\n";
    plot::write_dot(&path, short).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), short);
    // Text beyond ASCII is written as given (UTF-8).
    let unicode = "digraph \"é\" { \"→\" -> \"W₀\"; }";
    plot::write_dot(&path, unicode).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), unicode);
    assert_eq!(dir.names(), ["two_layer.dot"]);
}

#[cfg(unix)]
#[test]
fn writing_over_a_picture_keeps_its_mode_and_refuses_a_read_only_one() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let set = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    let dir = TempDir::new("dot-mode");
    let path = dir.join("net.dot");
    plot::write_dot(&path, TwoLayer::DOT).unwrap();
    // The DOT writer fills a file of its own and moves it into the temporary file's place.
    set(&path, 0o600);
    plot::write_dot(&path, "digraph g {}").unwrap();
    assert_eq!(mode(&path), 0o600);
    set(&path, 0o444);
    let err = plot::write_dot(&path, TwoLayer::DOT).unwrap_err();
    assert!(
        matches!(err.kind(), PlotErrorKind::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied),
        "{err}"
    );
    assert!(err.to_string().contains("read-only (mode 0444)"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "digraph g {}");
    assert_eq!(dir.names(), ["net.dot"]);
    set(&path, 0o644);
}

/// Runs `f` on its own thread and fails if it takes more than 20 seconds, so that a hang in the
/// drawing library fails the test instead of stalling CI.
fn within_20s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(v) => v,
        Err(e) => panic!("{what}: no answer within 20 s ({e}); the plot hangs"),
    }
}

#[test]
fn log_scales_of_tiny_values_or_too_many_decades_do_not_hang() {
    let dir = TempDir::new("log-extremes");
    let log = CurveOptions::new().log_scale(true);
    // Values below MIN_LOG_VALUE are skipped like zero: the rest is drawn.
    let (path, o) = (dir.join("tiny.png"), log.clone());
    within_20s("[1e-308, 2.0]", move || {
        plot::loss_curves(&path, &[("train", &[1e-308, 2.0])], &o)
    })
    .unwrap();
    let (path, o) = (dir.join("subnormal.png"), log.clone());
    within_20s("[5e-324, 1e-310, 0.5]", move || {
        plot::loss_curves(&path, &[("train", &[5e-324, 1e-310, 0.5])], &o)
    })
    .unwrap();
    // Only tiny values: nothing to draw.
    let (path, o) = (dir.join("never.png"), log.clone());
    let err = within_20s("[1e-308]", move || {
        plot::loss_curves(&path, &[("train", &[1e-308, 1e-320])], &o)
    })
    .unwrap_err();
    assert!(matches!(err.kind(), PlotErrorKind::NoData), "{err}");
    // More than MAX_LOG_DECADES powers of ten: an error, not a hang.
    for (i, values) in [[1e-300, 1e10], [1e-300, 1e6], [1e-200, f64::MAX]]
        .into_iter()
        .enumerate()
    {
        let (path, o) = (dir.join(&format!("never-{i}.png")), log.clone());
        let err = within_20s(&format!("{values:?}"), move || {
            plot::loss_curves(&path, &[("train", &values)], &o)
        })
        .unwrap_err();
        assert!(matches!(err.kind(), PlotErrorKind::Invalid(_)), "{err}");
        assert!(err.to_string().contains("powers of ten"), "{err}");
    }
    // Wide spans up to the limit still draw.
    for (i, values) in [[1e-300, 10.0], [1e-20, 1e20], [1e-300, 1e5], [1e3, 1e300]]
        .into_iter()
        .enumerate()
    {
        let (path, o) = (dir.join(&format!("wide-{i}.png")), log.clone());
        within_20s(&format!("{values:?}"), move || {
            plot::loss_curves(&path, &[("train", &values)], &o)
        })
        .unwrap_or_else(|e| panic!("{values:?}: {e}"));
    }
    let names = dir.names();
    assert!(!names.iter().any(|n| n.contains("never")), "{names:?}");
    assert_eq!(names.len(), 6, "{names:?}");
}
