//! No heap allocation after construction: a counting global allocator over many training steps
//! (fprop, bprop, update), inference, and the checked entry points, including their error path.

use bpnet::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

network! {
    pub struct Inner {
        input  i: 3;
        a      = l: linear(i -> 3);
        b      = add(a, i);
        output o = t: tanh(b);
    }
}

network! {
    pub struct Net {
        input  x: 3;
        target y: 2;
        h: 3   = m: Inner(x);
        g      = l2: linear(h -> 2);
        out    = t2: tanh(g);
        energy = euclidean(out, y);
    }
}

#[test]
fn training_and_inference_do_not_allocate() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(1));
    let (xs, ys) = (vec![0.1f32, 0.2, 0.3], vec![0.5f32, -0.5]);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..100 {
        net.fprop(&[0.1, 0.2, 0.3], &[0.5, -0.5]);
        net.zero_grad();
        net.bprop();
        net.sgd_step(0.01);
        net.run(&[0.1, 0.2, 0.3]);
        net.try_fprop(&xs[..], &ys[..]).unwrap();
        assert!(net.try_fprop(&xs[..2], &ys[..]).is_err());
        net.try_run(&xs).unwrap();
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "allocations during training");
    // The counter does count: building a network allocates its pools.
    let _other = Net::new(&mut StdRng::seed_from_u64(2));
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > after);
}
