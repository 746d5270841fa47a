//! A progress bar with the live loss, for long training runs.
//!
//! [`Progress`] draws an [`indicatif`](https://docs.rs/indicatif) bar on standard error: elapsed
//! time, the bar, steps done and to do, the time left, the latest epoch and loss, and a message
//! of your own. It is quiet when standard error is not a terminal (output sent to a file or a
//! pipe, a CI log, a test) or when you ask for quiet: then it draws nothing, starts no thread,
//! and each call is a branch on a `None`.
//!
//! Every method takes `&self`, and clones share one bar, so it is easy to call from a training
//! loop's per-step or per-epoch closure:
//!
//! ```
//! use bpnet::progress::Progress;
//!
//! let epochs = 50;
//! let progress = Progress::new(epochs);
//! let on_epoch = |epoch: usize, loss: f64| {
//!     progress.set_loss(epoch, loss);
//!     progress.inc(1);
//! };
//! for epoch in 0..epochs as usize {
//!     let loss = 1.0 / (1.0 + epoch as f64); // one epoch of training
//!     on_epoch(epoch, loss);
//! }
//! progress.finish();
//! ```
//!
//! The loss is kept in two atomics and formatted only when the bar is redrawn (at most 20 times
//! a second, and every quarter second on its own so that a long epoch still shows the time), so
//! calling [`Progress::set_loss`] and [`Progress::inc`] on every step costs little even while the
//! bar is shown.

use std::borrow::Cow;
use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// What the bar shows, left to right; `{loss}` is the latest [`Progress::set_loss`].
const TEMPLATE: &str =
    "{elapsed_precise} [{bar:20.cyan/blue}] {pos}/{len} eta {eta} {loss} {wide_msg}";

/// How often a shown bar redraws on its own, for the elapsed time and the time left.
const STEADY_TICK: Duration = Duration::from_millis(250);

/// No epoch reported yet.
const NO_EPOCH: u64 = u64::MAX;

/// A progress bar for training, on standard error, quiet off a terminal. See the
/// [module docs](self).
///
/// Clones share the bar: [`Progress::inc`] on a clone advances the original.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// `None` when quiet.
    shown: Option<Shown>,
}

#[derive(Clone, Debug)]
struct Shown {
    bar: ProgressBar,
    loss: Arc<Loss>,
}

/// The latest epoch and loss, written by the training loop and read when the bar is drawn.
#[derive(Debug)]
struct Loss {
    epoch: AtomicU64,
    bits: AtomicU64,
}

impl Progress {
    /// A bar for `total` steps (or epochs: whatever you count with [`Progress::inc`]), shown
    /// only if standard error is a terminal.
    pub fn new(total: u64) -> Self {
        Self::with_quiet(total, false)
    }

    /// A bar that never draws: every method does nothing. What [`Progress::default`] makes too.
    pub fn hidden() -> Self {
        Progress { shown: None }
    }

    /// A bar for `total` steps, hidden if `quiet` (a `--quiet` flag, say) and otherwise shown only
    /// if standard error is a terminal.
    pub fn with_quiet(total: u64, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        let loss = Arc::new(Loss {
            epoch: AtomicU64::new(NO_EPOCH),
            bits: AtomicU64::new(0),
        });
        let shown_loss = loss.clone();
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("loss", move |_: &ProgressState, w: &mut dyn fmt::Write| {
                let _ = write!(w, "{}", loss_text(&shown_loss));
            })
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style);
        bar.enable_steady_tick(STEADY_TICK);
        Progress {
            shown: Some(Shown { bar, loss }),
        }
    }

    /// Whether this bar draws nothing (quiet, or standard error is not a terminal).
    pub fn is_hidden(&self) -> bool {
        self.shown.is_none()
    }

    /// Shows `loss` as the latest loss, reached at `epoch` (or step: the number is shown as
    /// given), from the next redraw on. Cheap: two atomic stores, no formatting.
    pub fn set_loss(&self, epoch: usize, loss: f64) {
        if let Some(s) = &self.shown {
            s.loss.bits.store(loss.to_bits(), Ordering::Relaxed);
            s.loss.epoch.store(epoch as u64, Ordering::Release);
        }
    }

    /// Shows `message` after the loss (a validation accuracy, say), replacing the last one.
    pub fn set_message(&self, message: impl Into<Cow<'static, str>>) {
        if let Some(s) = &self.shown {
            s.bar.set_message(message);
        }
    }

    /// Advances the bar by `n` steps.
    pub fn inc(&self, n: u64) {
        if let Some(s) = &self.shown {
            s.bar.inc(n);
        }
    }

    /// Sets the number of steps done.
    pub fn set_position(&self, position: u64) {
        if let Some(s) = &self.shown {
            s.bar.set_position(position);
        }
    }

    /// Changes the number of steps to do (training that stops early, say).
    pub fn set_total(&self, total: u64) {
        if let Some(s) = &self.shown {
            s.bar.set_length(total);
        }
    }

    /// Runs `f` with the bar cleared, then draws it again, so that lines `f` prints do not mix
    /// with the bar. A hidden bar just runs `f`.
    ///
    /// ```
    /// # let progress = bpnet::progress::Progress::hidden();
    /// progress.suspend(|| println!("epoch 10: validation accuracy 97.2%"));
    /// ```
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.shown {
            Some(s) => s.bar.suspend(f),
            None => f(),
        }
    }

    /// Stops the bar and leaves it on the screen as it is, with its last loss and message. A bar
    /// dropped without `finish` is left the same way.
    pub fn finish(&self) {
        if let Some(s) = &self.shown {
            s.bar.finish();
        }
    }

    /// Stops the bar and clears it from the screen.
    pub fn finish_and_clear(&self) {
        if let Some(s) = &self.shown {
            s.bar.finish_and_clear();
        }
    }
}

/// `epoch 12  loss 0.034512`, or nothing before the first loss.
fn loss_text(loss: &Loss) -> String {
    let epoch = loss.epoch.load(Ordering::Acquire);
    if epoch == NO_EPOCH {
        return String::new();
    }
    let loss = f64::from_bits(loss.bits.load(Ordering::Relaxed));
    format!("epoch {epoch}  loss {}", loss_number(loss))
}

/// Six decimals for losses of everyday size, scientific notation for tiny or huge ones.
fn loss_number(loss: f64) -> String {
    let a = loss.abs();
    if !loss.is_finite() || a == 0.0 || (1e-3..1e6).contains(&a) {
        format!("{loss:.6}")
    } else {
        format!("{loss:.4e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_text_shows_epoch_and_loss_once_set() {
        let loss = Loss {
            epoch: AtomicU64::new(NO_EPOCH),
            bits: AtomicU64::new(0),
        };
        assert_eq!(loss_text(&loss), "");
        loss.bits.store(0.25f64.to_bits(), Ordering::Relaxed);
        loss.epoch.store(12, Ordering::Relaxed);
        assert_eq!(loss_text(&loss), "epoch 12  loss 0.250000");
    }

    #[test]
    fn loss_numbers_stay_readable() {
        assert_eq!(loss_number(0.0), "0.000000");
        assert_eq!(loss_number(1.5), "1.500000");
        assert_eq!(loss_number(2.5e-5), "2.5000e-5");
        assert_eq!(loss_number(3e7), "3.0000e7");
        assert_eq!(loss_number(f64::NAN), "NaN");
        assert_eq!(loss_number(f64::INFINITY), "inf");
    }

    #[test]
    fn the_template_parses() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }
}
