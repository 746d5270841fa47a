//! SDLM against plain SGD and Adam: epochs and wall time to reach a stated validation score, on
//! two networks, over several seeds, each optimizer at the rate it does best with.
//!
//! ```sh
//! cargo run --release --example sdlm
//! ```
//!
//! 1. **digits**: the classifier of `examples/digits.rs` (64 → 64 tanh → 10, cross-entropy, f32)
//!    on the shipped 8×8 digits, same test split, same validation split, same scaling; one sample
//!    per update. Target: 97% validation accuracy. Budget: 30 epochs.
//! 2. **sunspots**: the Elman net of `examples/elman.rs` (1-8-1, unfolded over 16 years, f64),
//!    trained on 1700–1880 in chunks of 16 years (truncated back-propagation through time),
//!    validated on one-year-ahead forecasts of 1881–1920, tested on 1921–2008. Target: a
//!    validation RMSE of at most `SUN_TARGET` (13) sunspots. Budget: 300 epochs.
//!
//! For each optimizer the rate is picked from a grid of four on the validation split, over three
//! tuning seeds (101–103, none of them reported): the rate with the fewest epochs to the target
//! (the median over the tuning seeds, a run that never reaches it counting as budget + 1; ties go
//! to the better mean best validation score). Then seeds 1–10 (the initial weights and the
//! shuffling) are run with that rate. Reported: epochs and wall time to the target (median and
//! range, over the seeds that reached it), how many seeds reached it, and the median test score
//! of the parameters of each run's best validation epoch. The wall time counts the training work
//! only (updates, and SDLM's curvature estimates), not the evaluations after each epoch, which
//! are the same for every optimizer. The test split plays no part in any choice.
//!
//! SDLM's curvature (bbprop, the diagonal Gauss–Newton second derivatives) is averaged over 500
//! samples re-drawn every epoch on digits, and over all 12 chunks every epoch on sunspots; μ is
//! fixed at 0.1 and ε is the rate tuned.

use bpnet::data::{self, Normalizer, Targets};
use bpnet::optim::{Adam, Every, Optimizer, Sdlm, Sgd};
use bpnet::prelude::*;
use bpnet::{Float, Network};
use std::path::Path;
use std::time::{Duration, Instant};

const SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TUNING_SEEDS: [u64; 3] = [101, 102, 103];

// ---------------------------------------------------------------------------------------------
// The optimizers

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sgd,
    Adam,
    Sdlm,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Sgd, Kind::Adam, Kind::Sdlm];

    fn name(self) -> &'static str {
        match self {
            Kind::Sgd => "SGD",
            Kind::Adam => "Adam",
            Kind::Sdlm => "SDLM",
        }
    }
}

/// One of the three, behind one `step`; SDLM with the time its estimates took.
enum Opt<F: Float> {
    Sgd(Sgd<F>),
    Adam(Adam<F>),
    Sdlm(Sdlm<F>, Duration),
}

impl<F: Float> Opt<F> {
    fn step<N: Network<Float = F>>(&mut self, net: &mut N) {
        match self {
            Opt::Sgd(o) => o.step(net),
            Opt::Adam(o) => o.step(net),
            Opt::Sdlm(o, _) => o.step(net),
        }
    }

    /// SDLM's curvature estimate if one is due in `epoch` (nothing for the others).
    fn curvature<N, S, R>(
        &mut self,
        epoch: usize,
        net: &mut N,
        data: &[S],
        fprop: impl FnMut(&mut N, &S) -> R,
    ) -> Result<(), Box<dyn std::error::Error>>
    where
        N: SecondOrder<Float = F>,
        R: bpnet::train::IntoEnergy<F>,
    {
        if let Opt::Sdlm(o, spent) = self {
            let start = Instant::now();
            o.estimate_if_due(epoch, net, data, fprop)?;
            *spent += start.elapsed();
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// What a run measures

/// One training run.
#[derive(Clone, Debug)]
struct Run {
    /// The first epoch after which the validation score met the target.
    epochs: Option<usize>,
    /// The training time up to the end of that epoch.
    time: Option<Duration>,
    /// The best validation score over the budget (higher is better: accuracy, or −RMSE).
    best_val: f64,
    /// The test score of the parameters of that best epoch.
    test: f64,
    /// The training time of the whole budget.
    total: Duration,
    /// The part of it SDLM spent estimating the curvature.
    curvature: Duration,
}

/// A training problem: a network, its data, an epoch of training, the scores.
trait Problem {
    type Net: SecondOrder;
    const NAME: &'static str;
    const BUDGET: usize;
    /// The rates tried for each optimizer (ε for SDLM).
    fn grid(kind: Kind) -> [f64; 4];
    fn optimizer(kind: Kind, rate: f64) -> Opt<<Self::Net as Network>::Float>;
    fn net(&self, seed: u64) -> Self::Net;
    /// One epoch of updates (SDLM's estimate included).
    fn epoch(
        &self,
        net: &mut Self::Net,
        opt: &mut Opt<<Self::Net as Network>::Float>,
        epoch: usize,
        rng: &mut StdRng,
    ) -> Result<(), Box<dyn std::error::Error>>;
    /// The validation score, higher is better.
    fn validate(&self, net: &mut Self::Net) -> f64;
    fn test(&self, net: &mut Self::Net) -> f64;
    fn reached(score: f64) -> bool;
    /// A score as the table shows it.
    fn show(score: f64) -> String;
}

fn run<P: Problem>(
    p: &P,
    kind: Kind,
    rate: f64,
    seed: u64,
) -> Result<Run, Box<dyn std::error::Error>> {
    let mut net = p.net(seed);
    let mut opt = P::optimizer(kind, rate);
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(1000));
    let (mut time, mut epochs, mut at) = (Duration::ZERO, None, None);
    let (mut best_val, mut best) = (f64::NEG_INFINITY, net.params().to_vec());
    for epoch in 1..=P::BUDGET {
        let start = Instant::now();
        p.epoch(&mut net, &mut opt, epoch, &mut rng)?;
        time += start.elapsed();
        let val = p.validate(&mut net);
        if val > best_val {
            best_val = val;
            best.copy_from_slice(net.params());
        }
        if epochs.is_none() && P::reached(val) {
            epochs = Some(epoch);
            at = Some(time);
        }
    }
    net.params_mut().copy_from_slice(&best);
    Ok(Run {
        epochs,
        time: at,
        best_val,
        test: p.test(&mut net),
        total: time,
        curvature: match opt {
            Opt::Sdlm(_, spent) => spent,
            _ => Duration::ZERO,
        },
    })
}

/// The grid value with the fewest epochs to the target (median over the tuning seeds, a run that
/// never reaches it counting as budget + 1; ties: the higher mean best validation score).
fn tune<P: Problem>(p: &P, kind: Kind) -> Result<(f64, Vec<String>), Box<dyn std::error::Error>> {
    let mut scores = Vec::new();
    for rate in P::grid(kind) {
        let mut epochs = Vec::new();
        let mut best = 0.0;
        for seed in TUNING_SEEDS {
            let r = run(p, kind, rate, seed)?;
            epochs.push(r.epochs.unwrap_or(P::BUDGET + 1) as f64);
            best += r.best_val / TUNING_SEEDS.len() as f64;
        }
        scores.push((rate, median(epochs), best));
    }
    let chosen = scores
        .iter()
        .min_by(|a, b| {
            (a.1, -a.2)
                .partial_cmp(&(b.1, -b.2))
                .expect("finite scores")
        })
        .map(|s| s.0)
        .expect("a grid of four");
    let text = scores
        .iter()
        .map(|(rate, e, best)| {
            let e = if *e > P::BUDGET as f64 {
                "—".into()
            } else {
                e.to_string()
            };
            format!("{rate}: {e} ep, best val {}", P::show(*best))
        })
        .collect();
    Ok((chosen, text))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `median (min–max)` of the values, or `—` for none.
fn spread(v: &[f64], digits: usize) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    format!(
        "{:.digits$} ({lo:.digits$}–{hi:.digits$})",
        median(v.to_vec())
    )
}

fn compare<P: Problem>(p: &P, target: &str) -> Result<String, Box<dyn std::error::Error>> {
    println!(
        "\n## {} (target: {target}, budget {} epochs)\n",
        P::NAME,
        P::BUDGET
    );
    let mut table = String::from(
        "| optimizer | rate (grid) | reached | epochs to target | time to target (ms) | test score |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for kind in Kind::ALL {
        let (rate, tried) = tune(p, kind)?;
        let grid = P::grid(kind);
        println!(
            "{} tuning (median epochs to target over seeds {TUNING_SEEDS:?}; mean best \
             validation score): {}",
            kind.name(),
            tried.join("; ")
        );
        let mut runs = Vec::new();
        for seed in SEEDS {
            runs.push(run(p, kind, rate, seed)?);
        }
        let reached: Vec<&Run> = runs.iter().filter(|r| r.epochs.is_some()).collect();
        let epochs: Vec<f64> = reached.iter().map(|r| r.epochs.unwrap() as f64).collect();
        let times: Vec<f64> = reached
            .iter()
            .map(|r| r.time.unwrap().as_secs_f64() * 1e3)
            .collect();
        let tests: Vec<String> = runs.iter().map(|r| P::show(r.test)).collect();
        let total = median(runs.iter().map(|r| r.total.as_secs_f64() * 1e3).collect());
        let curvature: f64 = runs.iter().map(|r| r.curvature.as_secs_f64()).sum::<f64>()
            / runs.iter().map(|r| r.total.as_secs_f64()).sum::<f64>();
        println!(
            "{}: rate {rate}; per seed: epochs {:?}, test {:?}; {total:.0} ms for the whole \
             budget (median){}",
            kind.name(),
            runs.iter().map(|r| r.epochs).collect::<Vec<_>>(),
            tests,
            if kind == Kind::Sdlm {
                format!(", {:.0}% of it estimating the curvature", 100.0 * curvature)
            } else {
                String::new()
            }
        );
        let grid_text: Vec<String> = grid.iter().map(|g| g.to_string()).collect();
        table += &format!(
            "| {} | {rate} ({}) | {}/{} | {} | {} | {} |\n",
            kind.name(),
            grid_text.join(", "),
            reached.len(),
            runs.len(),
            spread(&epochs, 0),
            spread(&times, 2),
            P::show(median(runs.iter().map(|r| r.test).collect())),
        );
    }
    Ok(table)
}

// ---------------------------------------------------------------------------------------------
// 1. Digits

const PIXELS: usize = data::DIGITS_PIXELS;
const CLASSES: usize = data::DIGITS_CLASSES;

network! {
    /// The net of `examples/digits.rs`.
    pub struct Digits {
        input  x: 64;
        target y: 10;
        sum1   = linear1: linear(x -> 64);
        hidden = tanh1: tanh(sum1);
        out    = linear2: linear(hidden -> 10);
        energy = cross_entropy(out, y);
    }
}

type Digit = ([f32; PIXELS], [f32; CLASSES]);

struct DigitsProblem {
    train: Vec<Digit>,
    val: Vec<Digit>,
    test: Vec<Digit>,
}

fn predict(out: &[f32; CLASSES]) -> usize {
    (0..CLASSES)
        .max_by(|&a, &b| out[a].total_cmp(&out[b]))
        .expect("ten outputs")
}

fn digits_accuracy(net: &mut Digits, set: &[Digit]) -> f64 {
    let right = set
        .iter()
        .filter(|(x, y)| predict(net.run(x)) == predict(y))
        .count();
    right as f64 / set.len() as f64
}

fn digit_fprop(net: &mut Digits, (x, y): &Digit) -> f32 {
    net.fprop(x, y)
}

impl DigitsProblem {
    /// The splits and scaling of `examples/digits.rs`.
    fn load() -> Result<Self, Box<dyn std::error::Error>> {
        let (rest, test) = data::digits().split(0.2, 7);
        let (train, val) = rest.split(0.15, 8);
        let norm = Normalizer::new(vec![8.0; PIXELS], vec![8.0; PIXELS])?;
        let rows = |set: &data::Dataset<f32>| -> Vec<Digit> {
            let (xs, ys) = (norm.transform(&set.inputs), set.targets(Targets::OneHot));
            let xs = data::as_rows::<f32, _, PIXELS>(&xs).expect("64 columns");
            let ys = data::as_rows::<f32, _, CLASSES>(&ys).expect("10 columns");
            xs.iter().copied().zip(ys.iter().copied()).collect()
        };
        Ok(DigitsProblem {
            train: rows(&train),
            val: rows(&val),
            test: rows(&test),
        })
    }
}

impl Problem for DigitsProblem {
    type Net = Digits;
    const NAME: &'static str = "digits";
    const BUDGET: usize = 30;

    fn grid(kind: Kind) -> [f64; 4] {
        match kind {
            Kind::Sgd => [0.003, 0.01, 0.03, 0.1],
            Kind::Adam => [0.0003, 0.001, 0.003, 0.01],
            Kind::Sdlm => [0.001, 0.003, 0.01, 0.03],
        }
    }

    fn optimizer(kind: Kind, rate: f64) -> Opt<f32> {
        let rate = rate as f32;
        match kind {
            Kind::Sgd => Opt::Sgd(Sgd::new(rate)),
            Kind::Adam => Opt::Adam(Adam::new(rate)),
            Kind::Sdlm => Opt::Sdlm(
                Sdlm::new(rate, 0.1).samples(500).every(Every::Epochs(1)),
                Duration::ZERO,
            ),
        }
    }

    fn net(&self, seed: u64) -> Digits {
        Digits::new(&mut StdRng::seed_from_u64(seed))
    }

    fn epoch(
        &self,
        net: &mut Digits,
        opt: &mut Opt<f32>,
        epoch: usize,
        rng: &mut StdRng,
    ) -> Result<(), Box<dyn std::error::Error>> {
        opt.curvature(epoch, net, &self.train, digit_fprop)?;
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        order.shuffle(rng);
        for i in order {
            let (x, y) = &self.train[i];
            net.fprop(x, y);
            net.zero_grad();
            net.bprop();
            opt.step(net);
        }
        Ok(())
    }

    fn validate(&self, net: &mut Digits) -> f64 {
        digits_accuracy(net, &self.val)
    }

    fn test(&self, net: &mut Digits) -> f64 {
        digits_accuracy(net, &self.test)
    }

    fn reached(score: f64) -> bool {
        score >= 0.97
    }

    fn show(score: f64) -> String {
        format!("{:.1}%", 100.0 * score)
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Sunspots

network! {
    /// The net of `examples/elman.rs`.
    #[bpnet(float = f64)]
    pub struct Elman {
        unfold 16 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 8);
            c      = wh: linear(h[t - 1] -> 8);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = zeros;
        energy = sum(e);
    }
}

/// The validation target, as an RMSE in sunspot numbers.
const SUN_TARGET: f64 = 13.0;

/// A chunk of the training years: inputs and next-year targets.
type Chunk = (Vec<[f64; 1]>, Vec<[f64; 1]>);

struct Sunspots {
    /// The whole series, scaled by the largest training value.
    xs: Vec<[f64; 1]>,
    values: Vec<f64>,
    max: f64,
    /// Indices of the last training year (1880) and the last validation year (1920).
    last_train: usize,
    last_val: usize,
    chunks: Vec<Chunk>,
}

fn chunk_fprop(net: &mut Elman, (x, y): &Chunk) -> Result<f64, bpnet::Error> {
    net.fprop(x, y)
}

impl Sunspots {
    fn load() -> Result<Self, Box<dyn std::error::Error>> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sunspots.csv");
        let text = std::fs::read_to_string(&path)?;
        let (mut years, mut values) = (Vec::new(), Vec::new());
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let mut f = line.split(',').map(|f| f.trim().trim_matches('"'));
            let (Some(year), Some(value)) = (f.next(), f.next()) else {
                return Err(format!("{}: bad line {line:?}", path.display()).into());
            };
            years.push(year.parse::<i32>()?);
            values.push(value.parse::<f64>()?);
        }
        let find = |y: i32| {
            years
                .iter()
                .position(|&v| v == y)
                .ok_or_else(|| format!("{}: no year {y}", path.display()))
        };
        let (last_train, last_val) = (find(1880)?, find(1920)?);
        let max = values[..=last_train].iter().copied().fold(0.0, f64::max);
        let xs: Vec<[f64; 1]> = values.iter().map(|&v| [v / max]).collect();
        let chunks = xs[..last_train]
            .chunks(Elman::STEPS)
            .zip(xs[1..=last_train].chunks(Elman::STEPS))
            .map(|(x, y)| (x.to_vec(), y.to_vec()))
            .collect();
        Ok(Sunspots {
            xs,
            values,
            max,
            last_train,
            last_val,
            chunks,
        })
    }

    /// The RMSE (sunspot numbers) of the one-year-ahead forecasts of the years after `warm`
    /// up to `end` (indices): the net is warmed up on the years up to `warm`, in chunks, then
    /// run one year at a time, fed each true year.
    fn rmse(&self, net: &mut Elman, warm: usize, end: usize) -> f64 {
        for (k, chunk) in self.xs[..warm].chunks(Elman::STEPS).enumerate() {
            if k == 0 {
                net.run(chunk)
            } else {
                net.run_continued(chunk)
            }
            .expect("a chunk of at most T years");
        }
        let mut sum = 0.0;
        for i in warm..end {
            // The forecast of year i + 1 from the years up to i.
            let forecast = net
                .run_continued(std::slice::from_ref(&self.xs[i]))
                .expect("one year")[0][0];
            let err = forecast * self.max - self.values[i + 1];
            sum += err * err;
        }
        (sum / (end - warm) as f64).sqrt()
    }
}

impl Problem for Sunspots {
    type Net = Elman;
    const NAME: &'static str = "sunspots (Elman net)";
    const BUDGET: usize = 300;

    fn grid(kind: Kind) -> [f64; 4] {
        match kind {
            Kind::Sgd => [0.003, 0.01, 0.03, 0.1],
            Kind::Adam => [0.003, 0.01, 0.03, 0.1],
            Kind::Sdlm => [0.003, 0.01, 0.03, 0.1],
        }
    }

    fn optimizer(kind: Kind, rate: f64) -> Opt<f64> {
        match kind {
            Kind::Sgd => Opt::Sgd(Sgd::new(rate)),
            Kind::Adam => Opt::Adam(Adam::new(rate)),
            Kind::Sdlm => Opt::Sdlm(Sdlm::new(rate, 0.1).every(Every::Epochs(1)), Duration::ZERO),
        }
    }

    fn net(&self, seed: u64) -> Elman {
        Elman::new(&mut StdRng::seed_from_u64(seed))
    }

    fn epoch(
        &self,
        net: &mut Elman,
        opt: &mut Opt<f64>,
        epoch: usize,
        _rng: &mut StdRng,
    ) -> Result<(), Box<dyn std::error::Error>> {
        // The estimate runs each chunk from the initial state; it comes before the epoch's first
        // chunk, which starts from there too (an estimate between chunks would break the hidden
        // state that the next chunk continues from).
        opt.curvature(epoch, net, &self.chunks, chunk_fprop)?;
        for (k, (x, y)) in self.chunks.iter().enumerate() {
            if k == 0 {
                net.fprop(x, y)?;
            } else {
                net.fprop_continued(x, y)?;
            }
            net.zero_grad();
            net.bprop();
            opt.step(net);
        }
        Ok(())
    }

    fn validate(&self, net: &mut Elman) -> f64 {
        -self.rmse(net, self.last_train, self.last_val)
    }

    fn test(&self, net: &mut Elman) -> f64 {
        -self.rmse(net, self.last_val, self.values.len() - 1)
    }

    fn reached(score: f64) -> bool {
        -score <= SUN_TARGET
    }

    fn show(score: f64) -> String {
        format!("{:.2}", -score)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let digits = DigitsProblem::load()?;
    println!(
        "# SDLM vs SGD vs Adam\n\ndigits: {} to train, {} to validate, {} to test",
        digits.train.len(),
        digits.val.len(),
        digits.test.len()
    );
    let digits_table = compare(&digits, "97% validation accuracy")?;

    let sun = Sunspots::load()?;
    let naive = |from: usize, to: usize| {
        let s: f64 = (from..to)
            .map(|i| (sun.values[i] - sun.values[i + 1]).powi(2))
            .sum();
        (s / (to - from) as f64).sqrt()
    };
    println!(
        "\nsunspots: {} training chunks of {} years; naive forecast (same as last year): \
         validation RMSE {:.2}, test RMSE {:.2}",
        sun.chunks.len(),
        Elman::STEPS,
        naive(sun.last_train, sun.last_val),
        naive(sun.last_val, sun.values.len() - 1)
    );
    let sun_table = compare(&sun, &format!("validation RMSE ≤ {SUN_TARGET} sunspots"))?;

    println!("\n### digits: test score = test accuracy (median over the seeds)\n\n{digits_table}");
    println!("### sunspots: test score = test RMSE in sunspot numbers (median)\n\n{sun_table}");
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
