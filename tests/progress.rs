//! The progress bar: quiet off a terminal (nothing written, nothing panics through a whole run),
//! quiet on request, and drawn with the live loss on a terminal.
//!
//! The runs that must see a real standard error run in a child process: this test binary again,
//! with one of the `#[ignore]`d `child_*` tests selected, its standard error a pipe (not a
//! terminal) or, through `script`, a pseudo-terminal.

use std::io::IsTerminal;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use bpnet::progress::Progress;

/// Set in the child processes: the `child_*` tests do nothing without it (`--ignored` alone).
const CHILD: &str = "BPNET_PROGRESS_TEST_CHILD";

/// A whole training run's worth of calls, including odd ones: NaN and infinite losses, going past
/// the total, changing it, finishing twice.
fn full_run(progress: &Progress, steps: u64, pause: Duration) {
    progress.set_message("starting");
    for step in 0..steps {
        let loss = 1.0 / (1.0 + step as f64);
        progress.set_loss(step as usize, loss);
        progress.inc(1);
        if step % 10 == 0 {
            progress.set_message(format!("validation {:.1}%", 50.0 + step as f64 / 20.0));
        }
        sleep(pause);
    }
    progress.set_loss(usize::MAX, f64::NAN);
    progress.set_loss(7, f64::INFINITY);
    progress.inc(5); // past the total
    progress.set_total(steps / 2);
    progress.set_position(steps / 4);
    progress.set_total(steps + 5);
    progress.set_position(steps + 5);
    progress.set_loss(steps as usize, 0.125);
    let echoed = progress.suspend(|| 42);
    assert_eq!(echoed, 42);
    progress.finish();
    progress.finish();
    progress.finish_and_clear();
}

/// Runs the ignored test `name` of this binary in a child process, standard error and output
/// captured (pipes, not terminals).
fn run_child(name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            name,
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
#[ignore = "run by off_a_terminal_nothing_is_written, in a child whose stderr is a pipe"]
fn child_off_a_terminal() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    assert!(!std::io::stderr().is_terminal());
    let progress = Progress::new(1000);
    assert!(progress.is_hidden());
    let clone = progress.clone();
    full_run(&clone, 1000, Duration::ZERO);
    // Dropped unfinished: nothing drawn either.
    let unfinished = Progress::new(10);
    unfinished.set_loss(1, 0.5);
    unfinished.inc(3);
}

#[test]
fn off_a_terminal_nothing_is_written() {
    let out = run_child("child_off_a_terminal");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    // The child ran the test (a filter that matched nothing would pass too).
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "the bar wrote to a stderr that is not a terminal: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by on_a_terminal_the_bar_shows_the_loss, in a child under a pseudo-terminal"]
fn child_on_a_terminal() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    assert!(std::io::stderr().is_terminal());
    let quiet = Progress::with_quiet(10, true);
    assert!(quiet.is_hidden());
    let progress = Progress::new(40);
    assert!(!progress.is_hidden());
    // Slow enough for the rate-limited bar to draw several times.
    full_run(&progress, 40, Duration::from_millis(10));
    let last = Progress::new(3);
    last.set_loss(3, 0.03125);
    last.inc(3);
    last.finish();
}

#[test]
fn on_a_terminal_the_bar_shows_the_loss() {
    // `script` (util-linux) gives the child a pseudo-terminal for its standard error.
    let exe = std::env::current_exe().unwrap();
    let command = format!(
        "stty cols 160 rows 40; '{}' --ignored --exact child_on_a_terminal --test-threads=1",
        exe.display()
    );
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .output();
    // Never pass without running: a missing `script` is a failure, not a skip.
    let out = out.unwrap_or_else(|e| {
        panic!("cannot run `script` (util-linux), which this test needs for a terminal: {e}")
    });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {text}");
    assert!(text.contains("1 passed"), "{text}");
    assert!(text.contains("epoch 3  loss 0.031250"), "{text}");
    assert!(text.contains("3/3"), "{text}");
    assert!(text.contains("validation"), "{text}");
}

#[test]
#[ignore = "run by on_80_columns_the_message_is_whole_and_finish_ends_the_line, under a pseudo-terminal"]
fn child_on_80_columns() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    assert!(std::io::stderr().is_terminal());
    let progress = Progress::new(60_000);
    progress.set_loss(123, 0.034_512_5);
    progress.set_message("validation accuracy 97.25% (best 97.50%)");
    for _ in 0..6 {
        progress.inc(10_000);
        sleep(Duration::from_millis(60));
    }
    progress.finish();
    // Past libtest's capture, as a program's next line would be.
    use std::io::Write;
    std::io::stderr().write_all(b"NEXT LINE\n").unwrap();
}

/// On an 80-column terminal the message gets a line of its own (on the bar's line it was cut to
/// four characters), and after `finish` the next line printed starts on a line of its own.
#[test]
fn on_80_columns_the_message_is_whole_and_finish_ends_the_line() {
    let exe = std::env::current_exe().unwrap();
    let command = format!(
        "stty cols 80 rows 24; '{}' --ignored --exact child_on_80_columns --test-threads=1",
        exe.display()
    );
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `script` (util-linux): {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {text}");
    assert!(text.contains("1 passed"), "{text}");
    assert!(text.contains("60000/60000"), "{text}");
    assert!(
        text.contains("validation accuracy 97.25% (best 97.50%)"),
        "{text}"
    );
    let next = text.find("NEXT LINE").expect("the line after the bar");
    let before = text[..next].trim_end_matches('\r');
    assert!(
        before.ends_with('\n'),
        "the line after the bar continues the bar's: {:?}",
        &text[next.saturating_sub(100)..next + 9]
    );
}

#[test]
fn hidden_and_quiet_bars_draw_nothing_and_take_every_call() {
    let hidden = Progress::hidden();
    assert!(hidden.is_hidden());
    assert!(Progress::default().is_hidden());
    full_run(&hidden, 100, Duration::ZERO);
    let quiet = Progress::with_quiet(100, true);
    assert!(quiet.is_hidden());
    full_run(&quiet, 100, Duration::ZERO);
    // Not asked for quiet: shown exactly when this process's stderr is a terminal.
    let auto = Progress::with_quiet(100, false);
    assert_eq!(auto.is_hidden(), !std::io::stderr().is_terminal());
    auto.finish_and_clear();
}

#[test]
fn works_as_a_training_loop_hook() {
    // A per-epoch callback as a trainer would take it: `FnMut(usize, f64)`, and `Fn` too.
    fn train(epochs: usize, mut on_epoch: impl FnMut(usize, f64)) -> f64 {
        let mut loss = 1.0;
        for epoch in 0..epochs {
            loss *= 0.5;
            on_epoch(epoch, loss);
        }
        loss
    }
    let progress = Progress::with_quiet(8, true);
    let mut seen = 0;
    let last = train(8, |epoch, loss| {
        progress.set_loss(epoch, loss);
        progress.inc(1);
        seen += 1;
    });
    progress.finish();
    assert_eq!((seen, last), (8, 0.5f64.powi(8)));
    // Moved into a thread, as a trainer on another thread would need.
    let progress = Progress::hidden();
    std::thread::spawn(move || progress.inc(1)).join().unwrap();
}
