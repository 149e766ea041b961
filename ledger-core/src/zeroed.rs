//! `ZeroedSlice<T>`: a fixed-length slice of plain-old-data in its own anonymous mapping.
//!
//! The engine's big tables (id index slots, account and transfer chunks) live here rather than in
//! `Vec`s, for two measured reasons (`docs/performance.md`): the kernel hands out zero pages on
//! first touch, so a pre-sized table costs nothing until used; and the mapping is advised to use
//! transparent huge pages, which cut page faults 512-fold and TLB misses on random index probes
//! (expensive under virtualization). Zeroed memory is a valid `T` because `T: Zeroable`.

use bytemuck::Pod;
use memmap2::{Advice, MmapMut, MmapOptions};
use std::marker::PhantomData;

/// Below this size a mapping is not worth advising (huge pages are 2 MiB).
const HUGE_PAGE_ADVICE_MIN_BYTES: usize = 2 << 20;

pub struct ZeroedSlice<T: Pod> {
    /// `None` for a zero-length slice (mapping zero bytes is an error).
    map: Option<MmapMut>,
    len: usize,
    _element: PhantomData<T>,
}

impl<T: Pod> std::fmt::Debug for ZeroedSlice<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroedSlice").field("len", &self.len).finish_non_exhaustive()
    }
}

impl<T: Pod> ZeroedSlice<T> {
    /// Maps `len` zeroed elements. Fails only if the kernel refuses the mapping (out of address
    /// space or over the overcommit limit), which callers treat as out-of-memory.
    /// `huge_pages: false` skips the huge-page advice, for tables that are usually small (the
    /// kernel would otherwise zero 2 MiB on the first write to a tiny ledger).
    pub fn with_huge_pages(len: usize, huge_pages: bool) -> std::io::Result<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>()).ok_or(std::io::ErrorKind::OutOfMemory)?;
        if bytes == 0 {
            return Ok(Self { map: None, len, _element: PhantomData });
        }
        let map = MmapOptions::new().len(bytes).map_anon()?;
        if huge_pages && bytes >= HUGE_PAGE_ADVICE_MIN_BYTES {
            // Advice only: where transparent huge pages are off, base pages work the same.
            let _ = map.advise(Advice::HugePage);
        }
        Ok(Self { map: Some(map), len, _element: PhantomData })
    }

    /// Like `with_huge_pages` (advised), for the engine's own tables: failing to map memory for state that must grow
    /// is out-of-memory, which the process cannot recover from (as `Vec` would abort).
    #[must_use]
    pub fn allocate(len: usize) -> Self {
        Self::allocate_with_huge_pages(len, true)
    }

    /// `allocate` with the choice of `with_huge_pages`.
    #[must_use]
    pub fn allocate_with_huge_pages(len: usize, huge_pages: bool) -> Self {
        match Self::with_huge_pages(len, huge_pages) {
            Ok(slice) => slice,
            Err(e) => panic!("cannot map {len} elements of {} bytes: {e}", std::mem::size_of::<T>()),
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes mapped (resident only once touched).
    #[must_use]
    pub fn mapped_bytes(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }
}

impl<T: Pod> std::ops::Deref for ZeroedSlice<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // A mapping is page-aligned and exactly `len * size_of::<T>()` long, so the cast cannot fail.
        self.map.as_ref().map_or(&[], |m| bytemuck::cast_slice(&m[..]))
    }
}

impl<T: Pod> std::ops::DerefMut for ZeroedSlice<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.map.as_mut().map_or(&mut [], |m| bytemuck::cast_slice_mut(&mut m[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_zeroed_and_holds_writes() {
        let mut s: ZeroedSlice<[u64; 3]> = ZeroedSlice::allocate(1_000_000);
        assert_eq!(s.len(), 1_000_000);
        assert!(s.iter().step_by(4096).all(|x| *x == [0; 3]));
        s[999_999] = [1, 2, 3];
        assert_eq!(s[999_999], [1, 2, 3]);
        assert_eq!(s.mapped_bytes(), 24_000_000);
    }

    #[test]
    fn empty_slice_maps_nothing() {
        let s: ZeroedSlice<u128> = ZeroedSlice::allocate(0);
        assert_eq!(s.len(), 0);
        assert_eq!(s.iter().count(), 0);
    }
}
