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
//! The bar takes one line; a message, once set, gets a line of its own below it, so that an
//! 80-column terminal shows it whole (on the bar's line it would get what the time, the counts
//! and the loss leave: a few characters). [`Progress::finish`] ends the bar's line, so what is
//! printed next starts on a line of its own.
//!
//! The loss is kept in two atomics and formatted only when the bar is redrawn (at most 20 times
//! a second, and every quarter second on its own so that a long epoch still shows the time), so
//! calling [`Progress::set_loss`] and [`Progress::inc`] on every step costs little even while the
//! bar is shown.

use std::borrow::Cow;
use std::fmt;
use std::io::IsTerminal;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};

/// What the bar shows, left to right; `{loss}` is the latest [`Progress::set_loss`]. At most 77
/// columns (up to 99,999 steps, a loss of 8 significant digits, an epoch of 3 digits), so it fits
/// an 80-column terminal.
const TEMPLATE: &str = "{elapsed_precise} [{bar:20.cyan/blue}] {pos}/{len} eta {eta} {loss}";

/// The same with the message on a line of its own, as wide as the terminal: the template once a
/// message is set.
const TEMPLATE_WITH_MESSAGE: &str =
    "{elapsed_precise} [{bar:20.cyan/blue}] {pos}/{len} eta {eta} {loss}\n{wide_msg}";

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

#[derive(Clone)]
struct Shown {
    bar: ProgressBar,
    loss: Arc<Loss>,
    /// The style with the message line, used from the first non-empty message on.
    with_message: ProgressStyle,
    /// Shared by the clones: ends the bar's line once, at `finish` or when the last clone goes.
    end: Arc<End>,
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shown")
            .field("bar", &self.bar)
            .field("loss", &self.loss)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Where the line after the bar is ended, once.
#[derive(Debug)]
struct End {
    bar: ProgressBar,
    /// Whether the bar was finished (its line ended, or the bar cleared).
    done: AtomicBool,
    /// The terminal the bar draws on, for the newline; `None`: standard error.
    term: Option<Arc<dyn TermLike>>,
}

impl End {
    /// Finishes the bar (leaving it, or clearing it) the first time only; a bar left on the
    /// screen gets a newline after it. indicatif leaves the cursor at the end of the bar's last
    /// line (padded to the terminal's width), where the next text printed would continue.
    fn finish(&self, clear: bool) {
        if self.done.swap(true, Ordering::AcqRel) {
            return;
        }
        if clear {
            self.bar.finish_and_clear();
            return;
        }
        self.bar.finish();
        let _ = match &self.term {
            Some(term) => term.write_str("\n").and_then(|()| term.flush()),
            None => std::io::stderr().write_all(b"\n"),
        };
    }
}

impl Drop for End {
    /// The last clone of a bar that was not finished: finished as [`Progress::finish`] does.
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// A [`TermLike`] shared with [`End`] (the draw target takes a `Box`).
#[cfg(test)]
#[derive(Debug)]
struct Shared(Arc<dyn TermLike>);

#[cfg(test)]
impl TermLike for Shared {
    fn width(&self) -> u16 {
        self.0.width()
    }
    fn height(&self) -> u16 {
        self.0.height()
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
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
        Self::drawn(total, ProgressDrawTarget::stderr(), None)
    }

    /// A bar drawn on `target`; `term`, the same terminal, for the newline after it (`None`:
    /// standard error).
    fn drawn(total: u64, target: ProgressDrawTarget, term: Option<Arc<dyn TermLike>>) -> Self {
        let loss = Arc::new(Loss {
            epoch: AtomicU64::new(NO_EPOCH),
            bits: AtomicU64::new(0),
        });
        let style = |template| {
            let shown_loss = loss.clone();
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("loss", move |_: &ProgressState, w: &mut dyn fmt::Write| {
                    let _ = write!(w, "{}", loss_text(&shown_loss));
                })
                .progress_chars("=> ")
        };
        let bar = ProgressBar::with_draw_target(Some(total), target).with_style(style(TEMPLATE));
        let with_message = style(TEMPLATE_WITH_MESSAGE);
        bar.enable_steady_tick(STEADY_TICK);
        let end = Arc::new(End {
            bar: bar.clone(),
            done: AtomicBool::new(false),
            term,
        });
        Progress {
            shown: Some(Shown {
                bar,
                loss,
                with_message,
                end,
            }),
        }
    }

    /// A bar drawn on `term` (a terminal of a chosen width, in tests).
    #[cfg(test)]
    fn on_term(total: u64, term: Arc<dyn TermLike>) -> Self {
        let target = ProgressDrawTarget::term_like(Box::new(Shared(term.clone())));
        Self::drawn(total, target, Some(term))
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

    /// Shows `message` (a validation accuracy, say) on a line below the bar, replacing the last
    /// one. The line appears with the first message and stays.
    pub fn set_message(&self, message: impl Into<Cow<'static, str>>) {
        if let Some(s) = &self.shown {
            let message = message.into();
            if !message.is_empty() && s.bar.message().is_empty() {
                s.bar.set_style(s.with_message.clone());
            }
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

    /// Stops the bar and leaves it on the screen as it is, with its last loss and message, and
    /// ends its line: what is printed next starts on the line below. A bar dropped without
    /// `finish` (its last clone) is left the same way. Only the first `finish` or
    /// [`Progress::finish_and_clear`] does anything.
    pub fn finish(&self) {
        if let Some(s) = &self.shown {
            s.end.finish(false);
        }
    }

    /// Stops the bar and clears it from the screen (what is printed next takes its place).
    pub fn finish_and_clear(&self) {
        if let Some(s) = &self.shown {
            s.end.finish(true);
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
    fn the_templates_parse() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(TEMPLATE_WITH_MESSAGE).is_ok());
    }

    /// A terminal of a chosen width that keeps what is written to it. Cursor moves are kept as
    /// `<up n>` and so on; a cleared line as `<clear>`.
    #[derive(Debug)]
    struct Screen {
        width: u16,
        written: std::sync::Mutex<String>,
    }

    impl Screen {
        fn new(width: u16) -> Arc<Screen> {
            Arc::new(Screen {
                width,
                written: std::sync::Mutex::new(String::new()),
            })
        }
        fn text(&self) -> String {
            self.written.lock().unwrap().clone()
        }
        fn put(&self, s: &str) -> std::io::Result<()> {
            self.written.lock().unwrap().push_str(s);
            Ok(())
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.put(&format!("<up {n}>"))
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.put(&format!("<down {n}>"))
        }
        fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
            self.put(&format!("<right {n}>"))
        }
        fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
            self.put(&format!("<left {n}>"))
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.put(s)?;
            self.put("\n")
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.put(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.put("<clear>")
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The rows of the last frame on a terminal `width` columns wide: indicatif pads every line
    /// to the width, and the terminal wraps to the next row.
    fn rows(text: &str, width: usize) -> Vec<String> {
        let frame = last_frame(text);
        let chars: Vec<char> = frame.trim_end_matches('\n').chars().collect();
        chars
            .chunks(width)
            .map(|r| r.iter().collect::<String>().trim_end().to_string())
            .collect()
    }

    /// The last frame drawn: the text after the last cursor move, ANSI colours removed.
    fn last_frame(text: &str) -> String {
        let frame = text.rsplit('>').next().unwrap_or("");
        let mut plain = String::new();
        let mut chars = frame.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        plain
    }

    const MESSAGE: &str = "validation accuracy 97.25% (best 97.50%, epoch 11)";

    #[test]
    fn on_80_columns_the_message_is_shown_whole() {
        let screen = Screen::new(80);
        let progress = Progress::on_term(60_000, screen.clone());
        progress.set_loss(123, 0.034_512_5);
        progress.set_message(MESSAGE);
        progress.set_position(59_999);
        progress.finish();
        let rows = rows(&screen.text(), 80);
        // The bar's line, as wide as it gets, fits the 80 columns; the message has the next.
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert!(rows[0].starts_with("00:00:0"), "{rows:#?}");
        assert!(
            rows[0].ends_with("60000/60000 eta 0s epoch 123  loss 0.034513"),
            "{rows:#?}"
        );
        assert_eq!(rows[1], MESSAGE);
    }

    #[test]
    fn without_a_message_the_bar_takes_one_line() {
        let screen = Screen::new(80);
        let progress = Progress::on_term(10, screen.clone());
        progress.set_loss(1, 0.5);
        progress.set_message("");
        progress.inc(10);
        progress.finish();
        let rows = rows(&screen.text(), 80);
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert!(rows[0].contains("10/10"), "{rows:#?}");
    }

    #[test]
    fn finish_ends_the_bars_line_once() {
        let screen = Screen::new(80);
        let progress = Progress::on_term(5, screen.clone());
        progress.set_message("hello");
        progress.inc(5);
        progress.finish();
        let text = screen.text();
        assert!(text.ends_with('\n'), "{text:?}");
        assert!(!text.ends_with("\n\n"), "{text:?}");
        // Finishing again, clearing, dropping: nothing more is written.
        progress.clone().finish();
        progress.finish_and_clear();
        drop(progress);
        assert_eq!(screen.text(), text);
    }

    #[test]
    fn a_bar_dropped_unfinished_ends_its_line_too() {
        let screen = Screen::new(80);
        let progress = Progress::on_term(5, screen.clone());
        let clone = progress.clone();
        progress.inc(2);
        drop(progress);
        assert!(!screen.text().ends_with('\n'), "{:?}", screen.text());
        drop(clone);
        let text = screen.text();
        assert!(
            text.ends_with('\n') && last_frame(&text).contains("5/5"),
            "{text:?}"
        );
    }

    #[test]
    fn a_cleared_bar_gets_no_newline() {
        let screen = Screen::new(80);
        let progress = Progress::on_term(5, screen.clone());
        progress.inc(2);
        progress.finish_and_clear();
        let text = screen.text();
        assert!(!text.ends_with('\n'), "{text:?}");
        progress.finish();
        assert_eq!(screen.text(), text);
    }
}
