//! A cache prefetch hint. Ingest looks up two accounts per record in tables far larger than
//! the cache; asking for their cache lines a few records ahead lets those misses overlap
//! instead of each stalling the thread in turn.

/// Hints the CPU to load the cache line at `address`. Never reads through the pointer, so any
/// address is fine (a stale or dangling one only wastes the hint).
#[cfg(target_arch = "x86_64")]
#[inline]
#[expect(unsafe_code, reason = "a prefetch is a hint: it never dereferences and cannot fault")]
pub fn prefetch(address: *const u8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `_mm_prefetch` only hints the cache and never faults, whatever the address; SSE
    // is part of the x86_64 baseline.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(address.cast::<i8>()) };
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn prefetch(_address: *const u8) {}
