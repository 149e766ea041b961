//! An append-only vector stored in fixed-size chunks.
//!
//! A plain `Vec` doubles when full: at 10M accounts that is a 1.3 GB copy on the writer thread
//! (a long stall) and up to 2x memory. Chunks never move, so growth costs one chunk mapping, and
//! memory is at most one partly filled chunk above what is stored. Chunks are `ZeroedSlice`s
//! (huge-page-advised anonymous mappings).

use crate::zeroed::ZeroedSlice;
use bytemuck::Pod;

/// Elements per chunk. A power of two so that indexing is a shift and a mask.
pub const CHUNK_LEN: usize = 1 << 16;
const CHUNK_SHIFT: u32 = CHUNK_LEN.trailing_zeros();

#[derive(Debug)]
pub struct ChunkedVec<T: Pod> {
    chunks: Vec<ZeroedSlice<T>>,
    len: usize,
}

impl<T: Pod> Default for ChunkedVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pod> ChunkedVec<T> {
    #[must_use]
    pub fn new() -> Self {
        Self { chunks: Vec::new(), len: 0 }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends and returns the index of the new element.
    pub fn push(&mut self, value: T) -> usize {
        let index = self.len;
        let chunk = index >> CHUNK_SHIFT;
        if chunk == self.chunks.len() {
            // The first chunk stays on 4 KiB pages: most ledgers in tests are tiny, and a huge
            // page would be zeroed in full on their first write. Big tables get huge pages.
            self.chunks.push(ZeroedSlice::allocate_with_huge_pages(CHUNK_LEN, chunk > 0));
        }
        self.chunks[chunk][index & (CHUNK_LEN - 1)] = value;
        self.len += 1;
        index
    }

    #[must_use]
    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len {
            return None;
        }
        self.chunks.get(index >> CHUNK_SHIFT)?.get(index & (CHUNK_LEN - 1))
    }

    #[must_use]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= self.len {
            return None;
        }
        self.chunks.get_mut(index >> CHUNK_SHIFT)?.get_mut(index & (CHUNK_LEN - 1))
    }

    /// Drops the elements at `len..`; used to roll back a failed linked chain.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        // Elements past `len` in the last kept chunk stay in memory but are unreachable: `get`
        // checks `len`, and `push` overwrites them.
        self.chunks.truncate(len.div_ceil(CHUNK_LEN));
        self.len = len;
    }

    /// The stored elements as slices, one per chunk, in order.
    pub fn chunks(&self) -> impl Iterator<Item = &[T]> {
        let len = self.len;
        self.chunks.iter().enumerate().map(move |(i, c)| &c[..(len - i * CHUNK_LEN).min(CHUNK_LEN)])
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter()).take(self.len)
    }

    /// Bytes allocated for elements (capacity, not length): what the process holds.
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.chunks.iter().map(ZeroedSlice::mapped_bytes).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<ZeroedSlice<T>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_and_truncate_across_chunk_boundaries() {
        let mut v: ChunkedVec<u64> = ChunkedVec::new();
        for i in 0..(CHUNK_LEN * 2 + 5) {
            assert_eq!(v.push(i as u64), i);
        }
        assert_eq!(v.get(CHUNK_LEN + 3), Some(&(CHUNK_LEN as u64 + 3)));
        v.truncate(CHUNK_LEN);
        assert_eq!(v.len(), CHUNK_LEN);
        assert_eq!(v.get(CHUNK_LEN), None);
        assert_eq!(v.push(7), CHUNK_LEN);
        assert_eq!(v.get(CHUNK_LEN), Some(&7));
        v.truncate(0);
        assert_eq!(v.len(), 0);
        assert_eq!(v.iter().count(), 0);
        v.push(1);
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), vec![1]);
    }
}
