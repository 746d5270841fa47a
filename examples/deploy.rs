//! Train, export, include: the first two steps of deploying a network without std.
//!
//! Trains the two networks the embedded crate runs (`examples/embedded/src/nets.rs`, the same
//! declarations included here): `Sine`, a 1-16-1 regressor of `sin(πx)`, and `Sunspots`, an Elman
//! network forecasting next year's sunspot number (`data/sunspots.csv`, the years up to 1920,
//! scaled by their largest value). Then writes each network's parameters as Rust source
//! (`bpnet::io::export_rust`) into `examples/embedded/src/params/`, or the directory given as
//! the first argument. The third step is the embedded crate's: it `include!`s those files
//! beside the same declarations and runs `Sine::frozen(&PARAMS)` without std or a heap.
//!
//! Run it with `cargo run --release --example deploy [DIR]`.

use bpnet::prelude::*;
use std::path::PathBuf;

include!("embedded/src/nets.rs");

const SEED: u64 = 16;

/// `Sine` by the lecture's cycle, fused (`train_sgd`), on 64 points of `[-1, 1]`.
fn train_sine() -> Sine {
    let mut net = Sine::new(&mut StdRng::seed_from_u64(SEED));
    let xs: Vec<f32> = (0..64).map(|i| i as f32 / 31.5 - 1.0).collect();
    for _ in 0..3000 {
        for &x in &xs {
            let y = (std::f32::consts::PI * x).sin();
            net.train_sgd(&[x], &[y], 0.02);
        }
    }
    net
}

/// The yearly sunspot numbers up to 1920, scaled to `[0, 1]`.
fn sunspot_years() -> Result<Vec<[f32; 1]>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sunspots.csv"))?;
    let mut values = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (year, value) = line.split_once(',').ok_or("a line without two columns")?;
        if year.trim().parse::<i32>()? <= 1920 {
            values.push(value.trim().parse::<f32>()?);
        }
    }
    let top = values.iter().cloned().fold(0.0, f32::max);
    Ok(values.iter().map(|v| [v / top]).collect())
}

/// `Sunspots` by truncated back-propagation through time over chunks of 16 years.
fn train_sunspots(years: &[[f32; 1]]) -> Result<Sunspots, bpnet::Error> {
    let mut net = Sunspots::new(&mut StdRng::seed_from_u64(SEED));
    let (xs, ys) = (&years[..years.len() - 1], &years[1..]);
    for _ in 0..300 {
        for (k, (x, y)) in xs.chunks(16).zip(ys.chunks(16)).enumerate() {
            if k == 0 {
                net.fprop(x, y)?;
            } else {
                net.fprop_continued(x, y)?;
            }
            net.zero_grad();
            net.bprop();
            net.sgd_step(0.01);
        }
    }
    Ok(net)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/embedded/src/params"
            ))
        },
        PathBuf::from,
    );
    let mut sine = train_sine();
    let worst = (0..=64)
        .map(|i| i as f32 / 32.0 - 1.0)
        .map(|x| (sine.run(&[x])[0] - (std::f32::consts::PI * x).sin()).abs())
        .fold(0.0, f32::max);
    println!("Sine: largest error on [-1, 1] {worst:.4}");
    bpnet::io::export_rust(dir.join("sine.rs"), &sine)?;

    let years = sunspot_years()?;
    let mut sunspots = train_sunspots(&years)?;
    let forecasts = sunspots.run(&years[..16])?.to_vec();
    let err: f32 = forecasts
        .iter()
        .zip(&years[1..17])
        .map(|(f, y)| (f[0] - y[0]).abs())
        .sum::<f32>()
        / 16.0;
    println!("Sunspots: mean error of the first 16 forecasts (scaled) {err:.4}");
    bpnet::io::export_rust(dir.join("sunspots.rs"), &sunspots)?;
    println!("wrote {}", dir.display());
    Ok(())
}
