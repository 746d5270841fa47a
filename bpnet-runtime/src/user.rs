//! Support for the code `network!` generates around user modules (reached through
//! `bpnet::__private`): compile-time messages that name both sides of a width mismatch, and calls
//! that leave the float-type check to a single, readable error.

use core::any::TypeId;

/// A message assembled in a `const` item, for `panic!` at compile time.
pub struct Message {
    buf: [u8; 512],
    len: usize,
}

impl Message {
    /// An empty message.
    pub const fn new() -> Self {
        Self {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Appends text (cut short if the buffer is full).
    pub const fn str(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Appends a number in decimal.
    pub const fn num(mut self, mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 && self.len < self.buf.len() {
            k -= 1;
            self.buf[self.len] = digits[k];
            self.len += 1;
        }
        self
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "bpnet: a module's widths do not fit its declaration",
        }
    }
}

impl Default for Message {
    fn default() -> Self {
        Self::new()
    }
}

/// Holds when a user module computes in the network's float type.
#[diagnostic::on_unimplemented(
    message = "a module computes in `{Self}`, but the network is declared with `{F}`",
    label = "this module's `Module::Float` is `{Self}`",
    note = "declare the network with `#[bpnet(float = {Self})]`, or implement the module for `{F}`"
)]
pub trait SameFloat<F> {}
impl SameFloat<f32> for f32 {}
impl SameFloat<f64> for f64 {}

/// `<Checked<T, OK> as Select>::Type` is `T`, for `OK = true`: the private alias through which
/// `network!` names a user module's type is this projection, with `OK` an anonymous constant that reads
/// `<T as Module>::__BROKEN`. If `T` is not a module (a nested network with an energy), that
/// constant is the one place the error is reported; every use of the alias then refers to the
/// failed constant, and rustc adds no error of its own for each of them.
pub struct Checked<T: ?Sized, const OK: bool>(core::marker::PhantomData<T>);

/// See [`Checked`].
pub trait Select {
    /// The type selected.
    type Type: ?Sized;
}

impl<T: ?Sized> Select for Checked<T, true> {
    type Type = T;
}

/// `s` as a slice of `B`, where `A` and `B` are the same type (checked at run time, and proven
/// at compile time by the generated `SameFloat` assertion). Generated code passes slices to a user
/// module through it, so that a float mismatch is reported once, by that assertion.
///
/// # Panics
/// If `A` and `B` differ.
#[inline(always)]
pub fn cast<A: 'static, B: 'static>(s: &[A]) -> &[B] {
    assert!(
        TypeId::of::<A>() == TypeId::of::<B>(),
        "bpnet: float types differ"
    );
    // SAFETY: A and B are the same type, so the layout and the length are the same.
    unsafe { core::slice::from_raw_parts(s.as_ptr().cast::<B>(), s.len()) }
}

/// [`cast`] for a mutable slice.
///
/// # Panics
/// If `A` and `B` differ.
#[inline(always)]
pub fn cast_mut<A: 'static, B: 'static>(s: &mut [A]) -> &mut [B] {
    assert!(
        TypeId::of::<A>() == TypeId::of::<B>(),
        "bpnet: float types differ"
    );
    // SAFETY: A and B are the same type, so the layout and the length are the same.
    unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<B>(), s.len()) }
}

/// The stand-in type of the bound that a network's `bbprop` carries when a module's value is
/// both part of the energy (added into it through `add`, `sum` or `last`, or the energy itself)
/// and read by another module: nothing implements [`OneRole`] for it, so calling that `bbprop` is
/// an error whose note points at the module in the declaration.
pub struct MixedRole;

/// Not implemented for [`MixedRole`]: see there.
#[diagnostic::on_unimplemented(
    message = "this network has no bbprop: a module's value in it is both part of the energy (added into it through `add`, `sum` or `last`) and read by another module",
    label = "bbprop is not generated for this network",
    note = "Gauss–Newton keeps the Hessian of what makes the energy and squares the Jacobian of what feeds other modules; a value that does both is not supported: compute it twice, once for each use"
)]
pub trait OneRole {}

#[cfg(test)]
mod tests {
    use super::{Message, cast};

    #[test]
    fn messages_are_built_at_compile_time() {
        const M: Message = Message::new().str("IN is ").num(0).str(", not ").num(1234);
        assert_eq!(M.as_str(), "IN is 0, not 1234");
        let long = Message::new().str(&"x".repeat(600));
        assert_eq!(long.as_str().len(), 512);
    }

    #[test]
    fn cast_keeps_values_and_refuses_other_types() {
        let v = [1.0f32, 2.0];
        assert_eq!(cast::<f32, f32>(&v), &v);
        assert!(std::panic::catch_unwind(|| cast::<f32, f64>(&v).len()).is_err());
    }
}

/// `steps × capacity` values of a user module for a minibatch, made by `create`: an
/// [`Error::Alloc`](crate::Error::Alloc) naming `what` if the count overflows or the system
/// refuses the memory, instead of an abort.
#[cfg(feature = "std")]
pub fn copies<T>(
    steps: usize,
    capacity: usize,
    what: &'static str,
    create: impl FnMut() -> T,
) -> Result<Vec<T>, crate::Error> {
    let alloc = |bytes| crate::Error::Alloc { what, bytes };
    let count = steps.checked_mul(capacity).ok_or(alloc(None))?;
    let mut v = Vec::new();
    v.try_reserve_exact(count)
        .map_err(|_| alloc(count.checked_mul(core::mem::size_of::<T>())))?;
    v.extend(core::iter::repeat_with(create).take(count));
    Ok(v)
}

#[cfg(test)]
mod copies_tests {
    /// A count that overflows, and one the allocator refuses, are errors; a small one is made.
    #[test]
    fn copies_that_cannot_be_allocated_are_an_error() {
        let what = "copies";
        assert!(matches!(
            super::copies(usize::MAX, 2, what, || 0u8),
            Err(crate::Error::Alloc { bytes: None, .. })
        ));
        assert!(matches!(
            super::copies(1 << 40, 1 << 20, what, || 0u64),
            Err(crate::Error::Alloc { bytes: Some(_), .. })
        ));
        assert_eq!(super::copies(2, 3, what, || 7u8).unwrap(), vec![7; 6]);
    }
}
