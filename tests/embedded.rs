//! The deployed networks against the trained ones, bit for bit: the embedded crate
//! (`examples/embedded`, `#![no_std]` without a heap, bpnet without its `std` feature) is built
//! here for this machine's target, its `outputs` program (a no_std binary, started by the C
//! library) prints what the networks compute from the parameters compiled into it, and the same
//! declarations, loaded with the same parameters, are run here with std.
//!
//! Building the crate is itself a check: a no_std binary without a global allocator does not link
//! if anything in it needs `alloc`, and its panic handler would clash with std's if anything
//! linked std.

use bpnet::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

include!("../examples/embedded/src/nets.rs");

mod sine_params {
    use super::Sine;
    include!("../examples/embedded/src/params/sine.rs");
}

mod coverage {
    use bpnet::prelude::*;
    include!("../examples/embedded/src/coverage.rs");
}

mod sunspots_params {
    use super::Sunspots;
    include!("../examples/embedded/src/params/sunspots.rs");
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the embedded crate (release, its own target directory) and returns its `outputs`
/// program.
fn build_embedded() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = root().join("target/embedded");
    // Warnings denied: the crate, and bpnet built without std, compile cleanly.
    let status = Command::new(cargo)
        .env("RUSTFLAGS", "-D warnings")
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(root().join("examples/embedded/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the embedded crate does not build");
    let staticlib = target.join("release/libbpnet_embedded.a");
    assert!(
        staticlib.is_file(),
        "no staticlib at {}",
        staticlib.display()
    );
    target.join("release/outputs")
}

/// The inputs `outputs` uses for the sunspot forecaster (the same formula).
fn year(t: usize) -> f32 {
    let phase = (t % 11) as f32 / 11.0 * 2.0 - 1.0;
    0.5 + 0.4 * (1.0 - 2.0 * phase * phase)
}

/// What the std build computes: the trained networks' `run`, with the exported parameters.
fn std_outputs() -> Vec<u32> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut sine = Sine::new(&mut rng);
    sine.params_mut().copy_from_slice(&sine_params::PARAMS);
    let mut sunspots = Sunspots::new(&mut rng);
    sunspots
        .params_mut()
        .copy_from_slice(&sunspots_params::PARAMS);
    let mut out: Vec<u32> = (0..=64)
        .map(|i| sine.run(&[i as f32 / 32.0 - 1.0])[0].to_bits())
        .collect();
    for t in 0..40 {
        let values = sunspots.run_continued(&[[year(t)]]).unwrap();
        out.push(values.last().unwrap()[0].to_bits());
    }
    // The training networks of `coverage.rs`, in evaluation (dropout off), with the same
    // parameters.
    let mut maps = coverage::Maps::new(&mut rng);
    maps.params_mut()
        .copy_from_slice(&coverage::coverage_params::<{ coverage::Maps::PARAMS }>(1));
    maps.set_training(false);
    for k in 0..3 {
        let x: [f32; 64] = core::array::from_fn(|i| year(i + k) - 0.5);
        out.extend(maps.run(&x).iter().map(|v| v.to_bits()));
    }
    let mut pooled = coverage::Pooled::new(&mut rng);
    pooled.params_mut().copy_from_slice(
        &coverage::coverage_params::<{ coverage::Pooled::PARAMS }>(2),
    );
    let seq: Vec<[f32; 2]> = (0..8).map(|t| [year(t), year(t + 5) - 0.5]).collect();
    for t in 0..8 {
        // Over the steps so far, as `run_step` computes it step by step.
        out.extend(pooled.run(&seq[..=t]).unwrap().iter().map(|v| v.to_bits()));
    }
    out
}

#[test]
fn the_no_std_build_gives_the_std_build_s_bits() {
    let program = build_embedded();
    let printed = Command::new(&program).output().expect("outputs runs");
    assert!(printed.status.success(), "{}", printed.status);
    let text = String::from_utf8(printed.stdout).unwrap();
    let deployed: Vec<u32> = text
        .lines()
        .map(|l| u32::from_str_radix(l, 16).unwrap())
        .collect();
    let want = std_outputs();
    assert_eq!(deployed.len(), want.len(), "{text}");
    for (i, (d, w)) in deployed.iter().zip(&want).enumerate() {
        assert_eq!(
            d,
            w,
            "output {i}: deployed {} vs std {}",
            f32::from_bits(*d),
            f32::from_bits(*w)
        );
    }
    // The forecaster is not constant: the recurrent state moves between calls.
    assert!(want[65..105].windows(2).any(|w| w[0] != w[1]));
}

/// The committed parameter files are what `export_rust` writes for their values: the format is
/// stable, and every value reads back to its bits.
#[test]
fn the_parameter_files_are_export_rust_s() {
    let dir = root().join("examples/embedded/src/params");
    let cases = [
        (
            "sine.rs",
            bpnet::io::rust_source("Sine", Sine::MODULES, &sine_params::PARAMS).unwrap(),
        ),
        (
            "sunspots.rs",
            bpnet::io::rust_source("Sunspots", Sunspots::MODULES, &sunspots_params::PARAMS)
                .unwrap(),
        ),
    ];
    for (file, want) in cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(text, want, "{file}");
    }
}
