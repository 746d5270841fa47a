//! Two networks trained with bpnet on a workstation, deployed without std and without a heap:
//! the same `network!` declarations (`nets.rs`), their parameters compiled in (`params/`, written
//! by `cargo run --release --example deploy` in the bpnet repository), run through their
//! inference forms. Built as a `staticlib` too, with C entry points, for firmware written in C.

#![no_std]

use bpnet::network;

include!("nets.rs");

/// More kinds without std, run by the `outputs` program for the test (not trained).
pub mod coverage {
    use bpnet::network;
    include!("coverage.rs");

    /// `Maps`' parameters.
    pub static MAPS: [f32; Maps::PARAMS] = coverage_params(1);
    /// `Pooled`'s parameters.
    pub static POOLED: [f32; Pooled::PARAMS] = coverage_params(2);
}

/// The parameters, as `bpnet::io::export_rust` wrote them.
pub mod params {
    /// `Sine`'s.
    pub mod sine {
        use crate::Sine;
        include!("params/sine.rs");
    }
    /// `Sunspots`'s.
    pub mod sunspots {
        use crate::Sunspots;
        include!("params/sunspots.rs");
    }
}

/// `sin(πx)`, as the trained regressor computes it.
pub fn sine(x: f32) -> f32 {
    Sine::frozen(&params::sine::PARAMS).run(&[x])[0]
}

/// A sunspot forecaster fed one year at a time; its recurrent state lives in this value.
pub struct Forecaster(SunspotsFrozen<'static>);

impl Forecaster {
    /// A forecaster at its initial state.
    pub fn new() -> Self {
        Forecaster(Sunspots::frozen(&params::sunspots::PARAMS))
    }

    /// Reads this year's (scaled) value and returns the forecast for the next year.
    pub fn step(&mut self, x: f32) -> f32 {
        self.0.run_step(&[x])[0]
    }
}

impl Default for Forecaster {
    fn default() -> Self {
        Self::new()
    }
}

/// C: `sin(πx)`.
#[unsafe(no_mangle)]
pub extern "C" fn bpnet_sine(x: f32) -> f32 {
    sine(x)
}

/// C: the forecasts for a sequence of `n` years, from the initial state: `out[t]` is the
/// forecast after reading `xs[t]`.
///
/// # Safety
/// `xs` and `out` point to `n` values each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bpnet_sunspots(xs: *const f32, out: *mut f32, n: usize) {
    // SAFETY: the caller's promise.
    let (xs, out) = unsafe {
        (
            core::slice::from_raw_parts(xs, n),
            core::slice::from_raw_parts_mut(out, n),
        )
    };
    let mut f = Forecaster::new();
    for (x, o) in xs.iter().zip(out) {
        *o = f.step(*x);
    }
}

/// Without std a final artifact (the staticlib, the `outputs` program) needs a panic handler.
/// Nothing here panics on any input: the only panics compiled in are bounds checks on the
/// parameters, whose lengths the types fix.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
