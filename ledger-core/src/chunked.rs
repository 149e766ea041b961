//! An append-only vector stored in fixed-size chunks.
//!
//! A plain `Vec` doubles when full: at 10M accounts that is a 1.3 GB copy on the writer thread
//! (a long stall) and up to 2x memory. Chunks never move, so growth costs one chunk allocation,
//! and memory is at most one partly filled chunk above what is stored.

/// Elements per chunk. A power of two so that indexing is a shift and a mask.
pub const CHUNK_LEN: usize = 1 << 16;
const CHUNK_SHIFT: u32 = CHUNK_LEN.trailing_zeros();

#[derive(Debug, Default, Clone)]
pub struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T: Copy> ChunkedVec<T> {
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
            self.chunks.push(Vec::with_capacity(CHUNK_LEN));
        }
        self.chunks[chunk].push(value);
        self.len += 1;
        index
    }

    #[must_use]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index >> CHUNK_SHIFT)?.get(index & (CHUNK_LEN - 1))
    }

    #[must_use]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index >> CHUNK_SHIFT)?.get_mut(index & (CHUNK_LEN - 1))
    }

    /// Drops the elements at `len..`; used to roll back a failed linked chain.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        let chunks_kept = len.div_ceil(CHUNK_LEN);
        self.chunks.truncate(chunks_kept);
        if let Some(last) = self.chunks.last_mut() {
            let in_last = len - (chunks_kept - 1) * CHUNK_LEN;
            last.truncate(in_last);
        }
        self.len = len;
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Bytes allocated for elements (capacity, not length): what the process holds.
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.chunks.len() * CHUNK_LEN * std::mem::size_of::<T>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_and_truncate_across_chunk_boundaries() {
        let mut v = ChunkedVec::new();
        for i in 0..(CHUNK_LEN * 2 + 5) {
            assert_eq!(v.push(i), i);
        }
        assert_eq!(v.get(CHUNK_LEN + 3), Some(&(CHUNK_LEN + 3)));
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
