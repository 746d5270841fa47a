//! Helper threads for large matrix products, started once and reused.
//!
//! A product hands each thread its share by reference and waits until all are done, so a
//! training step neither spawns a thread nor allocates (a thread spawned per product cost as much
//! as the second core gained). Each helper has its own state flag, spins briefly for the next
//! share before it sleeps (a round trip then takes 0.35 µs), and the calling thread always takes
//! share 0 itself.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::Error;

/// One share of work: `call(data, index)` runs `(*data as &F)(index)` for the `F` it was made for.
#[derive(Clone, Copy)]
struct Task {
    call: unsafe fn(*const (), usize),
    data: *const (),
    index: usize,
}

// SAFETY: `data` points at an `F: Sync` (see `Workers::run`), which may be shared with another
// thread; `run` does not return (nor unwind) before every task it handed out is done.
unsafe impl Send for Task {}

const IDLE: u8 = 0;
const BUSY: u8 = 1;
const DONE: u8 = 2;
const PANICKED: u8 = 3;
const QUIT: u8 = 4;

/// How many times an idle helper checks for work before it sleeps, and the caller checks for a
/// finished helper before it yields: a few microseconds. Longer spins kept products that follow
/// each other closely from waiting for a wake-up (about 14 µs here), but in a training step the
/// products are further apart than that, and a spinning helper slowed the caller's own work (the
/// two may share a core).
const SPINS: u32 = 1 << 8;

struct Shared {
    state: AtomicU8,
    task: Mutex<Option<Task>>,
}

struct Helper {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The threads of a product beyond the caller's: `threads() - 1` helpers, asleep between
/// bursts of products.
#[derive(Default)]
pub struct Workers {
    helpers: Vec<Helper>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.threads())
            .finish()
    }
}

fn helper_loop(shared: &Shared) {
    loop {
        let mut spins = 0;
        loop {
            match shared.state.load(Ordering::Acquire) {
                BUSY => break,
                QUIT => return,
                _ if spins < SPINS => {
                    spins += 1;
                    std::hint::spin_loop();
                }
                // `run` unparks after setting BUSY, so this cannot miss it; a spurious wake-up
                // just checks again.
                _ => std::thread::park(),
            }
        }
        let task = shared
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let panicked = task.is_some_and(|task| {
            // SAFETY: `run` made `task` for the closure it points at and keeps that alive
            // until this share reports done.
            catch_unwind(AssertUnwindSafe(|| unsafe {
                (task.call)(task.data, task.index)
            }))
            .is_err()
        });
        shared
            .state
            .store(if panicked { PANICKED } else { DONE }, Ordering::Release);
    }
}

/// Starts helper `i` running `body` (`std::thread::Builder::spawn`, or a failing stand-in in
/// tests).
type Spawn<'a> = dyn FnMut(usize, Box<dyn FnOnce() + Send>) -> std::io::Result<JoinHandle<()>> + 'a;

impl Workers {
    /// `threads` in all: this one and `threads - 1` helpers started now (none for 0 or 1).
    ///
    /// # Panics
    /// If the system cannot start a thread (see [`Workers::try_new`], which returns the error
    /// instead).
    #[track_caller]
    pub fn new(threads: usize) -> Self {
        Self::try_new(threads).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `threads` in all: this one and `threads - 1` helpers started now (none for 0 or 1), or
    /// [`Error::Thread`] if the system cannot start one (the helpers already started are then
    /// stopped).
    ///
    /// ```
    /// let workers = bpnet_runtime::workers::Workers::try_new(2)?;
    /// assert_eq!(workers.threads(), 2);
    /// # Ok::<(), bpnet_runtime::Error>(())
    /// ```
    pub fn try_new(threads: usize) -> Result<Self, Error> {
        Self::start(threads, &mut |i, body| {
            std::thread::Builder::new()
                .name(format!("bpnet-gemm-{i}"))
                .spawn(body)
        })
    }

    fn start(threads: usize, spawn: &mut Spawn<'_>) -> Result<Self, Error> {
        // Helpers join the workers one by one, so that a failure drops (stops) those started.
        let mut workers = Self {
            helpers: Vec::new(),
        };
        let wanted = threads.max(1) - 1;
        workers
            .helpers
            .try_reserve_exact(wanted)
            .map_err(|_| Error::Alloc {
                what: "the helper threads' bookkeeping",
                bytes: wanted.checked_mul(size_of::<Helper>()),
            })?;
        for i in 1..=wanted {
            let shared = Arc::new(Shared {
                state: AtomicU8::new(IDLE),
                task: Mutex::new(None),
            });
            let theirs = Arc::clone(&shared);
            let thread =
                spawn(i, Box::new(move || helper_loop(&theirs))).map_err(|e| Error::Thread {
                    threads,
                    reason: e.to_string(),
                })?;
            workers.helpers.push(Helper {
                shared,
                thread: Some(thread),
            });
        }
        // One empty round, so that whatever a new thread allocates on its first steps is
        // allocated now and not during a training step.
        workers.run(&|_| {});
        Ok(workers)
    }

    /// The threads a product uses, the caller's included.
    pub fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Runs `f(0)` on this thread and `f(1)`, …, `f(threads() - 1)` on the helpers, and returns
    /// when all are done. (`&mut self`: one product at a time per set of helpers.)
    ///
    /// # Panics
    /// If `f` panics on any thread (after all shares are done).
    pub fn run<F: Fn(usize) + Sync>(&mut self, f: &F) {
        /// # Safety
        /// `data` points at a live `F`.
        unsafe fn call<F: Fn(usize)>(data: *const (), index: usize) {
            // SAFETY: as the caller guarantees.
            unsafe { (*data.cast::<F>())(index) }
        }
        for (i, h) in self.helpers.iter().enumerate() {
            *h.shared.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(Task {
                call: call::<F>,
                data: (f as *const F).cast(),
                index: i + 1,
            });
            h.shared.state.store(BUSY, Ordering::Release);
            if let Some(t) = &h.thread {
                t.thread().unpark();
            }
        }
        // Waits for the helpers even if `f(0)` unwinds: `f` must outlive their use of it.
        struct Join<'a> {
            workers: &'a Workers,
            panicked: bool,
            done: bool,
        }
        impl Join<'_> {
            fn wait(&mut self) {
                for h in &self.workers.helpers {
                    let mut spins = 0;
                    loop {
                        match h.shared.state.load(Ordering::Acquire) {
                            BUSY if spins < SPINS => {
                                spins += 1;
                                std::hint::spin_loop();
                            }
                            BUSY => std::thread::yield_now(),
                            state => {
                                self.panicked |= state == PANICKED;
                                h.shared.state.store(IDLE, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
                self.done = true;
            }
        }
        impl Drop for Join<'_> {
            fn drop(&mut self) {
                if !self.done {
                    self.wait();
                }
            }
        }
        let mut join = Join {
            workers: self,
            panicked: false,
            done: false,
        };
        f(0);
        join.wait();
        let panicked = join.panicked;
        assert!(
            !panicked,
            "bpnet: a matrix product panicked on a helper thread"
        );
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for h in &mut self.helpers {
            h.shared.state.store(QUIT, Ordering::Release);
            if let Some(t) = h.thread.take() {
                t.thread().unpark();
                // A helper only ends by returning from its loop; nothing to report.
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Workers;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_share_runs_once_per_round() {
        for threads in [0, 1, 2, 3] {
            let mut w = Workers::new(threads);
            assert_eq!(w.threads(), threads.max(1));
            let hits: Vec<AtomicUsize> = (0..w.threads()).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..100 {
                w.run(&|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 100));
        }
    }

    /// A helper that cannot start is an error (not a panic), and the helpers started before it
    /// are stopped.
    #[test]
    fn a_helper_that_cannot_start_is_an_error_and_the_others_stop() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let stopped = Arc::new(AtomicBool::new(false));
        let theirs = Arc::clone(&stopped);
        let mut theirs = Some(theirs);
        let result = Workers::start(3, &mut |i, body| {
            if i == 1 {
                let stopped = theirs.take().expect("helper 1 once");
                std::thread::Builder::new().spawn(move || {
                    body();
                    stopped.store(true, Ordering::SeqCst);
                })
            } else {
                Err(std::io::Error::other("no more threads"))
            }
        });
        assert_eq!(
            result.unwrap_err(),
            crate::Error::Thread {
                threads: 3,
                reason: "no more threads".into()
            }
        );
        // Helper 1 was joined when the workers under construction were dropped.
        assert!(stopped.load(Ordering::SeqCst));
        assert_eq!(Workers::try_new(3).unwrap().threads(), 3);
    }

    #[test]
    fn a_helper_panic_reaches_the_caller_and_the_workers_stay_usable() {
        let mut w = Workers::new(2);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            w.run(&|i| assert!(i == 0, "share {i}"));
        }));
        assert!(caught.is_err());
        let n = AtomicUsize::new(0);
        w.run(&|_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_caller_panic_waits_for_the_helpers() {
        let mut w = Workers::new(2);
        let done = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            w.run(&|i| {
                if i == 0 {
                    panic!("share 0");
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                done.fetch_add(1, Ordering::Relaxed);
            });
        }));
        assert!(caught.is_err());
        // The helper finished before `run` unwound past `done`.
        assert_eq!(done.load(Ordering::Relaxed), 1);
    }
}
