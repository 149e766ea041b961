//! `Chunks`: a summary of every run of `records_per_chunk` consecutive records (8,192 in
//! production, 1 MiB of file): the first record's timestamp and a `CorrelationFilter`.
//!
//! The first timestamps answer most probes of a binary search by timestamp from memory: a record
//! of chunk `c` has a timestamp in `[first(c), first(c + 1))`, so only probes inside the one
//! chunk where the searched timestamp falls need to read the file. The filters let scans skip
//! chunks that cannot hold a `user_data_128`. Memory: 8 bytes per chunk plus one byte per record
//! whose chunk holds a non-zero `user_data_128`.

use crate::correlation_filter::CorrelationFilter;

/// Records per chunk in production: one 1 MiB read of the record file.
pub const CHUNK_RECORDS: usize = 8192;

#[derive(Debug)]
pub struct Chunks {
    records_per_chunk: usize,
    shift: u32,
    first_timestamps: Vec<u64>,
    filters: Vec<CorrelationFilter>,
    filter_bytes: usize,
}

impl Chunks {
    /// `records_per_chunk` is a power of two of at least 8 (tests use small chunks to cross
    /// chunk boundaries often).
    #[must_use]
    pub fn new(records_per_chunk: usize) -> Self {
        assert!(
            records_per_chunk.is_power_of_two() && records_per_chunk >= 8,
            "chunk size {records_per_chunk}"
        );
        Self {
            records_per_chunk,
            shift: records_per_chunk.trailing_zeros(),
            first_timestamps: Vec::new(),
            filters: Vec::new(),
            filter_bytes: 0,
        }
    }

    /// The chunk holding record `position`.
    #[must_use]
    pub fn chunk_of(&self, position: u64) -> u64 {
        position >> self.shift
    }

    /// The first record of chunk `chunk`.
    #[must_use]
    pub fn chunk_start(&self, chunk: u64) -> u64 {
        chunk << self.shift
    }

    /// Notes record `position` (the next record, in order). `correlation` is the hash of its
    /// non-zero `user_data_128`, if any.
    #[inline]
    pub fn record(&mut self, position: u64, timestamp: u64, correlation: Option<u64>) {
        let chunk = self.chunk_of(position);
        if position & (self.records_per_chunk as u64 - 1) == 0 {
            debug_assert_eq!(chunk, self.first_timestamps.len() as u64, "records arrive in order");
            self.first_timestamps.push(timestamp);
            self.filters.push(CorrelationFilter::default());
        }
        if let Some(hash) = correlation
            && let Some(filter) = self.filters.last_mut()
        {
            let before = filter.allocated_bytes();
            filter.insert(self.records_per_chunk, hash);
            self.filter_bytes += filter.allocated_bytes() - before;
        }
    }

    /// Whether the timestamp of record `position` is below `timestamp`, when the chunk
    /// timestamps alone decide it (`None`: read the record).
    #[must_use]
    pub fn timestamp_below(&self, position: u64, timestamp: u64) -> Option<bool> {
        let chunk = usize::try_from(self.chunk_of(position)).ok()?;
        let first = *self.first_timestamps.get(chunk)?;
        if first >= timestamp {
            return Some(false);
        }
        // A record of this chunk is older than the next chunk's first record.
        match self.first_timestamps.get(chunk + 1) {
            Some(&next_first) if next_first <= timestamp => Some(true),
            _ => None,
        }
    }

    /// How many chunks start at or before `timestamp`: every record of the chunks before the
    /// last of them is at or before it.
    #[must_use]
    pub fn chunks_starting_at_or_before(&self, timestamp: u64) -> u64 {
        self.first_timestamps.partition_point(|&first| first <= timestamp) as u64
    }

    /// False only if no record of chunk `chunk` has a `user_data_128` with this hash.
    #[must_use]
    pub fn may_hold_correlation(&self, chunk: u64, hash: u64) -> bool {
        usize::try_from(chunk).ok().and_then(|c| self.filters.get(c)).is_some_and(|f| f.may_contain(hash))
    }

    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.first_timestamps.capacity() * 8
            + self.filters.capacity() * std::mem::size_of::<CorrelationFilter>()
            + self.filter_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_timestamps_decide_probes_outside_the_searched_chunk() {
        let mut chunks = Chunks::new(8);
        for position in 0..20_u64 {
            chunks.record(position, 100 + position * 10, None);
        }
        // Chunks start at timestamps 100, 180, 260.
        assert_eq!(chunks.timestamp_below(3, 100), Some(false), "first of chunk >= 100");
        assert_eq!(chunks.timestamp_below(3, 180), Some(true), "next chunk starts at 180");
        assert_eq!(chunks.timestamp_below(3, 150), None, "inside chunk 0: read it");
        assert_eq!(chunks.timestamp_below(17, 300), None, "the last chunk has no upper bound");
        assert_eq!(chunks.timestamp_below(17, 250), Some(false));
        assert_eq!((chunks.chunk_of(17), chunks.chunk_start(2)), (2, 16));
        let starting: Vec<u64> =
            [99, 100, 179, 180, 260, 999].map(|t| chunks.chunks_starting_at_or_before(t)).to_vec();
        assert_eq!(starting, [0, 1, 1, 2, 3, 3]);
    }

    #[test]
    fn filters_are_per_chunk() {
        let mut chunks = Chunks::new(8);
        for position in 0..16_u64 {
            let correlation = (position == 3).then_some(0xdead_beef_u64);
            chunks.record(position, position + 1, correlation);
        }
        assert!(chunks.may_hold_correlation(0, 0xdead_beef));
        assert!(!chunks.may_hold_correlation(1, 0xdead_beef), "chunk 1 holds no value at all");
        assert!(!chunks.may_hold_correlation(2, 0xdead_beef), "no chunk 2 yet");
        assert_eq!(
            chunks.allocated_bytes()
                - chunks.first_timestamps.capacity() * 8
                - chunks.filters.capacity() * std::mem::size_of::<CorrelationFilter>(),
            8
        );
    }
}
