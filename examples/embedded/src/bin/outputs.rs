//! Prints the deployed networks' outputs, as the bits of each `f32` in hexadecimal, one per
//! line, for `tests/embedded.rs` to compare with the std build's: `sine` at 65 points of
//! `[-1, 1]`, the sunspot forecaster over 40 years, then the networks of `coverage.rs` (`Maps`
//! on three inputs, `Pooled` over 8 steps). A program without std or a heap: it
//! writes through the C library's `write`, started by the C library's `main`.

#![no_std]
#![no_main]

use bpnet_embedded::coverage::{self, Maps, Pooled};
use bpnet_embedded::{Forecaster, sine};

#[link(name = "c")]
unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, n: usize) -> isize;
}

fn print_bits(v: f32) {
    let mut line = [b'\n'; 9];
    let bits = v.to_bits();
    for (i, c) in line[..8].iter_mut().enumerate() {
        *c = b"0123456789abcdef"[(bits >> (28 - 4 * i)) as usize & 0xf];
    }
    // SAFETY: a valid buffer of 9 bytes.
    unsafe { write(1, line.as_ptr(), line.len()) };
}

/// The years' inputs (scaled): an 11-year cycle of parabolas, from arithmetic alone; the test
/// computes the same.
fn year(t: usize) -> f32 {
    let phase = (t % 11) as f32 / 11.0 * 2.0 - 1.0;
    0.5 + 0.4 * (1.0 - 2.0 * phase * phase)
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    for i in 0..=64 {
        print_bits(sine(i as f32 / 32.0 - 1.0));
    }
    let mut f = Forecaster::new();
    for t in 0..40 {
        print_bits(f.step(year(t)));
    }
    // More kinds, on inputs from the same formula.
    let mut maps = Maps::frozen(&coverage::MAPS);
    for k in 0..3 {
        let x: [f32; 64] = core::array::from_fn(|i| year(i + k) - 0.5);
        for v in maps.run(&x) {
            print_bits(*v);
        }
    }
    let mut pooled = Pooled::frozen(&coverage::POOLED);
    for t in 0..8 {
        for v in pooled.run_step(&[year(t), year(t + 5) - 0.5]) {
            print_bits(*v);
        }
    }
    0
}
