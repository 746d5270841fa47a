//! A packed matrix product for minibatches: `C = β·C + A·B` on row-major or transposed operands,
//! with its packing buffers reserved in advance, so a training step allocates nothing.
//!
//! The classic blocking (Goto): panels of `B` packed `NR` columns wide, blocks of `A` packed `MR`
//! rows tall, and an `MR × NR` register tile accumulated over `KC` steps. For `f32` on a CPU with
//! AVX-512, or with AVX2 and FMA, the tile is written with intrinsics (both with the same bits:
//! one fused multiply-add per step); elsewhere it is plain Rust. For `f32` on a CPU with AVX2 and
//! FMA, a product with at most 12 rows or columns (a layer of 10 outputs) is made by a narrow
//! block instead, one vector per column with the lanes along the other side, with the tile's bits.

use crate::workers::Workers;
use crate::{Error, Float};
use std::sync::{Mutex, MutexGuard, PoisonError};

const KC: usize = 256;
const MC: usize = 64;
const NC: usize = 2048;
const MAX_MR: usize = 8;
const MAX_NR: usize = 32;

/// One thread's packing buffers.
#[derive(Debug, Default)]
struct Buffers<F> {
    a: Vec<F>,
    b: Vec<F>,
}

impl<F: Float> Buffers<F> {
    /// Grows the buffers to `a` and `b` values, or [`Error::Alloc`] (the buffers then keep at
    /// least their old length).
    fn try_reserve(&mut self, (a, b): (usize, usize)) -> Result<(), Error> {
        for (buf, len) in [(&mut self.a, a), (&mut self.b, b)] {
            if buf.len() < len {
                let more = len - buf.len();
                buf.try_reserve_exact(more).map_err(|_| Error::Alloc {
                    what: "the packing buffers of the matrix products",
                    bytes: len.checked_mul(size_of::<F>()),
                })?;
                buf.resize(len, F::ZERO);
            }
        }
        Ok(())
    }
}

/// One thread's share of [`GemmScratch::split`], taken by that thread.
type Block<'a, T> = Mutex<Option<(&'a mut [T], &'a [T])>>;

/// Most threads a product is split across.
pub const MAX_THREADS: usize = 16;

/// Products with at least this many multiply-adds are split across the threads (below, waking a
/// helper costs more than it saves).
const PARALLEL_MIN: usize = 1 << 20;

/// A minibatch whose largest product has at least this many multiply-adds gets two threads by
/// default ([`GemmScratch::threads_by_default`]): 8 times the size at which a product is split,
/// so that most of the step's products are.
pub const DEFAULT_PARALLEL: usize = 8 * PARALLEL_MIN;

/// The threads a minibatch uses by default: 2 where the machine has at least 2 cores and its
/// largest product has at least [`DEFAULT_PARALLEL`] multiply-adds (a 784-256 layer on 64 rows
/// has 12.8 million), else 1. Two, not more: measured on 2 cores, where a second thread made a
/// 784-256-10 step 1.14 to 1.17 times faster on 64 rows and 1.24 to 1.26 times on 256.
///
/// ```
/// use bpnet_runtime::gemm::default_threads;
/// assert_eq!(default_threads(64 * 784 * 256, 2), 2);
/// assert_eq!(default_threads(64 * 784 * 256, 1), 1);
/// assert_eq!(default_threads(64 * 64 * 32, 8), 1);
/// ```
pub fn default_threads(macs: usize, cores: usize) -> usize {
    if cores >= 2 && macs >= DEFAULT_PARALLEL {
        2
    } else {
        1
    }
}

/// Packing buffers for the products of a minibatch, reserved with it, and the helper threads
/// that share large products (none unless [`GemmScratch::set_threads`] asks for them).
#[derive(Debug, Default)]
pub struct GemmScratch<F> {
    /// One per thread, the caller's first; a lock each so that every thread can reach its own
    /// (never contended).
    buffers: Vec<Mutex<Buffers<F>>>,
    /// The largest sizes reserved so far, for buffers added later.
    sizes: (usize, usize),
    workers: Workers,
    /// The most multiply-adds of one product noted so far ([`GemmScratch::note_product`]).
    largest: usize,
    /// Whether the threads were set by [`GemmScratch::set_threads`] (not by the default).
    chosen: bool,
    /// Room for an operand made before a product (a convolution's unfolded patches), on the
    /// caller's thread ([`GemmScratch::try_reserve_work`]).
    work: Vec<F>,
}

/// A copy with as much room reserved, on one thread: helper threads are not copied (start the
/// copy's with [`GemmScratch::set_threads`]).
///
/// # Panics
/// If the buffers cannot be allocated, as `Vec::clone` would.
impl<F: Float> Clone for GemmScratch<F> {
    fn clone(&self) -> Self {
        let mut copy = Self::new();
        for buf in &mut copy.buffers {
            lock(buf)
                .try_reserve(self.sizes)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        copy.sizes = self.sizes;
        copy.largest = self.largest;
        copy.chosen = self.chosen;
        copy.try_reserve_work(self.work.len())
            .unwrap_or_else(|e| panic!("{e}"));
        copy
    }
}

impl<F: Float> GemmScratch<F> {
    /// Empty buffers (they grow on first use unless reserved), one thread.
    pub fn new() -> Self {
        Self {
            buffers: vec![Mutex::default()],
            sizes: (0, 0),
            workers: Workers::default(),
            largest: 0,
            chosen: false,
            work: Vec::new(),
        }
    }

    /// Makes room for `len` values of an operand that a kernel makes before its products (a
    /// convolution's patches, unfolded), so that it allocates nothing; or [`Error::Alloc`] if
    /// the system cannot allocate them (the room is then as before).
    ///
    /// ```
    /// let mut scratch = bpnet_runtime::gemm::GemmScratch::<f32>::new();
    /// scratch.try_reserve_work(150 * 100)?;
    /// assert!(scratch.try_reserve_work(usize::MAX).is_err());
    /// # Ok::<(), bpnet_runtime::Error>(())
    /// ```
    pub fn try_reserve_work(&mut self, len: usize) -> Result<(), Error> {
        if self.work.len() < len {
            let more = len - self.work.len();
            self.work
                .try_reserve_exact(more)
                .map_err(|_| Error::Alloc {
                    what: "the unfolded operands of the matrix products",
                    bytes: len.checked_mul(size_of::<F>()),
                })?;
            self.work.resize(len, F::ZERO);
        }
        Ok(())
    }

    /// The work room, at least `len` values (grown here if it was not reserved), taken out of
    /// the scratch space so that a product can borrow both; give it back with
    /// [`Self::put_work`]. Taking and giving back allocate nothing.
    pub(crate) fn take_work(&mut self, len: usize) -> Vec<F> {
        if self.work.len() < len {
            self.work.resize(len, F::ZERO);
        }
        std::mem::take(&mut self.work)
    }

    /// Gives back the room [`Self::take_work`] took.
    pub(crate) fn put_work(&mut self, work: Vec<F>) {
        self.work = work;
    }

    /// Makes room for products with up to `k` inner and `n` output columns, so that the
    /// products allocate nothing.
    ///
    /// # Panics
    /// If the buffers cannot be allocated (see [`Self::try_reserve`], which returns the error
    /// instead).
    #[track_caller]
    pub fn reserve(&mut self, k: usize, n: usize) {
        self.try_reserve(k, n).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Makes room for products with up to `k` inner and `n` output columns, so that the
    /// products allocate nothing, or [`Error::Alloc`] if the system cannot allocate the buffers
    /// (instead of aborting the process). The buffers are blocked, so their size is bounded
    /// whatever `k` and `n` are (about 2 MB per thread for `f32`): any `k` and `n` are accepted.
    ///
    /// ```
    /// let mut scratch = bpnet_runtime::gemm::GemmScratch::<f32>::new();
    /// scratch.try_reserve(usize::MAX, usize::MAX)?;
    /// # Ok::<(), bpnet_runtime::Error>(())
    /// ```
    pub fn try_reserve(&mut self, k: usize, n: usize) -> Result<(), Error> {
        let kc = k.clamp(1, KC);
        let nc = n.clamp(1, NC).div_ceil(MAX_NR) * MAX_NR;
        // Room to start both buffers on a cache line (see `aligned`).
        let (a, b) = (MC.div_ceil(MAX_MR) * MAX_MR * kc + ALIGN, kc * nc + ALIGN);
        let sizes = (self.sizes.0.max(a), self.sizes.1.max(b));
        if self.buffers.is_empty() {
            self.buffers.push(Mutex::default());
        }
        for buf in &mut self.buffers {
            lock(buf).try_reserve(sizes)?;
        }
        self.sizes = sizes;
        Ok(())
    }

    /// Splits products of at least a million multiply-adds across `threads` threads (clamped
    /// to `1..=MAX_THREADS`): this one and `threads - 1` helpers started now, parked between
    /// products and stopped when the scratch space is dropped. Each thread computes a block of
    /// rows of the product (or of columns, when it has more columns than rows: each thread then
    /// packs only its share of `B`, the larger operand) with its own packing buffers, so the
    /// result is the same, bit for bit, with any number of threads.
    ///
    /// # Panics
    /// If the system cannot start a thread or allocate its buffers (see
    /// [`Self::try_set_threads`], which returns the error instead).
    #[track_caller]
    pub fn set_threads(&mut self, threads: usize) {
        self.try_set_threads(threads)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// As [`Self::set_threads`] (`threads` clamped to `1..=MAX_THREADS`), but if the system
    /// cannot start a thread ([`Error::Thread`]) or allocate its packing buffers
    /// ([`Error::Alloc`]), returns the error and keeps the threads it had: the helpers started
    /// by this call are stopped.
    ///
    /// ```
    /// let mut scratch = bpnet_runtime::gemm::GemmScratch::<f32>::new();
    /// scratch.try_set_threads(2)?;
    /// assert_eq!(scratch.threads(), 2);
    /// scratch.try_set_threads(0)?; // clamped: 1 thread
    /// assert_eq!(scratch.threads(), 1);
    /// # Ok::<(), bpnet_runtime::Error>(())
    /// ```
    pub fn try_set_threads(&mut self, threads: usize) -> Result<(), Error> {
        self.set_threads_with(threads, Workers::try_new)?;
        self.chosen = true;
        Ok(())
    }

    /// Notes a product of `macs` multiply-adds that this scratch space will serve (with the
    /// reservation of its room), for [`Self::threads_by_default`].
    pub fn note_product(&mut self, macs: usize) {
        self.largest = self.largest.max(macs);
    }

    /// Unless [`Self::set_threads`] chose the threads, sets them by [`default_threads`] from
    /// the largest product noted and the machine's cores. A thread that cannot start leaves one
    /// (an optimisation refused, not an error).
    ///
    /// ```
    /// let mut scratch = bpnet_runtime::gemm::GemmScratch::<f32>::new();
    /// scratch.note_product(64 * 784 * 256);
    /// scratch.threads_by_default();
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// assert_eq!(scratch.threads(), if cores >= 2 { 2 } else { 1 });
    /// ```
    pub fn threads_by_default(&mut self) {
        if self.chosen {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = default_threads(self.largest, cores);
        if threads != self.threads() && self.set_threads_with(threads, Workers::try_new).is_err() {
            // The helpers this call started are stopped; one thread it is.
            let _ = self.set_threads_with(1, Workers::try_new);
        }
    }

    /// [`Self::try_set_threads`] with `start` to start the helpers (a failing one in tests).
    fn set_threads_with(
        &mut self,
        threads: usize,
        start: impl FnOnce(usize) -> Result<Workers, Error>,
    ) -> Result<(), Error> {
        let threads = threads.clamp(1, MAX_THREADS);
        let sizes = self.sizes;
        // The new threads' buffers first: if they cannot be allocated, nothing has changed.
        while self.buffers.len() < threads {
            let mut buf = Buffers::default();
            buf.try_reserve(sizes)?;
            self.buffers.push(Mutex::new(buf));
        }
        if threads != self.workers.threads() {
            match start(threads) {
                Ok(workers) => self.workers = workers,
                Err(e) => {
                    self.buffers.truncate(self.workers.threads());
                    return Err(e);
                }
            }
        }
        self.buffers.truncate(threads);
        Ok(())
    }

    /// Runs `f` on blocks of `a` and of `b` (the same positions; `b` may be empty: each block
    /// then gets an empty one), one block per thread when there are several threads and `a` has
    /// at least `min` values, else `f(a, b)` here. For the passes over a whole pool (the update,
    /// the zeroing), which the threads of the products can share: elementwise, so the same bits
    /// either way. Allocates nothing.
    ///
    /// ```
    /// let mut scratch = bpnet_runtime::gemm::GemmScratch::<f32>::new();
    /// scratch.try_set_threads(2)?;
    /// let (mut w, g) = (vec![1.0f32; 1000], vec![0.5f32; 1000]);
    /// scratch.split(&mut w, &g, 100, &|w, g| {
    ///     for (wi, gi) in w.iter_mut().zip(g) {
    ///         *wi -= gi;
    ///     }
    /// });
    /// assert!(w.iter().all(|&v| v == 0.5));
    /// # Ok::<(), bpnet_runtime::Error>(())
    /// ```
    ///
    /// # Panics
    /// If `b` is neither empty nor as long as `a`, or `f` panics.
    pub fn split<T: Send + Sync>(
        &mut self,
        a: &mut [T],
        b: &[T],
        min: usize,
        f: &(dyn Fn(&mut [T], &[T]) + Sync),
    ) {
        assert!(
            b.is_empty() || b.len() == a.len(),
            "split: the slices differ in length"
        );
        let threads = self.workers.threads();
        if threads <= 1 || a.len() < min.max(2) {
            return f(a, b);
        }
        // Blocks a whole number of cache lines long (16 `f32`), one per thread, on the stack.
        let per = a.len().div_ceil(threads).div_ceil(16) * 16;
        let blocks: [Block<'_, T>; MAX_THREADS] = std::array::from_fn(|_| Mutex::new(None));
        for (t, chunk) in a.chunks_mut(per).enumerate() {
            let start = t * per;
            let other = if b.is_empty() {
                b
            } else {
                &b[start..start + chunk.len()]
            };
            *lock(&blocks[t]) = Some((chunk, other));
        }
        self.workers.run(&|t: usize| {
            if let Some((a, b)) = blocks.get(t).and_then(|m| lock(m).take()) {
                f(a, b);
            }
        });
    }

    /// The threads a large product uses (1 unless [`Self::set_threads`] said otherwise).
    pub fn threads(&self) -> usize {
        self.workers.threads()
    }

    /// Hands `other`'s threads over to this scratch space (for a batch that replaces another).
    ///
    /// # Panics
    /// If the buffers of the threads cannot be allocated (see [`Self::try_take_threads`], which
    /// returns the error instead).
    #[track_caller]
    pub fn take_threads(&mut self, other: &mut Self) {
        self.try_take_threads(other)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Hands `other`'s threads over to this scratch space (for a batch that replaces another),
    /// or [`Error::Alloc`] if the system cannot allocate their packing buffers: `other` then
    /// keeps its threads.
    ///
    /// ```
    /// use bpnet_runtime::gemm::GemmScratch;
    ///
    /// let (mut old, mut new) = (GemmScratch::<f32>::new(), GemmScratch::<f32>::new());
    /// old.try_set_threads(2)?;
    /// new.try_take_threads(&mut old)?;
    /// assert_eq!((new.threads(), old.threads()), (2, 1));
    /// # Ok::<(), bpnet_runtime::Error>(())
    /// ```
    pub fn try_take_threads(&mut self, other: &mut Self) -> Result<(), Error> {
        let threads = other.threads().max(1);
        let sizes = self.sizes;
        while self.buffers.len() < threads {
            self.buffers.push(Mutex::default());
        }
        for buf in &mut self.buffers[..threads] {
            lock(buf).try_reserve(sizes)?;
        }
        self.buffers.truncate(threads);
        self.workers = std::mem::take(&mut other.workers);
        self.chosen = other.chosen;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing is left half-written in a buffer by a panic that matters: it is repacked on use.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pointer to `C` for the threads of a product, each of which makes its own disjoint block of
/// rows or of columns from it.
#[derive(Clone, Copy)]
struct BlocksPtr<F>(*mut F);
// SAFETY: every thread reads and writes only its own rows or columns (see `gemm`), and the
// product waits for all.
unsafe impl<F: Send> Send for BlocksPtr<F> {}
// SAFETY: as above.
unsafe impl<F: Send> Sync for BlocksPtr<F> {}

/// The values a `rows × cols` matrix with strides `rs`, `cs` spans, `(rows−1)·rs + (cols−1)·cs + 1`
/// for non-empty shapes; `None` if that overflows.
fn span(rows: usize, rs: usize, cols: usize, cs: usize) -> Option<usize> {
    (rows.checked_sub(1)?.checked_mul(rs)?)
        .checked_add(cols.checked_sub(1)?.checked_mul(cs)?)?
        .checked_add(1)
}

/// Values a buffer may need to skip to start on a 64-byte cache line.
const ALIGN: usize = 16;

/// A tile of `C` made away from `C` (see [`Epilogue::transient`]), aligned as a cache line.
#[repr(align(64))]
struct TileScratch<T, const N: usize>([T; N]);

/// `buf` from its first value on a 64-byte boundary: a vector load from a packed strip then never
/// straddles two cache lines (split loads halved the tile's speed).
fn aligned<F>(buf: &mut [F]) -> &mut [F] {
    let skip = buf.as_ptr().align_offset(64);
    if skip <= ALIGN.min(buf.len()) {
        &mut buf[skip..]
    } else {
        buf
    }
}

/// The `f32` tile with AVX-512: `C[i][j] (+)= Σ_p a[p][i] · b[p][j]` for the top-left
/// `rows × cols` of an 8 × 32 tile of `C` (row stride `ldc`), stored (`overwrite`) or added.
///
/// # Safety
/// The CPU has AVX-512F; `a` holds `kc·8` and `b` `kc·32` values; `c` points at `rows` rows of
/// `cols` writable values spaced `ldc` apart, with `rows ≤ 8` and `cols ≤ 32`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_f32_avx512(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    overwrite: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; 8];
    let (mut pa, mut pb) = (a, b);
    for _ in 0..kc {
        // SAFETY: within the kc·8 and kc·32 values the caller guarantees.
        unsafe {
            let b0 = _mm512_loadu_ps(pb);
            let b1 = _mm512_loadu_ps(pb.add(16));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*pa.add(i));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            pa = pa.add(8);
            pb = pb.add(32);
        }
    }
    // Lanes of the two halves that lie inside the `cols` columns.
    let mask = |lo: usize| -> __mmask16 {
        let n = cols.saturating_sub(lo).min(16);
        ((1u32 << n) - 1) as __mmask16
    };
    let (m0, m1) = (mask(0), mask(16));
    for (i, row) in acc.iter().enumerate().take(rows) {
        // SAFETY: row `i < rows` of `c` has `cols` values; the masks keep to them.
        unsafe {
            let p = c.add(i * ldc);
            let (mut v0, mut v1) = (row[0], row[1]);
            if !overwrite {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, p));
            }
            _mm512_mask_storeu_ps(p, m0, v0);
            // Only a tile wider than 16 columns has a second half (`p + 16` may even lie past
            // the end of `c` otherwise).
            if cols > 16 {
                let p = p.add(16);
                if !overwrite {
                    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, p));
                }
                _mm512_mask_storeu_ps(p, m1, v1);
            }
        }
    }
}

/// The `f32` tile with AVX2 and FMA: what [`tile_f32_avx512`] computes, with the same bits
/// (each value of `C` a chain of one fused multiply-add per `p` in order from 0, then stored or
/// added once), for a CPU without AVX-512.
///
/// Sixteen 8-lane registers cannot hold the 8 × 32 tile's 32 accumulators, so it is made as three
/// blocks, one after the other: rows 0..6 by columns 0..16, then by columns 16..32 (12
/// accumulators each, and per `p` 2 loads of `b` and 6 broadcasts of `a`), then rows 6..8 by all
/// 32 columns (8 accumulators, 4 loads, 2 broadcasts). Twelve chains keep the two FMA units busy
/// through their latency; measured on Zen 3, this beat four 4 × 16 blocks by 2% (64×784×256) and
/// runs at about 95% of the FMA peak. Blocks wholly outside `rows × cols` are skipped.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds `kc·8` and `b` `kc·32` values; `c` points at `rows` rows
/// of `cols` writable values spaced `ldc` apart, with `rows ≤ 8` and `cols ≤ 32`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_f32_avx2(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    overwrite: bool,
) {
    for j0 in [0, 16] {
        if j0 < cols {
            // SAFETY: rows 0..6 and columns j0.. of the tile, of which the block writes the ones
            // inside `rows × cols`; `b + j0` keeps its reads of 16 values per `p` within the strip.
            unsafe {
                block_f32_avx2::<6, 2>(
                    kc,
                    a,
                    b.add(j0),
                    c.add(j0),
                    ldc,
                    rows.min(6),
                    (cols - j0).min(16),
                    overwrite,
                )
            }
        }
    }
    if rows > 6 {
        // SAFETY: rows 6..8 of the tile (of which the block writes the `rows - 6` inside `c`), all
        // columns; `a + 6` keeps its reads of 2 values per `p` within the strip.
        unsafe {
            block_f32_avx2::<2, 4>(
                kc,
                a.add(6),
                b,
                c.add(6 * ldc),
                ldc,
                rows - 6,
                cols,
                overwrite,
            )
        }
    }
}

/// One block of [`tile_f32_avx2`]: `R` rows and `V` registers (`8·V` columns) of accumulators
/// over strips 8 (`a`) and 32 (`b`) values wide, then the top-left `rows × cols` of them stored
/// or added into `C`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` can read `R` values and `b` `8·V` values at each of the offsets
/// `p·8` and `p·32`, `p < kc`; `c` points at `rows ≤ R` rows of `cols ≤ 8·V` writable values
/// spaced `ldc` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn block_f32_avx2<const R: usize, const V: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    overwrite: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    let (mut pa, mut pb) = (a, b);
    for _ in 0..kc {
        // SAFETY: within the values the caller guarantees at offsets p·8 and p·32.
        unsafe {
            let mut bv = [_mm256_setzero_ps(); V];
            for (v, bv) in bv.iter_mut().enumerate() {
                *bv = _mm256_loadu_ps(pb.add(8 * v));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*pa.add(i));
                for (acc, &bv) in row.iter_mut().zip(&bv) {
                    *acc = _mm256_fmadd_ps(ai, bv, *acc);
                }
            }
            pa = pa.add(8);
            pb = pb.add(32);
        }
    }
    // Lanes `..n` of a register set, as the mask of `_mm256_maskload_ps` (sign bits).
    let mask = |n: usize| {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    };
    for (i, row) in acc.iter().enumerate().take(rows) {
        for (v, &val) in row.iter().enumerate() {
            let n = cols.saturating_sub(8 * v).min(8);
            if n == 0 {
                // Past the `cols` columns (and maybe past the end of `c`): not even a masked
                // access.
                break;
            }
            // SAFETY: row `i < rows` of `c` has `cols` values, of which lanes `..n` of this
            // register are the ones from column 8·v: all 8 of them, or only those the mask keeps.
            unsafe {
                let p = c.add(i * ldc + 8 * v);
                if n == 8 {
                    let sum = if overwrite {
                        val
                    } else {
                        _mm256_add_ps(val, _mm256_loadu_ps(p))
                    };
                    _mm256_storeu_ps(p, sum);
                } else {
                    let m = mask(n);
                    let sum = if overwrite {
                        val
                    } else {
                        _mm256_add_ps(val, _mm256_maskload_ps(p, m))
                    };
                    _mm256_maskstore_ps(p, m, sum);
                }
            }
        }
    }
}

/// Most accumulators of [`narrow_f32_avx2`]: with its vectors of `v` and a broadcast, the
/// sixteen registers of AVX2 hold them all.
const NARROW_MAX: usize = 12;

/// A narrow block: `(kc, (v, ps, gs), (w, sp, sq), (out, go))`, as [`narrow_f32_avx2`].
type NarrowBlock<T> =
    unsafe fn(usize, (*const T, usize, usize), (*const T, usize, usize), (*mut T, usize));

/// The narrow product's block with AVX2 and FMA: `G` groups of 8 lanes by `N` accumulators,
/// `out[g·go + q·8 + l] = Σ_p v[g·gs + p·ps + l] · w[p·sp + q·sq]`, each sum one fused
/// multiply-add per `p` in order from `+0.0`, the chain of [`tile_f32_avx2`]: the same bits.
///
/// For a product with few columns (a layer of 10 outputs), the 8 × 32 tile computes 20 vectors
/// a step of `p` for every 8 rows, of which 10 columns are kept; these blocks compute one
/// vector per column, the lanes along the rows (or the other way round for few rows).
///
/// # Safety
/// The CPU has AVX2 and FMA; `v` holds 8 values from each offset `g·gs + p·ps`, `w` the offsets
/// `p·sp + q·sq`, and `out` 8 values from each `g·go + q·8` (`g < G`, `p < kc`, `q < N`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_f32_avx2<const N: usize, const G: usize>(
    kc: usize,
    (v, ps, gs): (*const f32, usize, usize),
    (w, sp, sq): (*const f32, usize, usize),
    (out, go): (*mut f32, usize),
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); N]; G];
    for p in 0..kc {
        // SAFETY: offsets inside what the caller guarantees.
        unsafe {
            let mut vs = [_mm256_setzero_ps(); G];
            for (g, vs) in vs.iter_mut().enumerate() {
                *vs = _mm256_loadu_ps(v.add(g * gs + p * ps));
            }
            for q in 0..N {
                let wq = _mm256_broadcast_ss(&*w.add(p * sp + q * sq));
                for (acc, &vs) in acc.iter_mut().zip(&vs) {
                    acc[q] = _mm256_fmadd_ps(vs, wq, acc[q]);
                }
            }
        }
    }
    for (g, acc) in acc.iter().enumerate() {
        for (q, &acc) in acc.iter().enumerate() {
            // SAFETY: as the caller guarantees.
            unsafe { _mm256_storeu_ps(out.add(g * go + q * 8), acc) };
        }
    }
}

/// The narrow block for `n` accumulators and `groups` groups of lanes (`n·groups ≤
/// NARROW_MAX`, `groups ≤ 2`); `None` for other shapes or on a CPU without AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
fn narrow_f32(n: usize, groups: usize) -> Option<NarrowBlock<f32>> {
    if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    {
        return None;
    }
    macro_rules! pick {
        ($($n:literal)*; $($h:literal)*) => {
            match (n, groups) {
                $(($n, 1) => Some(narrow_f32_avx2::<$n, 1> as NarrowBlock<f32>),)*
                $(($h, 2) => Some(narrow_f32_avx2::<$h, 2> as NarrowBlock<f32>),)*
                _ => None,
            }
        };
    }
    pick!(1 2 3 4 5 6 7 8 9 10 11 12; 1 2 3 4 5 6)
}

/// Packs `f32` values stored down columns (element `(p, j)` at `src[j·cs + p]`, `p < kc`,
/// `j < cols`) into rows `width` apart (`dst[p·width + j]`), by 8 × 8 transposes in registers.
///
/// # Safety
/// The CPU has AVX; `src` holds `(cols - 1)·cs + kc` values and `dst` `kc·width`, `cols ≤ width`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn pack_columns_f32_avx(
    src: *const f32,
    cs: usize,
    kc: usize,
    cols: usize,
    dst: *mut f32,
    width: usize,
) {
    use std::arch::x86_64::*;
    let (full_p, full_j) = (kc / 8 * 8, cols / 8 * 8);
    for p0 in (0..full_p).step_by(8) {
        for j0 in (0..full_j).step_by(8) {
            // SAFETY: columns j0..j0 + 8 and rows p0..p0 + 8 lie inside what the caller guarantees.
            unsafe {
                let r = |q: usize| _mm256_loadu_ps(src.add((j0 + q) * cs + p0));
                let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
                let (r4, r5, r6, r7) = (r(4), r(5), r(6), r(7));
                let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
                let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
                let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
                let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let w = |q: usize, v: __m256| _mm256_storeu_ps(dst.add((p0 + q) * width + j0), v);
                w(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
                w(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
                w(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
                w(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
                w(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
                w(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
                w(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
                w(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
            }
        }
    }
    for p in full_p..kc {
        for j in 0..full_j {
            // SAFETY: as above.
            unsafe { *dst.add(p * width + j) = *src.add(j * cs + p) };
        }
    }
    for j in full_j..cols {
        for p in 0..kc {
            // SAFETY: as above.
            unsafe { *dst.add(p * width + j) = *src.add(j * cs + p) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn fast_pack_f32(src: &[f32], cs: usize, kc: usize, cols: usize, dst: &mut [f32]) -> bool {
    let width = dst.len() / kc.max(1);
    let fits = kc > 0
        && cols > 0
        && cols <= width
        && kc.checked_mul(width) == Some(dst.len())
        && span(cols, cs, kc, 1).is_some_and(|need| src.len() >= need);
    if fits && std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX and the lengths are the ones the packing reads and writes.
        unsafe { pack_columns_f32_avx(src.as_ptr(), cs, kc, cols, dst.as_mut_ptr(), width) };
        true
    } else {
        false
    }
}

/// What the product's driver does with its final tiles: `ahead` before making one (a hint, e.g.
/// to prefetch what `finish` will touch), `finish` on each of its rows once final (see
/// `gemm_then`).
trait Epilogue<T>: Sync {
    /// Called before the final values of rows `row .. row + rows` from column `col0` (one tile)
    /// are made; does nothing unless overridden.
    #[inline(always)]
    fn ahead(&self, _row: usize, _col0: usize, _rows: usize) {}

    /// `C[row][col0 .. col0 + seg.len()]`, final.
    fn finish(&self, row: usize, col0: usize, seg: &mut [T]);

    /// Whether `C` only carries the product to `finish` (its values after are unspecified):
    /// then, when a single block of `k` makes the whole sum, each tile is made in a scratch of
    /// the tile's size, which stays in L1, instead of in `C` (see `gemm_zip`'s `keep`).
    #[inline(always)]
    fn transient(&self) -> bool {
        false
    }
}

/// The epilogue of `gemm_then`: its closure.
struct Then<'a, F>(&'a F);

impl<T, F: Fn(usize, usize, &mut [T]) + Sync> Epilogue<T> for Then<'_, F> {
    #[inline(always)]
    fn finish(&self, row: usize, col0: usize, seg: &mut [T]) {
        (self.0)(row, col0, seg)
    }
}

/// The epilogue of `gemm_zip`: its closure, with the matching segment of `Z` (row stride `ldz`),
/// whose rows it prefetches ahead of each tile. Made only by `gemm_zip`, which checks that `Z`
/// holds the product's `m × n` places with `ldz ≥ n`.
struct Zip<'a, T, F> {
    z: BlocksPtr<T>,
    ldz: usize,
    finish: &'a F,
    /// `C` is needed after the product (see [`Epilogue::transient`]).
    keep: bool,
}

impl<T: Send, F: Fn(usize, usize, &mut [T], &mut [T]) + Sync> Epilogue<T> for Zip<'_, T, F> {
    #[inline(always)]
    fn ahead(&self, row: usize, col0: usize, rows: usize) {
        // The tile's rows of Z, whose lines are otherwise first touched (and missed) by
        // `finish`, scattered a row stride apart; a tile is at most 128 bytes wide.
        #[cfg(target_arch = "x86_64")]
        for i in 0..rows {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let p = self.z.0.wrapping_add((row + i) * self.ldz + col0) as *const i8;
            // SAFETY: every x86_64 CPU has SSE; a prefetch is only a hint, which reads nothing
            // and cannot fault, whatever the address.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p);
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(127));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (row, col0, rows);
    }

    #[inline(always)]
    fn transient(&self) -> bool {
        !self.keep
    }

    #[inline(always)]
    fn finish(&self, row: usize, col0: usize, seg: &mut [T]) {
        // SAFETY: the driver passes each place of its m × n C once, so the segments of Z (the
        // same places; rows `ldz ≥ n` apart, within Z as `gemm_zip` checked) are disjoint and
        // in bounds, and Z stays borrowed by `gemm_zip` until the product returns.
        let z_seg = unsafe {
            ::core::slice::from_raw_parts_mut(self.z.0.add(row * self.ldz + col0), seg.len())
        };
        (self.finish)(row, col0, seg, z_seg)
    }
}

/// `finish` on each of the `rows × cols` values of a final tile at `c` (row stride `ldc`), whose
/// first value is `C[row][col0]`: compiled for AVX2 where the CPU has it, so that the epilogue
/// (a bias and a tanh, an update of the weights) works on 8 `f32` at a time, with the same
/// operations and so the same bits (the tile itself is chosen apart, in `fast_f32`).
///
/// # Safety
/// `c` points at `rows` rows of `cols` writable values spaced `ldc` apart, which nothing else
/// accesses during the call.
#[inline(always)]
unsafe fn finish_tile<T, E: Epilogue<T>>(
    finish: &E,
    (c, ldc): (*mut T, usize),
    (rows, cols): (usize, usize),
    (row, col0): (usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2; `c` as our caller guarantees.
        return unsafe { finish_tile_avx2(finish, (c, ldc), (rows, cols), (row, col0)) };
    }
    // SAFETY: as our caller guarantees.
    unsafe { finish_rows(finish, (c, ldc), (rows, cols), (row, col0)) }
}

/// [`finish_tile`] in a function compiled for AVX2.
///
/// # Safety
/// The CPU has AVX2; `c` as for [`finish_tile`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn finish_tile_avx2<T, E: Epilogue<T>>(
    finish: &E,
    c: (*mut T, usize),
    shape: (usize, usize),
    at: (usize, usize),
) {
    // SAFETY: as our caller guarantees.
    unsafe { finish_rows(finish, c, shape, at) }
}

/// The rows of [`finish_tile`].
///
/// # Safety
/// As for [`finish_tile`].
#[inline(always)]
unsafe fn finish_rows<T, E: Epilogue<T>>(
    finish: &E,
    (c, ldc): (*mut T, usize),
    (rows, cols): (usize, usize),
    (row, col0): (usize, usize),
) {
    for i in 0..rows {
        // SAFETY: row `i` of the tile, inside C as our caller guarantees.
        let seg = unsafe { ::core::slice::from_raw_parts_mut(c.add(i * ldc), cols) };
        finish.finish(row + i, col0, seg);
    }
}

macro_rules! gemm_impl {
    ($t:ident, $mr:expr, $nr:expr, $fast:expr, $fast_pack:expr, $narrow:expr) => {
        #[doc = concat!("The matrix product for `", stringify!($t), "`.")]
        pub mod $t {
            use super::{GemmScratch, KC, MC, NC};

            const MR: usize = $mr;
            const NR: usize = $nr;

            /// The tile in plain Rust: the accumulators, then stored or added into `C`.
            ///
            /// # Safety
            /// `c` points at `rows ≤ MR` rows of `cols ≤ NR` values spaced `ldc` apart, which
            /// nothing else accesses during the call.
            #[inline(always)]
            unsafe fn tile(
                kc: usize,
                a: &[$t],
                b: &[$t],
                c: *mut $t,
                ldc: usize,
                (rows, cols): (usize, usize),
                overwrite: bool,
            ) {
                let mut acc = [[0.0; NR]; MR];
                for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
                    for i in 0..MR {
                        for j in 0..NR {
                            acc[i][j] += ap[i] * bp[j];
                        }
                    }
                }
                for (i, acc_row) in acc.iter().enumerate().take(rows) {
                    // SAFETY: row `i < rows` of `C`, `cols` values the caller lends us.
                    let c_row = unsafe { ::core::slice::from_raw_parts_mut(c.add(i * ldc), cols) };
                    if overwrite {
                        c_row.copy_from_slice(&acc_row[..cols]);
                    } else {
                        for (cv, av) in c_row.iter_mut().zip(acc_row) {
                            *cv += av;
                        }
                    }
                }
            }

            /// The vector tile `fast` if there is one for this type and CPU, else the plain one.
            ///
            /// # Safety
            /// As [`tile`]'s; `fast` reads strips `kc·MR` (`a`) and `kc·NR` (`b`) values long.
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn run_tile(
                fast: Option<super::FastTile<$t>>,
                kc: usize,
                a: &[$t],
                b: &[$t],
                c: *mut $t,
                ldc: usize,
                (rows, cols): (usize, usize),
                overwrite: bool,
            ) {
                debug_assert!(a.len() >= kc * MR && b.len() >= kc * NR);
                match fast {
                    // SAFETY: the strips are as long as `fast` reads, `c` as the caller
                    // guarantees.
                    Some(f) => unsafe {
                        f(kc, a.as_ptr(), b.as_ptr(), c, ldc, rows, cols, overwrite)
                    },
                    // SAFETY: as above.
                    None => unsafe { tile(kc, a, b, c, ldc, (rows, cols), overwrite) },
                }
            }

            /// `d = src` if both are `W` values long (then true): a copy of a known length.
            #[inline(always)]
            fn copy_full<const W: usize>(d: &mut [$t], src: &[$t]) -> bool {
                match (<&mut [$t; W]>::try_from(d), <&[$t; W]>::try_from(src)) {
                    (Ok(d), Ok(src)) => {
                        *d = *src;
                        true
                    }
                    _ => false,
                }
            }

            /// Packs rows `p0..p0 + kc` and columns `j0..j0 + nc` of `B` (element `(p, j)` at
            /// `b[p·rs + j·cs]`) into strips `NR` columns wide, `p`-major, zero-padded.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            fn pack(
                b: &[$t],
                (rs, cs): (usize, usize),
                (p0, kc): (usize, usize),
                (j0, nc): (usize, usize),
                width: usize,
                dst: &mut [$t],
            ) {
                for (s, strip) in dst[..nc.div_ceil(width) * kc * width]
                    .chunks_exact_mut(kc * width)
                    .enumerate()
                {
                    let js = j0 + s * width;
                    let cols = width.min(j0 + nc - js);
                    if cs == 1 {
                        // Rows of B are contiguous: copy them; a full strip (`NR` or `MR`
                        // wide) as an array, a copy of known length the compiler inlines (of
                        // `cols` values, it called `memcpy` for every row of the strip).
                        for (p, d) in strip.chunks_exact_mut(width).enumerate() {
                            let start = (p0 + p) * rs + js;
                            let src = &b[start..start + cols];
                            if !copy_full::<NR>(d, src) && !copy_full::<MR>(d, src) {
                                d[..cols].copy_from_slice(src);
                                d[cols..].fill(0.0);
                            }
                        }
                    } else {
                        if cols < width {
                            strip.fill(0.0);
                        }
                        if rs == 1 {
                            // Columns of B are contiguous: read them down, write across.
                            let fast: Option<fn(&[$t], usize, usize, usize, &mut [$t]) -> bool> =
                                $fast_pack;
                            if let Some(f) = fast
                                && f(&b[js * cs + p0..], cs, kc, cols, strip)
                            {
                                continue;
                            }
                            for jj in 0..cols {
                                let start = (js + jj) * cs + p0;
                                for (p, &v) in b[start..start + kc].iter().enumerate() {
                                    strip[p * width + jj] = v;
                                }
                            }
                        } else {
                            for p in 0..kc {
                                for jj in 0..cols {
                                    strip[p * width + jj] = b[(p0 + p) * rs + (js + jj) * cs];
                                }
                            }
                        }
                    }
                }
            }

            /// `C = β·C + A·B`: `A` is `m × k` with element `(i, p)` at `a[i·rsa + p·csa]`, `B`
            /// is `k × n` with element `(p, j)` at `b[p·rsb + j·csb]`, `C` is `m × n` row-major.
            /// `β` is 0 (overwrite) or 1 (accumulate).
            ///
            /// # Panics
            /// If an operand is too short for its shape and strides (or their span overflows
            /// `usize`), or `β` is neither 0 nor 1.
            #[allow(clippy::too_many_arguments)]
            pub fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                sa: (usize, usize),
                b: &[$t],
                sb: (usize, usize),
                beta: $t,
                c: &mut [$t],
                scratch: &mut GemmScratch<$t>,
            ) {
                // A finish that does nothing compiles away: the same code as a bare product.
                gemm_then(m, k, n, a, sa, b, sb, beta, c, scratch, &|_, _, _| {})
            }

            /// [`gemm`] with an epilogue: `finish(row, col0, seg)` is called on every segment
            /// `seg = C[row][col0 .. col0 + seg.len()]` of `C` (at most one tile wide) as soon
            /// as its values are final, i.e. after the last block of `k` has been added into
            /// it, while they are still in the L1 cache. A pass over the product's result (a
            /// bias and an activation, an update of the weights) fused this way saves reading
            /// `C` back from memory.
            ///
            /// Every value of `C` lies in exactly one segment, and each segment is passed
            /// exactly once; the segments of a split product are passed by the thread that made
            /// them (hence `Sync`), in no particular order. `finish` may change the segment:
            /// its values are not read again. `C` is as [`gemm`] makes it, bit for bit, before
            /// `finish` sees it. Allocates nothing.
            ///
            /// ```
            /// use bpnet_runtime::gemm::{GemmScratch, f32::gemm_then};
            /// use std::sync::atomic::{AtomicUsize, Ordering};
            ///
            /// // C = A·B with A 3 × 2 and B 2 × 4 (all ones): each value is 2.
            /// let (a, b, mut c) = ([1.0f32; 6], [1.0f32; 8], [0.0f32; 12]);
            /// let seen = AtomicUsize::new(0);
            /// let finish = |_row: usize, _col0: usize, seg: &mut [f32]| {
            ///     assert!(seg.iter().all(|&v| v == 2.0)); // final values
            ///     seen.fetch_add(seg.len(), Ordering::Relaxed);
            /// };
            /// let mut scratch = GemmScratch::new();
            /// gemm_then(3, 2, 4, &a, (2, 1), &b, (4, 1), 0.0, &mut c, &mut scratch, &finish);
            /// assert_eq!(seen.into_inner(), 12);
            /// ```
            ///
            /// # Panics
            /// As [`gemm`], or if `finish` panics.
            #[allow(clippy::too_many_arguments)]
            pub fn gemm_then<F>(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                sa: (usize, usize),
                b: &[$t],
                sb: (usize, usize),
                beta: $t,
                c: &mut [$t],
                scratch: &mut GemmScratch<$t>,
                finish: &F,
            ) where
                F: Fn(usize, usize, &mut [$t]) + Sync,
            {
                drive(
                    m,
                    k,
                    n,
                    a,
                    sa,
                    b,
                    sb,
                    beta,
                    c,
                    scratch,
                    &super::Then(finish),
                )
            }

            /// [`gemm_then`] with any [`Epilogue`](super::Epilogue).
            #[allow(clippy::too_many_arguments)]
            fn drive<E: super::Epilogue<$t>>(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                (rsa, csa): (usize, usize),
                b: &[$t],
                (rsb, csb): (usize, usize),
                beta: $t,
                c: &mut [$t],
                scratch: &mut GemmScratch<$t>,
                finish: &E,
            ) {
                assert!(beta == 0.0 || beta == 1.0, "gemm: β must be 0 or 1");
                if m == 0 || n == 0 {
                    return;
                }
                let mn = m.checked_mul(n).expect("gemm: m × n overflows");
                assert!(c.len() >= mn, "gemm: C is too short");
                let c = &mut c[..mn];
                if k == 0 {
                    if beta == 0.0 {
                        c.fill(0.0);
                    }
                    for (row, seg) in c.chunks_exact_mut(n).enumerate() {
                        finish.finish(row, 0, seg);
                    }
                    return;
                }
                assert!(
                    super::span(m, rsa, k, csa).is_some_and(|need| a.len() >= need),
                    "gemm: A is too short"
                );
                assert!(
                    super::span(k, rsb, n, csb).is_some_and(|need| b.len() >= need),
                    "gemm: B is too short"
                );
                scratch.reserve(k, n);
                let GemmScratch {
                    buffers, workers, ..
                } = scratch;
                let threads = workers.threads().min(buffers.len());
                let large = m.saturating_mul(n).saturating_mul(k) >= super::PARALLEL_MIN;
                // Each thread packs its share of one operand and all of the other: the one split
                // is the larger (A's m rows or B's n columns), whose packing is then shared.
                let by_columns = n > m && n >= 2 * NR;
                if threads > 1 && large && (by_columns || m >= 2 * MR) {
                    // Blocks of rows or of columns, a whole number of tiles each, one per thread.
                    let (len, unit) = if by_columns { (n, NR) } else { (m, MR) };
                    let per = len.div_ceil(threads).div_ceil(unit) * unit;
                    let c = super::BlocksPtr(c.as_mut_ptr());
                    let buffers = &buffers[..];
                    workers.run(&|t: usize| {
                        let first = (t * per).min(len);
                        let count = per.min(len - first);
                        if count == 0 {
                            return;
                        }
                        let mut buf = super::lock(&buffers[t]);
                        // SAFETY: rows `first..first + count` of the m × n values of C (stride n),
                        // or those columns of all its rows, which no other thread touches
                        // (first = t·per), and `run` returns only when all are done.
                        unsafe {
                            if by_columns {
                                serial(
                                    m,
                                    k,
                                    count,
                                    a,
                                    (rsa, csa),
                                    &b[first * csb..],
                                    (rsb, csb),
                                    beta,
                                    ({ c }.0.add(first), n),
                                    &mut buf,
                                    ((0, first), finish),
                                )
                            } else {
                                serial(
                                    count,
                                    k,
                                    n,
                                    &a[first * rsa..],
                                    (rsa, csa),
                                    b,
                                    (rsb, csb),
                                    beta,
                                    ({ c }.0.add(first * n), n),
                                    &mut buf,
                                    ((first, 0), finish),
                                )
                            }
                        }
                    });
                } else {
                    let mut buf = super::lock(&buffers[0]);
                    // SAFETY: C is the m × n values of `c`, ours.
                    unsafe {
                        serial(
                            m,
                            k,
                            n,
                            a,
                            (rsa, csa),
                            b,
                            (rsb, csb),
                            beta,
                            (c.as_mut_ptr(), n),
                            &mut buf,
                            ((0, 0), finish),
                        )
                    };
                }
            }

            /// [`gemm_then`] with a second `m × n` matrix `Z` (row-major, row stride `ldz`):
            /// `finish(row, col0, seg, z_seg)` also gets `z_seg = Z[row][col0 .. col0 +
            /// seg.len()]`, the values of `Z` at the places of `seg`. The safe way for the threads
            /// of a product to write a result of its epilogue into another matrix (an
            /// activation, the weights being updated): each value of `Z` is lent to one call.
            ///
            /// With `keep` false, `C` only carries the product to `finish`: where one block of
            /// `k` (at most 256) makes the whole sum and `β` is 0, each tile is made in a
            /// scratch of its size, in the L1 cache, and `C` is left as it was (the update of
            /// large weights then does not also write, and first read, their gradient's lines);
            /// otherwise `C` holds partial sums on their way. Its values after are unspecified.
            ///
            /// ```
            /// use bpnet_runtime::gemm::{GemmScratch, f64::gemm_zip};
            ///
            /// // Z = 2·(A·B) + Z, A·B kept in C.
            /// let (a, b, mut c) = ([1.0; 6], [1.0; 8], [0.0; 12]);
            /// let mut z = [1.0; 12];
            /// let mut scratch = GemmScratch::new();
            /// gemm_zip(3, 2, 4, &a, (2, 1), &b, (4, 1), 0.0, &mut c, &mut scratch, true, (&mut z, 4),
            ///     &|_, _, seg: &mut [f64], z_seg: &mut [f64]| {
            ///         for (z, &v) in z_seg.iter_mut().zip(seg.iter()) {
            ///             *z += 2.0 * v;
            ///         }
            ///     });
            /// assert_eq!((c, z), ([2.0; 12], [5.0; 12]));
            /// ```
            ///
            /// # Panics
            /// As [`gemm`]; if `ldz < n` or `Z` is shorter than `m` rows of stride `ldz` (the
            /// last row `n` values); or if `finish` panics.
            #[allow(clippy::too_many_arguments)]
            pub fn gemm_zip<F>(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                sa: (usize, usize),
                b: &[$t],
                sb: (usize, usize),
                beta: $t,
                c: &mut [$t],
                scratch: &mut GemmScratch<$t>,
                keep: bool,
                (z, ldz): (&mut [$t], usize),
                finish: &F,
            ) where
                F: Fn(usize, usize, &mut [$t], &mut [$t]) + Sync,
            {
                if m == 0 || n == 0 {
                    return gemm(m, k, n, a, sa, b, sb, beta, c, scratch);
                }
                assert!(
                    ldz >= n && super::span(m, ldz, n, 1).is_some_and(|need| z.len() >= need),
                    "gemm: Z is too short"
                );
                let zip = super::Zip {
                    z: super::BlocksPtr(z.as_mut_ptr()),
                    ldz,
                    finish,
                    keep,
                };
                drive(m, k, n, a, sa, b, sb, beta, c, scratch, &zip)
            }

            /// The product where `C` has at most `NARROW_MAX` columns (lanes along its rows, from
            /// `A`; `B` read in place) or rows (lanes along its columns, from `B`; `A` read in
            /// place), the lanes' operand read in place in strips of 8 where they are contiguous
            /// and packed otherwise, by the narrow
            /// block, which makes each value by the tile's chain (the same bits) without the
            /// tile's unused columns; then `finish` on every block of `C` (with a transient `C`
            /// and one block of `k`, on each group of lanes as it is made, and `C` is not
            /// written). `false` (nothing done) for other shapes or where there is no narrow
            /// block.
            ///
            /// # Safety
            /// As for [`serial`].
            #[allow(clippy::too_many_arguments)]
            unsafe fn narrow<E>(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                (rsa, csa): (usize, usize),
                b: &[$t],
                (rsb, csb): (usize, usize),
                beta: $t,
                (c, ldc): (*mut $t, usize),
                buf: &mut super::Buffers<$t>,
                ((row0, col0), finish): ((usize, usize), &E),
            ) -> bool
            where
                E: super::Epilogue<$t>,
            {
                use super::NARROW_MAX;
                let pick: Option<fn(usize, usize) -> Option<super::NarrowBlock<$t>>> = $narrow;
                let Some(pick) = pick else {
                    return false;
                };
                let by_rows = n <= NARROW_MAX && (m >= n || m > NARROW_MAX);
                if !(by_rows || m <= NARROW_MAX) || k == 0 {
                    return false;
                }
                // Lanes and accumulators.
                let (lanes, accs) = if by_rows { (m, n) } else { (n, m) };
                // For one and two groups of lanes: the accumulators in chunks that fit the
                // registers, and the blocks for a whole and for the last chunk.
                let plan = |groups: usize| {
                    let chunk = accs.div_ceil(accs.div_ceil(NARROW_MAX / groups));
                    let last = accs - (accs - 1) / chunk * chunk;
                    Some((chunk, pick(chunk, groups)?, pick(last, groups)?))
                };
                let (Some(one), Some(two)) = (plan(1), plan(2)) else {
                    return false;
                };
                // The lanes' operand, element (p, lane) at `[p·rs + lane·cs]`, and the
                // accumulators', element (p, q) at `[p·sp + q·sq]`.
                let (lo, (rs, cs)) = if by_rows {
                    (a, (csa, rsa))
                } else {
                    (b, (rsb, csb))
                };
                let (wo, (sp, sq)) = if by_rows {
                    (b, (rsb, csb))
                } else {
                    (a, (csa, rsa))
                };
                let vpack = super::aligned(&mut buf.a);
                // The sums of each group of 8 lanes, accumulator `q` from `q·8` (group `g` from
                // `g·go`); for lanes along C's columns, that is the block of C they are, row
                // stride 8. With a transient C and one block of k, `finish` takes them from
                // here (lanes along the rows: from `across`, the block turned) and C is not
                // written.
                let go = NARROW_MAX * 8;
                let mut sums = super::TileScratch([0.0; 2 * NARROW_MAX * 8]);
                let mut across = super::TileScratch([0.0; NARROW_MAX * 8]);
                let through = finish.transient() && beta == 0.0 && k <= KC;
                let out = NarrowOut {
                    c,
                    ldc,
                    origin: (row0, col0),
                    finish,
                    by_rows,
                    accs,
                    through,
                };
                for pc in (0..k).step_by(KC) {
                    let kc = KC.min(k - pc);
                    let overwrite = beta == 0.0 && pc == 0;
                    let w = &wo[pc * sp..];
                    assert!(
                        w.len() > (kc - 1) * sp + (accs - 1) * sq,
                        "gemm: a short operand"
                    );
                    for l0 in (0..lanes).step_by(MC) {
                        let lc = MC.min(lanes - l0);
                        // Lanes contiguous in their operand: its full strips of 8 are read in
                        // place, the rest packed.
                        let full = if cs == 1 { lc / 8 } else { 0 };
                        if full * 8 < lc {
                            pack(
                                lo,
                                (rs, cs),
                                (pc, kc),
                                (l0 + full * 8, lc - full * 8),
                                8,
                                vpack,
                            );
                        }
                        let strips = lc.div_ceil(8);
                        let mut s = 0;
                        while s < strips {
                            // Two strips at once where both are read the same way.
                            let pair = s + 1 < strips && (s + 1 < full || s >= full);
                            let (groups, (chunk, whole, last)) =
                                if pair { (2, two) } else { (1, one) };
                            let (v, ps, gs) = if s < full {
                                (&lo[pc * rs + l0 + s * 8..], rs, 8)
                            } else {
                                (&vpack[(s - full) * kc * 8..], 8, kc * 8)
                            };
                            assert!(
                                v.len() >= (groups - 1) * gs + (kc - 1) * ps + 8,
                                "gemm: a short strip"
                            );
                            // SAFETY: `v` holds `groups` strips and `w` every accumulator's
                            // values (both checked above); `pick` chose the blocks for this CPU.
                            unsafe {
                                narrow_sums(
                                    kc,
                                    (v, ps, gs),
                                    (w, sp, sq),
                                    (accs, chunk, whole, last),
                                    &mut sums.0,
                                )
                            };
                            for (g, st) in sums.0.chunks_exact_mut(go).take(groups).enumerate() {
                                let first = l0 + (s + g) * 8;
                                let lanes = (first, 8.min(l0 + lc - first));
                                // SAFETY: lanes `first..first + 8` (those below `lanes`) and
                                // the `accs` accumulators are values of C, as the caller
                                // guarantees.
                                unsafe {
                                    out.group(&mut st[..accs * 8], lanes, overwrite, &mut across.0)
                                };
                            }
                            s += groups;
                        }
                    }
                }
                if !through {
                    // SAFETY: C is ours, m × n from `c`, its values final.
                    unsafe { finish_blocks(m, n, (c, ldc), ((row0, col0), finish)) };
                }
                true
            }

            /// The sums of a narrow block's `groups` strips for every accumulator, in chunks
            /// that fit the registers (`whole` for `chunk` of them, `last` for the rest):
            /// accumulator `q` of group `g` into `sums[g·NARROW_MAX·8 + q·8..][..8]`.
            ///
            /// # Safety
            /// `v` holds the strips `whole` and `last` read (8 values from `g·gs + p·ps`), `w`
            /// the values of accumulators `..accs` (`p·sp + q·sq`), for `p < kc`; the blocks
            /// are for this CPU; `accs ≤ NARROW_MAX`; `sums` holds `2·NARROW_MAX·8` values.
            #[inline(always)]
            unsafe fn narrow_sums(
                kc: usize,
                (v, ps, gs): (&[$t], usize, usize),
                (w, sp, sq): (&[$t], usize, usize),
                (accs, chunk, whole, last): (
                    usize,
                    usize,
                    super::NarrowBlock<$t>,
                    super::NarrowBlock<$t>,
                ),
                sums: &mut [$t],
            ) {
                let go = super::NARROW_MAX * 8;
                let mut q0 = 0;
                while q0 < accs {
                    let nq = chunk.min(accs - q0);
                    let block = if nq == chunk { whole } else { last };
                    // SAFETY: as our caller guarantees; `sums` takes 8 values from
                    // `g·go + (q0 + q)·8`, `q0 + q < accs ≤ NARROW_MAX`, `g < 2`.
                    unsafe {
                        block(
                            kc,
                            (v.as_ptr(), ps, gs),
                            (w.as_ptr().add(q0 * sq), sp, sq),
                            (sums.as_mut_ptr().add(q0 * 8), go),
                        )
                    };
                    q0 += nq;
                }
            }

            /// `finish` on every tile-sized block of C, once it is final.
            ///
            /// # Safety
            /// `c` points at `m` rows of `n` values spaced `ldc` apart, which nothing else
            /// accesses during the call.
            unsafe fn finish_blocks<E: super::Epilogue<$t>>(
                m: usize,
                n: usize,
                (c, ldc): (*mut $t, usize),
                ((row0, col0), finish): ((usize, usize), &E),
            ) {
                for i in (0..m).step_by(MR) {
                    for j in (0..n).step_by(NR) {
                        let (rows, cols) = (MR.min(m - i), NR.min(n - j));
                        finish.ahead(row0 + i, col0 + j, rows);
                        // SAFETY: rows i..i + rows and columns j..j + cols of C, ours; no other
                        // reference to them is alive.
                        unsafe {
                            super::finish_tile(
                                finish,
                                (c.add(i * ldc + j), ldc),
                                (rows, cols),
                                (row0 + i, col0 + j),
                            )
                        };
                    }
                }
            }

            /// Where the narrow product's sums go: C (`c`, row stride `ldc`, at `origin` of
            /// the whole product), its lanes along C's rows or columns, `accs` accumulators;
            /// with `through` (a transient C, one block of k), straight to `finish`.
            struct NarrowOut<'a, E> {
                c: *mut $t,
                ldc: usize,
                origin: (usize, usize),
                finish: &'a E,
                by_rows: bool,
                accs: usize,
                through: bool,
            }

            impl<E: super::Epilogue<$t>> NarrowOut<'_, E> {
                /// One group's sums (`st`: accumulator `q` from `q·8`, lanes `first..first +
                /// live` of 8): stored or added into C, or handed to `finish` (lanes along C's
                /// rows: turned in `across` first).
                ///
                /// # Safety
                /// Those lanes and accumulators are values of the `m × n` C the caller lends.
                #[inline(always)]
                unsafe fn group(
                    &self,
                    st: &mut [$t],
                    (first, live): (usize, usize),
                    overwrite: bool,
                    across: &mut [$t],
                ) {
                    let (accs, (row0, col0)) = (self.accs, self.origin);
                    if self.through {
                        // The block of C, row-major: where it starts, its rows, its columns
                        // and its row stride.
                        let (block, at, shape, ld) = if self.by_rows {
                            for (q, col) in st.chunks_exact(8).enumerate() {
                                for (l, &v) in col[..live].iter().enumerate() {
                                    across[l * accs + q] = v;
                                }
                            }
                            (across, (first, 0), (live, accs), accs)
                        } else {
                            (st, (0, first), (accs, live), 8)
                        };
                        self.finish.ahead(row0 + at.0, col0 + at.1, shape.0);
                        // SAFETY: `block` holds `shape.0` rows of `shape.1` values spaced `ld`
                        // apart; nothing else refers to it.
                        unsafe {
                            super::finish_tile(
                                self.finish,
                                (block.as_mut_ptr(), ld),
                                shape,
                                (row0 + at.0, col0 + at.1),
                            )
                        };
                        return;
                    }
                    for (q, col) in st.chunks_exact(8).enumerate() {
                        for (l, &v) in col[..live].iter().enumerate() {
                            let (i, j) = if self.by_rows {
                                (first + l, q)
                            } else {
                                (q, first + l)
                            };
                            // SAFETY: row `i`, column `j` of C, as our caller guarantees.
                            unsafe {
                                let at = self.c.add(i * self.ldc + j);
                                *at = if overwrite { v } else { *at + v };
                            }
                        }
                    }
                }
            }

            /// The product on one thread, with the buffers reserved: `C` is `m × n` values from
            /// `c.0` with row stride `c.1`, at row `origin.0` and column `origin.1` of the whole
            /// product (for `finish`, called as in [`gemm_then`]).
            ///
            /// # Safety
            /// `c.0` points at `m` rows of `n` writable values spaced `c.1` apart, which nothing
            /// else accesses during the call; `a` and `b` are long enough for their shapes.
            #[allow(clippy::too_many_arguments)]
            unsafe fn serial<E>(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                (rsa, csa): (usize, usize),
                b: &[$t],
                (rsb, csb): (usize, usize),
                beta: $t,
                (c, ldc): (*mut $t, usize),
                buf: &mut super::Buffers<$t>,
                ((row0, col0), finish): ((usize, usize), &E),
            ) where
                E: super::Epilogue<$t>,
            {
                // SAFETY: as our caller guarantees.
                if unsafe {
                    narrow(
                        m,
                        k,
                        n,
                        a,
                        (rsa, csa),
                        b,
                        (rsb, csb),
                        beta,
                        (c, ldc),
                        buf,
                        ((row0, col0), finish),
                    )
                } {
                    return;
                }
                let (apack, bpack) = (super::aligned(&mut buf.a), super::aligned(&mut buf.b));
                // One block of k makes each tile whole: with a transient C, each tile is made
                // in `scratch_tile` (in L1) rather than in C.
                let through = finish.transient() && beta == 0.0 && k <= KC;
                let mut scratch_tile = super::TileScratch([0.0; MR * NR]);
                let pick: Option<fn() -> Option<super::FastTile<$t>>> = $fast;
                let fast = pick.and_then(|pick| pick());
                for jc in (0..n).step_by(NC) {
                    let nc = NC.min(n - jc);
                    for pc in (0..k).step_by(KC) {
                        let kc = KC.min(k - pc);
                        let overwrite = beta == 0.0 && pc == 0;
                        // After this block of `k`, the tiles of these columns are final.
                        let last = pc + kc == k;
                        pack(b, (rsb, csb), (pc, kc), (jc, nc), NR, bpack);
                        for ic in (0..m).step_by(MC) {
                            let mc = MC.min(m - ic);
                            // A's rows are B's columns of the transposed operand.
                            pack(a, (csa, rsa), (pc, kc), (ic, mc), MR, apack);
                            for (sj, bp) in bpack[..nc.div_ceil(NR) * kc * NR]
                                .chunks_exact(kc * NR)
                                .enumerate()
                            {
                                let cols = NR.min(nc - sj * NR);
                                for (si, ap) in apack[..mc.div_ceil(MR) * kc * MR]
                                    .chunks_exact(kc * MR)
                                    .enumerate()
                                {
                                    let rows = MR.min(mc - si * MR);
                                    let tile_c = if through {
                                        (scratch_tile.0.as_mut_ptr(), NR)
                                    } else {
                                        // SAFETY: the tile's first value, inside the m × n
                                        // values of C the caller lends us.
                                        (unsafe { c.add((ic + si * MR) * ldc + jc + sj * NR) }, ldc)
                                    };
                                    if last {
                                        finish.ahead(
                                            row0 + ic + si * MR,
                                            col0 + jc + sj * NR,
                                            rows,
                                        );
                                    }
                                    // SAFETY: the tile's rows and columns lie inside the m × n
                                    // values of C the caller lends us, or inside the MR × NR
                                    // scratch tile.
                                    unsafe {
                                        run_tile(
                                            fast,
                                            kc,
                                            ap,
                                            bp,
                                            tile_c.0,
                                            tile_c.1,
                                            (rows, cols),
                                            overwrite,
                                        )
                                    };
                                    if last {
                                        // SAFETY: the tile's rows, as above; no other reference
                                        // to them is alive.
                                        unsafe {
                                            super::finish_tile(
                                                finish,
                                                tile_c,
                                                (rows, cols),
                                                (row0 + ic + si * MR, col0 + jc + sj * NR),
                                            )
                                        };
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}

/// A vector tile: `(kc, a, b, c, ldc, rows, cols, overwrite)`, reading strips `kc·8` (`a`) and
/// `kc·32` (`b`) values long, as [`tile_f32_avx2`] does.
type FastTile<T> = unsafe fn(usize, *const T, *const T, *mut T, usize, usize, usize, bool);

/// The `f32` tile with the widest vectors the CPU has (AVX-512, else AVX2 and FMA), both with
/// the same bits; `None` on a CPU with neither, for the plain tile to make instead. Chosen once
/// a product, not once a tile.
#[cfg(target_arch = "x86_64")]
fn fast_f32() -> Option<FastTile<f32>> {
    if std::arch::is_x86_feature_detected!("avx512f") {
        Some(tile_f32_avx512)
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        Some(tile_f32_avx2)
    } else {
        None
    }
}

#[cfg(target_arch = "x86_64")]
gemm_impl!(
    f32,
    8,
    32,
    Some(super::fast_f32),
    Some(super::fast_pack_f32),
    Some(super::narrow_f32)
);
#[cfg(not(target_arch = "x86_64"))]
gemm_impl!(f32, 8, 32, None, None, None);
gemm_impl!(f64, 8, 16, None, None, None);

#[cfg(test)]
mod tests {
    use super::{GemmScratch, lock};

    /// A clone has the room its original reserved, on one thread.
    #[test]
    fn a_clone_keeps_the_room_on_one_thread() {
        let mut s = GemmScratch::<f32>::new();
        s.reserve(300, 300);
        s.set_threads(2);
        let c = s.clone();
        assert_eq!((c.sizes, c.threads()), (s.sizes, 1));
        assert!(s.sizes.0 > 0 && s.sizes.1 > 0);
        for b in &c.buffers {
            let b = lock(b);
            assert!(b.a.len() >= s.sizes.0 && b.b.len() >= s.sizes.1);
        }
    }

    fn naive(
        m: usize,
        k: usize,
        n: usize,
        a: &[f64],
        sa: (usize, usize),
        b: &[f64],
        sb: (usize, usize),
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * sa.0 + p * sa.1] * b[p * sb.0 + j * sb.1];
                }
            }
        }
        c
    }

    /// Any `k` and `n` can be reserved (the buffers are blocked); any thread count is clamped
    /// to `1..=MAX_THREADS`.
    #[test]
    fn sizes_and_thread_counts_are_accepted() {
        let mut s = GemmScratch::<f32>::new();
        s.try_reserve(usize::MAX, usize::MAX).unwrap();
        s.reserve(usize::MAX / 2, 3);
        s.try_set_threads(0).unwrap();
        assert_eq!(s.threads(), 1);
        s.try_set_threads(usize::MAX).unwrap();
        assert_eq!(s.threads(), super::MAX_THREADS);
        s.set_threads(1);
        assert_eq!(s.threads(), 1);
    }

    /// A thread that cannot be started is an error, and the scratch space keeps its threads.
    #[test]
    fn a_thread_that_cannot_start_is_an_error() {
        let mut s = GemmScratch::<f64>::new();
        s.try_set_threads(2).unwrap();
        let refused = || crate::Error::Thread {
            threads: 3,
            reason: "refused".into(),
        };
        assert_eq!(s.set_threads_with(3, |_| Err(refused())), Err(refused()));
        assert_eq!((s.threads(), s.buffers.len()), (2, 2));
        let message = refused().to_string();
        assert!(message.contains("fewer threads"), "{message}");
        // Still working, on its two threads.
        let (m, k, n) = (130, 90, 100);
        let a = vec![1.0; m * k];
        let b = vec![1.0; k * n];
        let mut c = vec![0.0; m * n];
        super::f64::gemm(m, k, n, &a, (k, 1), &b, (n, 1), 0.0, &mut c, &mut s);
        assert!(c.iter().all(|&v| v == k as f64));
    }

    /// Split across threads (row or column blocks, each with its own buffers), a product gives
    /// the same bits as on one thread, for row and column counts on and off the block boundaries.
    #[test]
    fn threads_give_the_same_bits() {
        // Split by rows (m ≥ n) or by columns (n > m), blocks on and off the tile sizes.
        for &(m, k, n) in &[
            (64, 784, 40),
            (67, 300, 70),
            (16, 4100, 17),
            (200, 64, 130),
            (24, 200, 300),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
                .collect();
            for (sa, sb) in [((k, 1), (n, 1)), ((1, m), (1, k))] {
                for beta in [0.0, 1.0] {
                    let mut want = vec![0.5f32; m * n];
                    let mut one = GemmScratch::new();
                    super::f32::gemm(m, k, n, &a, sa, &b, sb, beta, &mut want, &mut one);
                    for threads in [2, 3] {
                        let mut s = GemmScratch::new();
                        s.set_threads(threads);
                        assert_eq!(s.threads(), threads);
                        let mut c = vec![0.5f32; m * n + 3];
                        super::f32::gemm(m, k, n, &a, sa, &b, sb, beta, &mut c, &mut s);
                        assert!(
                            c[..m * n]
                                .iter()
                                .zip(&want)
                                .all(|(x, y)| x.to_bits() == y.to_bits()),
                            "{m}x{k}x{n}, {threads} threads"
                        );
                        assert_eq!(c[m * n..], [0.5; 3], "past C");
                    }
                }
            }
        }
        // Handed over to a new scratch space, the threads keep working.
        let (mut old, mut new) = (GemmScratch::<f64>::new(), GemmScratch::<f64>::new());
        old.set_threads(2);
        new.take_threads(&mut old);
        assert_eq!((new.threads(), old.threads()), (2, 1));
    }

    /// Shapes on and off the tile sizes, transposed operands, β = 0 and 1, both float types.
    #[test]
    fn equals_the_definition() {
        let mut s64 = GemmScratch::new();
        let mut s32 = GemmScratch::new();
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 32),
            (9, 300, 17),
            (65, 257, 33),
            (64, 784, 40),
        ] {
            let a: Vec<f64> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f64 - 6.0) / 8.0)
                .collect();
            let b: Vec<f64> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f64 - 5.0) / 4.0)
                .collect();
            let (a32, b32): (Vec<f32>, Vec<f32>) = (
                a.iter().map(|&v| v as f32).collect(),
                b.iter().map(|&v| v as f32).collect(),
            );
            // Row-major and transposed A and B, in all four combinations.
            let layouts = [
                ((k, 1), (n, 1)),
                ((1, m), (1, k)),
                ((k, 1), (1, k)),
                ((1, m), (n, 1)),
            ];
            for (sa, sb) in layouts {
                let want = naive(m, k, n, &a, sa, &b, sb);
                // C longer than m × n: what lies past it must stay.
                let mut c = vec![9.0; m * n + 5];
                super::f64::gemm(m, k, n, &a, sa, &b, sb, 0.0, &mut c, &mut s64);
                let mut c32 = vec![9.0f32; m * n + 5];
                super::f32::gemm(m, k, n, &a32, sa, &b32, sb, 0.0, &mut c32, &mut s32);
                for ((x, x32), y) in c.iter().zip(&c32).zip(&want) {
                    assert!((x - y).abs() < 1e-9, "{m}x{k}x{n}: {x} vs {y}");
                    assert!(
                        (*x32 as f64 - y).abs() < 1e-3 * y.abs().max(1.0),
                        "f32 {m}x{k}x{n}"
                    );
                }
                assert_eq!(c[m * n..], [9.0; 5]);
                assert_eq!(c32[m * n..], [9.0; 5]);
                // β = 1 onto what is there (f32: onto a C that is not the product).
                super::f64::gemm(m, k, n, &a, sa, &b, sb, 1.0, &mut c, &mut s64);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - 2.0 * y).abs() < 1e-9);
                }
                let mut c32: Vec<f32> = (0..m * n + 5).map(|i| (i % 7) as f32 - 3.0).collect();
                super::f32::gemm(m, k, n, &a32, sa, &b32, sb, 1.0, &mut c32, &mut s32);
                for (i, (x, y)) in c32.iter().zip(&want).enumerate() {
                    let y = y + ((i % 7) as f64 - 3.0);
                    assert!((*x as f64 - y).abs() < 1e-3 * y.abs().max(1.0), "f32 β = 1");
                }
                for (i, x) in c32.iter().enumerate().skip(m * n) {
                    assert_eq!(*x, (i % 7) as f32 - 3.0, "past C");
                }
            }
        }
    }

    /// Values with all their mantissa bits in use, in `[-1, 1)`.
    fn noise(len: usize, seed: u64) -> Vec<f32> {
        crate::testing::noise(len, seed)
    }

    /// Whether the CPU has the AVX2 tile's features (the tests of it return early otherwise).
    fn has_avx2_fma() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// What the vector tiles compute, in scalars: for each block of `KC` steps, each value a
    /// chain of `mul_add`s from 0 in the order of `p`, then stored (first block, β = 0) or
    /// added once to `C`.
    #[allow(clippy::too_many_arguments)]
    fn mul_add_model(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        sa: (usize, usize),
        b: &[f32],
        sb: (usize, usize),
        beta: f32,
        c: &mut [f32],
    ) {
        for i in 0..m {
            for j in 0..n {
                if k == 0 && beta == 0.0 {
                    c[i * n + j] = 0.0;
                }
                for p0 in (0..k).step_by(super::KC) {
                    let mut acc = 0.0f32;
                    for p in p0..k.min(p0 + super::KC) {
                        acc = a[i * sa.0 + p * sa.1].mul_add(b[p * sb.0 + j * sb.1], acc);
                    }
                    let c = &mut c[i * n + j];
                    *c = if p0 == 0 && beta == 0.0 {
                        acc
                    } else {
                        *c + acc
                    };
                }
            }
        }
    }

    /// The AVX2 tile alone, for every tile shape (`rows ≤ 8`, `cols ≤ 32`), stored and added,
    /// against the scalar model bit for bit, inside a `C` with a wider row stride whose other
    /// values must stay. Skipped (returns at once) on a CPU without AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_tile_equals_the_mul_add_model() {
        if !has_avx2_fma() {
            eprintln!("skipped: this CPU lacks AVX2 or FMA");
            return;
        }
        for kc in [1, 2, 7, 64, 256] {
            let (a, b) = (noise(kc * 8, kc as u64), noise(kc * 32, 1000 + kc as u64));
            for rows in 1..=8 {
                for cols in 1..=32 {
                    for overwrite in [true, false] {
                        let ldc = 37;
                        // C from row 1, column 2 of a larger buffer, so that values lie before
                        // and after it, and between its rows.
                        let mut buf = noise(12 * ldc, (rows * 100 + cols) as u64);
                        let mut want = buf.clone();
                        let at = ldc + 2;
                        for i in 0..rows {
                            for j in 0..cols {
                                let mut acc = 0.0f32;
                                for p in 0..kc {
                                    acc = a[p * 8 + i].mul_add(b[p * 32 + j], acc);
                                }
                                let w = &mut want[at + i * ldc + j];
                                *w = if overwrite { acc } else { *w + acc };
                            }
                        }
                        // SAFETY: the CPU has AVX2 and FMA (checked above); `a` and `b` hold
                        // kc·8 and kc·32 values; `buf` from `at` holds `rows` rows of `cols`
                        // values spaced `ldc` apart (rows 1..9, columns 2..34 of 12 × 37).
                        unsafe {
                            super::tile_f32_avx2(
                                kc,
                                a.as_ptr(),
                                b.as_ptr(),
                                buf.as_mut_ptr().add(at),
                                ldc,
                                rows,
                                cols,
                                overwrite,
                            )
                        };
                        let same = buf
                            .iter()
                            .zip(&want)
                            .position(|(x, y)| x.to_bits() != y.to_bits());
                        assert_eq!(same, None, "kc {kc}, {rows} × {cols}, {overwrite}");
                    }
                }
            }
        }
    }

    /// The `f32` product with the vector tile against the scalar model bit for bit: shapes on and
    /// off the tile and block sizes, several `KC` blocks (β's accumulation between them), row-major,
    /// transposed and padded operands, β = 0 and 1, on 1 and 2 threads. Skipped (returns at once)
    /// on a CPU without AVX2 and FMA, whose plain tile does not fuse.
    #[test]
    fn f32_gemm_equals_the_mul_add_model() {
        if !has_avx2_fma() {
            eprintln!("skipped: this CPU lacks AVX2 or FMA");
            return;
        }
        let mut scratches = [GemmScratch::new(), GemmScratch::new()];
        scratches[1].set_threads(2);
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 3, 5),
            (8, 256, 32),
            (9, 257, 33),
            (5, 0, 6),
            (13, 600, 70),
            (64, 784, 40),
            (67, 300, 250),
            (130, 20, 50),
            (3, 5, 2100),
            (200, 520, 31),
            // Few columns or few rows: the narrow block, lanes along the rows (two strips at
            // once, accumulators in chunks) or along the columns (strips read in place).
            (64, 256, 10),
            (40, 300, 12),
            (200, 70, 1),
            (10, 64, 256),
            (12, 600, 13),
            (9, 7, 11),
            (1, 300, 9),
            (3, 40, 250),
        ] {
            // Padded: rows (or columns) 3 values apart more than needed.
            let (a, b) = (noise((m + 3) * (k + 3), 1), noise((k + 3) * (n + 3), 2));
            let layouts = [
                ((k, 1), (n, 1)),
                ((1, m), (1, k)),
                ((k, 1), (1, k)),
                ((1, m), (n, 1)),
                ((k + 3, 1), (1, k + 3)),
                ((1, m + 3), (n + 3, 1)),
            ];
            for (sa, sb) in layouts {
                for beta in [0.0, 1.0] {
                    let start = noise(m * n + 4, 3);
                    let mut want = start.clone();
                    mul_add_model(m, k, n, &a, sa, &b, sb, beta, &mut want);
                    for s in &mut scratches {
                        let mut c = start.clone();
                        super::f32::gemm(m, k, n, &a, sa, &b, sb, beta, &mut c, s);
                        let differ = c
                            .iter()
                            .zip(&want)
                            .position(|(x, y)| x.to_bits() != y.to_bits());
                        assert_eq!(
                            differ,
                            None,
                            "{m}×{k}×{n}, {sa:?} {sb:?}, β = {beta}, {} threads",
                            s.threads()
                        );
                    }
                }
            }
        }
    }

    /// Strides whose span overflows `usize` are refused, not wrapped (they once passed the
    /// length checks in release builds and sent the vector code out of bounds).
    #[test]
    #[should_panic(expected = "B is too short")]
    fn an_overflowing_stride_is_refused() {
        let mut s = GemmScratch::new();
        let mut c = [0.0f32; 4];
        super::f32::gemm(
            1,
            4,
            4,
            &[1.0; 8],
            (4, 1),
            &[1.0; 16],
            (1, 0x5555_5555_5555_5556),
            0.0,
            &mut c,
            &mut s,
        );
    }

    #[test]
    #[should_panic(expected = "overflows")]
    fn an_overflowing_shape_is_refused() {
        let mut s = GemmScratch::new();
        let mut c = [0.0f32; 40];
        super::f32::gemm(
            56,
            1,
            2_635_249_153_387_078_803,
            &[1.0; 64],
            (1, 1),
            &[1.0],
            (1, 0),
            0.0,
            &mut c,
            &mut s,
        );
    }

    #[test]
    #[should_panic(expected = "β must be 0 or 1")]
    fn other_betas_are_refused() {
        let mut s = GemmScratch::new();
        super::f32::gemm(
            1,
            1,
            1,
            &[2.0],
            (1, 1),
            &[3.0],
            (1, 1),
            0.5,
            &mut [10.0],
            &mut s,
        );
    }

    /// `gemm_then`'s epilogue for one float type `$t` (its bits as `$u`), against `gemm`: over
    /// shapes on and off the tiles, with one and several blocks of `k` (`k > KC`: the epilogue
    /// must wait for the last), of columns (`n > NC`) and of rows, `k = 0`, β = 0 and 1, on 1 and
    /// 2 threads (split by rows and by columns), every value of C is seen exactly once, at the
    /// place given, with its final bits; what `finish` writes stays; nothing past C is touched.
    macro_rules! epilogue_sees_final_values_once {
        ($t:ident, $name:ident) => {
            #[test]
            fn $name() {
                use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
                let mut scratches = [GemmScratch::new(), GemmScratch::new()];
                scratches[1].set_threads(2);
                for &(m, k, n) in &[
                    (1, 1, 1),
                    (7, 3, 5),
                    (5, 0, 6),
                    (9, 257, 33),
                    (13, 600, 70),
                    (67, 300, 250),
                    (30, 700, 100),
                    (200, 520, 31),
                    (3, 5, 2100),
                    (64, 256, 10),
                    (10, 64, 250),
                    (12, 300, 30),
                ] {
                    let a: Vec<$t> = noise(m * k, 1).iter().map(|&v| v as $t).collect();
                    let b: Vec<$t> = noise(k * n, 2).iter().map(|&v| v as $t).collect();
                    for (sa, sb) in [((k, 1), (n, 1)), ((1, m), (1, k))] {
                        for beta in [0.0, 1.0] {
                            let start: Vec<$t> =
                                noise(m * n + 3, 3).iter().map(|&v| v as $t).collect();
                            let mut want = start.clone();
                            let s = &mut scratches[0];
                            super::$t::gemm(m, k, n, &a, sa, &b, sb, beta, &mut want, s);
                            for s in &mut scratches {
                                let seen: Vec<AtomicU32> =
                                    (0..m * n).map(|_| AtomicU32::new(0)).collect();
                                let bits: Vec<AtomicU64> =
                                    (0..m * n).map(|_| AtomicU64::new(0)).collect();
                                let finish = |row: usize, col0: usize, seg: &mut [$t]| {
                                    assert!(row < m && col0 + seg.len() <= n, "out of C");
                                    for (j, v) in seg.iter_mut().enumerate() {
                                        let at = row * n + col0 + j;
                                        seen[at].fetch_add(1, Relaxed);
                                        bits[at].store(v.to_bits() as u64, Relaxed);
                                        *v = -*v;
                                    }
                                };
                                let mut c = start.clone();
                                super::$t::gemm_then(
                                    m, k, n, &a, sa, &b, sb, beta, &mut c, s, &finish,
                                );
                                let what =
                                    format!("{m}×{k}×{n}, β = {beta}, {} threads", s.threads());
                                assert!(seen.iter().all(|s| s.load(Relaxed) == 1), "{what}: seen");
                                for i in 0..m * n {
                                    let got = bits[i].load(Relaxed);
                                    assert_eq!(got, want[i].to_bits() as u64, "{what}: at {i}");
                                    assert_eq!(c[i].to_bits(), (-want[i]).to_bits(), "{what}");
                                }
                                assert_eq!(c[m * n..], start[m * n..], "{what}: past C");
                            }
                        }
                    }
                }
            }
        };
    }

    epilogue_sees_final_values_once!(f32, epilogue_sees_final_values_once_f32);
    epilogue_sees_final_values_once!(f64, epilogue_sees_final_values_once_f64);

    /// `gemm_zip` lends each call the values of Z at the places of its segment (Z with a wider
    /// row stride, whose padding must stay), on 1 and 2 threads; C keeps the product, or with
    /// `keep` false and one block of k (at most 256), is not even written.
    macro_rules! zip_lends_the_matching_values_of_z {
        ($t:ident, $name:ident) => {
            #[test]
            fn $name() {
                for threads in [1, 2] {
                    let mut s = GemmScratch::new();
                    s.set_threads(threads);
                    for &(m, k, n) in &[
                        (3, 4, 5),
                        (70, 300, 90),
                        (70, 256, 90),
                        (20, 600, 200),
                        (4, 0, 3),
                        (64, 256, 10),
                        (10, 64, 250),
                        (12, 300, 30),
                    ] {
                        let a: Vec<$t> = noise(m * k, 4).iter().map(|&v| v as $t).collect();
                        let b: Vec<$t> = noise(k * n, 5).iter().map(|&v| v as $t).collect();
                        let ldz = n + 3;
                        let z0: Vec<$t> = (0..m * ldz).map(|i| i as $t).collect();
                        let mut want = vec![0.0; m * n];
                        super::$t::gemm(m, k, n, &a, (k, 1), &b, (n, 1), 0.0, &mut want, &mut s);
                        for keep in [true, false] {
                            let (mut c, mut z) = (vec![7.0; m * n], z0.clone());
                            super::$t::gemm_zip(
                                m,
                                k,
                                n,
                                &a,
                                (k, 1),
                                &b,
                                (n, 1),
                                0.0,
                                &mut c,
                                &mut s,
                                keep,
                                (&mut z, ldz),
                                &|row, col0, seg: &mut [$t], z_seg: &mut [$t]| {
                                    assert_eq!(seg.len(), z_seg.len());
                                    for (j, (z, v)) in z_seg.iter_mut().zip(seg.iter()).enumerate()
                                    {
                                        // Z's old value says where it was: it must be this place.
                                        assert_eq!(*z, (row * ldz + col0 + j) as $t);
                                        *z = 2.0 * v;
                                    }
                                },
                            );
                            let at = format!("{m}×{k}×{n}, {threads} threads, keep {keep}");
                            if keep {
                                assert_eq!(c, want, "{at}");
                            } else if (1..=256).contains(&k) {
                                assert!(c.iter().all(|&v| v == 7.0), "{at}: C written");
                            }
                            for i in 0..m {
                                for j in 0..ldz {
                                    let z_want = if j < n {
                                        2.0 * want[i * n + j]
                                    } else {
                                        z0[i * ldz + j]
                                    };
                                    assert_eq!(z[i * ldz + j], z_want, "{at}: Z[{i}][{j}]");
                                }
                            }
                        }
                    }
                }
            }
        };
    }

    zip_lends_the_matching_values_of_z!(f32, zip_lends_the_matching_values_of_z_f32);
    zip_lends_the_matching_values_of_z!(f64, zip_lends_the_matching_values_of_z_f64);

    #[test]
    #[should_panic(expected = "Z is too short")]
    fn zip_refuses_a_short_z() {
        let mut s = GemmScratch::new();
        let mut z = [0.0f32; 5];
        super::f32::gemm_zip(
            2,
            1,
            3,
            &[1.0; 2],
            (1, 1),
            &[1.0; 3],
            (3, 1),
            0.0,
            &mut [0.0; 6],
            &mut s,
            true,
            (&mut z, 3),
            &|_, _, _, _| {},
        );
    }
}
