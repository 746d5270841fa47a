//! An Elman network forecasts next year's sunspot number from the years before it.
//!
//! The data are the yearly mean sunspot numbers 1700–2008 (`data/sunspots.csv`, NOAA National
//! Geophysical Data Center, public domain), scaled to [0, 1] by the largest value of the training
//! years. The net reads one year at a time and, at every step, predicts the next year: the target
//! is `y[t] = x[t + 1]`. Its loop — the hidden state `h` at step `t` reads the hidden state at
//! `t − 1` — is **unfolded in time** over `T = 16` steps: 16 copies of the same modules, one per
//! year, whose **weights are shared across the steps** (one `wx`, one `wh`, one `wo` and one set
//! of biases in the pool, their gradients summed over the steps by back-propagation through time).
//! The energy of a sequence is the sum over its steps of the Euclidean energy `½‖o − y‖²`.
//!
//! Training uses the years up to 1920 only, with the lecture's training cycle — fprop, bprop,
//! update — on consecutive chunks of `T` years: the first chunk of an epoch starts from the
//! initial hidden state (zeros), each following chunk continues from the last hidden state of the
//! chunk before it (`fprop_continued`: truncated back-propagation through time, the gradient stops
//! at the chunk's first step). The test then forecasts 1921–2008 one year ahead: the hidden state
//! is warmed up on the training years, and the net is run one step at a time (`run_continued`),
//! fed the true value of each year to predict the next. Its error is compared with the naive
//! forecast "same as last year". Finally the same recipe is rerun from ten other random
//! initialisations, to show that the result does not hinge on a lucky seed.
//!
//! Run it with `cargo run --release --example elman` (or `... --example elman -- SEED`).

use bpnet::prelude::*;
use std::fmt;
use std::path::Path;

network! {
    /// Elman's simple recurrent network, 1-8-1, unfolded over 16 years.
    #[bpnet(float = f64)]
    pub struct Elman {
        unfold 16 {
            input  x: 1;                          // this year, scaled
            target y: 1;                          // next year, scaled
            s      = wx: linear(x -> 8);
            c      = wh: linear(h[t - 1] -> 8);   // the hidden state of the year before
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);          // the forecast (scaled)
            e      = euclidean(o, y);
        }
        initial h = zeros;
        energy = sum(e);
    }
}

/// The data file, relative to the crate's root.
const DATA: &str = "data/sunspots.csv";
/// The last year whose value the net sees while training (as a target).
const LAST_TRAIN_YEAR: i32 = 1920;
const EPOCHS: usize = 500;
const LR: f64 = 0.01;

/// An error shown as a plain message when `main` returns it (a bad data file or argument).
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// `main` prints an error with `{:?}`: keep it the plain message, not `Message("…")`.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// The series, one `(year, sunspot number)` per line after the header `"YEAR","SUNACTIVITY"`,
/// in consecutive years.
fn load(path: &Path) -> Result<(Vec<i32>, Vec<f64>), Message> {
    let file = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| Message(format!("cannot read {file}: {e}")))?;
    // Without a byte-order mark, if the file was saved with one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, line)) => line
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect(),
        None => return Err(Message(format!("{file} is empty"))),
    };
    if header != ["YEAR", "SUNACTIVITY"] {
        return Err(Message(format!(
            "{file}:1: expected the header \"YEAR\",\"SUNACTIVITY\", found {header:?}"
        )));
    }
    let (mut years, mut values) = (Vec::new(), Vec::new());
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |what: String| Message(format!("{file}:{}: {what}: {line:?}", i + 1));
        let mut fields = line.split(',').map(|f| f.trim().trim_matches('"'));
        let (Some(year), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(bad("expected two columns, year and sunspot number".into()));
        };
        let year: i32 = year
            .parse()
            .map_err(|_| bad(format!("the year {year:?} is not an integer")))?;
        let value: f64 = value
            .parse()
            .map_err(|_| bad(format!("the sunspot number {value:?} is not a number")))?;
        if !value.is_finite() || value < 0.0 {
            return Err(bad(format!("the sunspot number {value} is not ≥ 0")));
        }
        if let Some(&prev) = years.last()
            && year != prev + 1
        {
            return Err(bad(format!("the year {year} does not follow {prev}")));
        }
        years.push(year);
        values.push(value);
    }
    Ok((years, values))
}

/// The root mean square of `a − b`.
fn rmse(a: &[f64], b: &[f64]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum();
    (sum / a.len() as f64).sqrt()
}

/// Trains a fresh net from `seed` on `xs[..=last]` (the scaled training years): inputs
/// `xs[..last]`, targets `xs[1..=last]`. Calls `progress(epoch, mean energy per year)` after
/// every epoch.
fn train(
    xs: &[[f64; 1]],
    last: usize,
    seed: u64,
    mut progress: impl FnMut(usize, f64),
) -> Result<Elman, bpnet::Error> {
    let mut net = Elman::new(&mut StdRng::seed_from_u64(seed));
    let (inputs, targets) = (&xs[..last], &xs[1..=last]);
    for epoch in 1..=EPOCHS {
        // One epoch: the training years once, in order, in chunks of T steps. Per chunk: fprop
        // (the first from the initial state, the others continuing), bprop through the chunk's
        // steps, then one update of the whole pool.
        let mut total = 0.0;
        for (k, (x, y)) in inputs
            .chunks(Elman::STEPS)
            .zip(targets.chunks(Elman::STEPS))
            .enumerate()
        {
            total += if k == 0 {
                net.fprop(x, y)?
            } else {
                net.fprop_continued(x, y)?
            };
            net.zero_grad();
            net.bprop();
            net.sgd_step(LR);
        }
        progress(epoch, total / inputs.len() as f64);
    }
    Ok(net)
}

/// One-step-ahead forecasts (scaled) of the years `xs[1..]`: the years up to `xs[last]` are the
/// warm-up (run in chunks of T), then the net runs one year at a time.
fn forecast(net: &mut Elman, xs: &[[f64; 1]], last: usize) -> Result<Vec<f64>, bpnet::Error> {
    let mut out = Vec::with_capacity(xs.len() - 1);
    for (k, chunk) in xs[..last].chunks(Elman::STEPS).enumerate() {
        let values = if k == 0 {
            net.run(chunk)?
        } else {
            net.run_continued(chunk)?
        };
        out.extend(values.iter().map(|v| v[0]));
    }
    for x in &xs[last..xs.len() - 1] {
        out.push(net.run_continued(std::slice::from_ref(x))?[0][0]);
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = match std::env::args().nth(1) {
        Some(s) => s
            .parse()
            .map_err(|_| Message(format!("the seed {s:?} is not a number")))?,
        None => 1,
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DATA);
    let (years, values) = load(&path)?;
    // `last`: the index of the last training year.
    let last = years
        .iter()
        .position(|&y| y == LAST_TRAIN_YEAR)
        .filter(|&i| i >= 1 && i + 1 < years.len() && values[..=i].iter().any(|&v| v > 0.0))
        .ok_or_else(|| {
            Message(format!(
                "{}: the series must run from before {LAST_TRAIN_YEAR} to after it, and not be all zeros \
                 up to it",
                path.display()
            ))
        })?;
    let max = values[..=last].iter().copied().fold(0.0, f64::max);
    let xs: Vec<[f64; 1]> = values.iter().map(|&v| [v / max]).collect();

    println!(
        "Sunspots {}–{}, one year ahead: an Elman net 1-8-1 unfolded over T = {} years,\n\
         trained on {}–{} (seed {seed}, learning rate {LR}, {EPOCHS} epochs)\n",
        years[0],
        years[years.len() - 1],
        Elman::STEPS,
        years[0],
        LAST_TRAIN_YEAR,
    );
    // The energy per year is ½(error / max)²: √(2E)·max is the matching RMSE in sunspot numbers.
    println!("epoch   mean energy per year   (as an RMSE)");
    let mut net = train(&xs, last, seed, |epoch, mean| {
        if epoch == 1 || epoch % 50 == 0 {
            println!(
                "{epoch:>5}   {mean:.6}               ({:.2})",
                (2.0 * mean).sqrt() * max
            );
        }
    })?;

    // Forecasts in sunspot-number units: `pred[i]` is the forecast of year `years[i + 1]`.
    let pred: Vec<f64> = forecast(&mut net, &xs, last)?
        .iter()
        .map(|p| p * max)
        .collect();
    let naive = &values[..values.len() - 1];
    let truth = &values[1..];
    let (train_net, test_net) = (
        rmse(&pred[..last], &truth[..last]),
        rmse(&pred[last..], &truth[last..]),
    );
    let (train_naive, test_naive) = (
        rmse(&naive[..last], &truth[..last]),
        rmse(&naive[last..], &truth[last..]),
    );
    println!("\nRMSE of the one-year-ahead forecast, in sunspot numbers:");
    println!("                       net    naive (same as last year)");
    println!(
        "train {}–{}     {train_net:>6.2}   {train_naive:>6.2}",
        years[1], LAST_TRAIN_YEAR
    );
    println!(
        "test  {}–{}     {test_net:>6.2}   {test_naive:>6.2}",
        years[last + 1],
        years[years.len() - 1]
    );
    println!(
        "On the test years the net's error is {:.0}% lower than the naive forecast's.",
        100.0 * (1.0 - test_net / test_naive)
    );

    println!("\nyear    truth     net   naive");
    for i in (last..pred.len()).step_by(9) {
        println!(
            "{}   {:>6.1}  {:>6.1}  {:>6.1}",
            years[i + 1],
            truth[i],
            pred[i],
            naive[i]
        );
    }

    let mut tests = Vec::new();
    for s in 100..110 {
        let mut net = train(&xs, last, s, |_, _| {})?;
        let p: Vec<f64> = forecast(&mut net, &xs, last)?[last..]
            .iter()
            .map(|p| p * max)
            .collect();
        tests.push(rmse(&p, &truth[last..]));
    }
    let wins = tests.iter().filter(|&&r| r < test_naive).count();
    tests.sort_by(f64::total_cmp);
    println!(
        "\nThe same training from seeds 100..110: {wins} of 10 nets beat the naive forecast on the \
         test years\n(their test RMSE: {:.2} to {:.2}, median {:.2}; naive: {test_naive:.2}).",
        tests[0],
        tests[9],
        (tests[4] + tests[5]) / 2.0
    );
    Ok(())
}
