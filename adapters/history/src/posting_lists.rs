//! `PostingLists`: every account's postings, in segments carved from one arena.
//!
//! A list is a chain of segments that never move: segment `k` holds `SEGMENT_POSTINGS[k]`
//! postings (4, then half as many again each time: 4, 6, 9, 13, ...), and a new segment is
//! started when the newest is full. Compared with a growing `Vec` per account:
//! - nothing is ever copied or freed, so ingest makes no `realloc` (which, with a million
//!   accounts, cost a quarter of the ingest time in `malloc`'s free-chunk bookkeeping);
//! - segments are bump-allocated from 1 MiB slabs, so there is no allocator header per list and
//!   no fragmentation: the memory counted is the memory resident;
//! - the room reserved for future postings is at most a third of a list, as with 1.5x growth.
//!
//! ```text
//! Segment k, in a slab
//! offset  size                      field
//!      0  5 (k > 0), 0 (k = 0)      previous segment's address, 40-bit little-endian
//!    0|5  5 * SEGMENT_POSTINGS[k]   postings (`posting` layout), oldest first
//! ```
//!
//! An address is `slab << SLAB_SHIFT | offset`, below 2^40: at most 2^20 slabs, 1 TiB of
//! postings, beyond any machine's memory (reaching it is `ArenaFull`, not a crash). Segments above `SEGMENT_IN_SLAB_BYTES_MAX` get
//! a slab of their own (offset 0). A list's head (16 bytes) holds the newest segment's address,
//! its segment count and its length; reading posting `i` walks the chain back once to collect
//! the segment addresses (at most `SEGMENTS_MAX`, 62), then indexes them.

use crate::posting::{POSITION_LIMIT, POSTING_SIZE, Posting};
use crate::prefetch::prefetch;

const SLAB_SHIFT: u32 = 20;
/// Bytes of a shared slab.
const SLAB_BYTES: usize = 1 << SLAB_SHIFT;
/// Larger segments get a slab of their own, so a shared slab wastes at most this at its end.
const SEGMENT_IN_SLAB_BYTES_MAX: usize = 64 << 10;
const PREVIOUS_SIZE: usize = 5;
/// Slabs addressable with 40-bit addresses.
const SLABS_MAX: usize = 1 << (8 * PREVIOUS_SIZE - SLAB_SHIFT as usize);
const FIRST_SEGMENT_POSTINGS: u64 = 4;

/// Segments a list can have: enough for `POSITION_LIMIT` postings (an account is on each
/// transfer at most once).
pub const SEGMENTS_MAX: usize = segments_max();

const fn segments_max() -> usize {
    let (mut capacity, mut total, mut segments) = (FIRST_SEGMENT_POSTINGS, 0, 0);
    while total < POSITION_LIMIT {
        total += capacity;
        capacity += capacity / 2;
        segments += 1;
    }
    segments
}

/// Postings of segment `k`.
const SEGMENT_POSTINGS: [u64; SEGMENTS_MAX] = segment_postings();
/// Postings before segment `k`; the last entry is the most a list holds.
const SEGMENT_STARTS: [u64; SEGMENTS_MAX + 1] = segment_starts();

const fn segment_postings() -> [u64; SEGMENTS_MAX] {
    let mut postings = [0; SEGMENTS_MAX];
    let mut capacity = FIRST_SEGMENT_POSTINGS;
    let mut k = 0;
    while k < SEGMENTS_MAX {
        postings[k] = capacity;
        capacity += capacity / 2;
        k += 1;
    }
    postings
}

const fn segment_starts() -> [u64; SEGMENTS_MAX + 1] {
    let mut starts = [0; SEGMENTS_MAX + 1];
    let mut k = 0;
    while k < SEGMENTS_MAX {
        starts[k + 1] = starts[k] + SEGMENT_POSTINGS[k];
        k += 1;
    }
    starts
}

const _: () = assert!(SEGMENT_STARTS[SEGMENTS_MAX] >= POSITION_LIMIT && SEGMENTS_MAX < 64);
const _: () = assert!(SEGMENT_POSTINGS[0] == 4 && SEGMENT_POSTINGS[1] == 6 && SEGMENT_POSTINGS[2] == 9);

fn previous_bytes(segment: usize) -> usize {
    if segment == 0 { 0 } else { PREVIOUS_SIZE }
}

/// Bytes of segment `k`, header included.
fn segment_bytes(segment: usize) -> usize {
    let postings = usize::try_from(SEGMENT_POSTINGS[segment]).unwrap_or(usize::MAX);
    previous_bytes(segment).saturating_add(postings.saturating_mul(POSTING_SIZE))
}

/// The segment holding posting `index` of a list.
fn segment_of(index: u64) -> usize {
    SEGMENT_STARTS.partition_point(|&start| start <= index) - 1
}

/// The arena has handed out every address: a terabyte of postings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaFull;

/// A list's place among the lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListNumber(usize);

impl ListNumber {
    #[must_use]
    pub fn to_u64(self) -> u64 {
        self.0 as u64
    }

    #[must_use]
    pub fn from_u64(number: u64) -> Option<Self> {
        usize::try_from(number).ok().map(Self)
    }
}

/// A list's head, 16 bytes: the newest segment's address, and the segment count (top byte) with
/// the number of postings (low 56 bits).
#[derive(Clone, Copy, Debug, Default)]
struct ListHead {
    newest: u64,
    segments_and_len: u64,
}

const _: () = assert!(std::mem::size_of::<ListHead>() == 16);
const LEN_BITS: u32 = 56;
const _: () = assert!(SEGMENT_STARTS[SEGMENTS_MAX] < 1 << LEN_BITS);

impl ListHead {
    fn segments(self) -> usize {
        usize::try_from(self.segments_and_len >> LEN_BITS).unwrap_or(SEGMENTS_MAX)
    }

    fn len(self) -> u64 {
        self.segments_and_len & ((1 << LEN_BITS) - 1)
    }

    fn set(&mut self, segments: usize, len: u64) {
        self.segments_and_len = (segments as u64) << LEN_BITS | len;
    }
}

#[derive(Debug, Default)]
pub struct PostingLists {
    heads: Vec<ListHead>,
    slabs: Vec<Box<[u8]>>,
    /// The shared slab being carved, and how much of it is used.
    open_slab: Option<usize>,
    open_slab_used: usize,
    slab_bytes: usize,
}

impl PostingLists {
    /// Starts an empty list; it takes memory only when its first posting arrives.
    pub fn create(&mut self) -> ListNumber {
        self.heads.push(ListHead::default());
        ListNumber(self.heads.len() - 1)
    }

    #[must_use]
    pub fn lists(&self) -> usize {
        self.heads.len()
    }

    /// Appends a posting to a list. Postings arrive in record order.
    #[inline]
    pub fn push(&mut self, list: ListNumber, posting: Posting) -> Result<(), ArenaFull> {
        let Some(&head) = self.heads.get(list.0) else { unreachable!("list {} was never created", list.0) };
        let (mut head, mut segments, len) = (head, head.segments(), head.len());
        if len == SEGMENT_STARTS[segments] {
            // The newest segment is full (or there is none): chain a new one.
            assert!(segments < SEGMENTS_MAX, "a list holds at most POSITION_LIMIT postings");
            let address = self.allocate(segment_bytes(segments))?;
            if segments > 0 {
                let previous = head.newest.to_le_bytes();
                self.bytes_mut(address, 0, PREVIOUS_SIZE).copy_from_slice(&previous[..PREVIOUS_SIZE]);
            }
            head.newest = address;
            segments += 1;
        }
        let offset = posting_offset(segments - 1, len);
        self.bytes_mut(head.newest, offset, POSTING_SIZE).copy_from_slice(&posting.to_bytes());
        head.set(segments, len + 1);
        self.heads[list.0] = head;
        Ok(())
    }

    /// Hints that `list` is about to be appended to: loads its head.
    #[inline]
    pub fn prefetch_head(&self, list: ListNumber) {
        if let Some(head) = self.heads.get(list.0) {
            prefetch(std::ptr::from_ref(head).cast());
        }
    }

    /// Hints that `list` is about to be appended to: loads where its next posting goes (read
    /// from its head, which `prefetch_head` should have loaded by now).
    #[inline]
    pub fn prefetch_tail(&self, list: ListNumber) {
        let Some(&head) = self.heads.get(list.0) else { return };
        let segments = head.segments();
        if segments == 0 {
            return;
        }
        let offset = usize::try_from(posting_offset(segments - 1, head.len())).unwrap_or(0);
        let (slab, start) = split_address(head.newest);
        if let Some(slab) = self.slabs.get(slab) {
            prefetch(slab.as_ptr().wrapping_add(start.wrapping_add(offset)));
        }
    }

    /// A list's postings, ready to be read by index.
    #[must_use]
    pub fn view(&self, list: ListNumber) -> Option<ListView<'_>> {
        let head = self.heads.get(list.0)?;
        let mut addresses = [0_u64; SEGMENTS_MAX];
        let segments = head.segments();
        if segments > 0 {
            addresses[segments - 1] = head.newest;
            for segment in (1..segments).rev() {
                let mut previous = [0_u8; 8];
                previous[..PREVIOUS_SIZE].copy_from_slice(self.bytes(addresses[segment], PREVIOUS_SIZE)?);
                addresses[segment - 1] = u64::from_le_bytes(previous);
            }
        }
        Some(ListView { lists: self, len: head.len(), addresses })
    }

    /// Bytes of the heads, and of the slabs the postings are carved from.
    #[must_use]
    pub fn allocated_bytes(&self) -> (usize, usize) {
        (self.heads.capacity() * std::mem::size_of::<ListHead>(), self.slab_bytes)
    }

    fn allocate(&mut self, bytes: usize) -> Result<u64, ArenaFull> {
        if bytes > SEGMENT_IN_SLAB_BYTES_MAX {
            return Ok((self.new_slab(bytes)? as u64) << SLAB_SHIFT);
        }
        let slab = match self.open_slab {
            Some(slab) if self.open_slab_used + bytes <= SLAB_BYTES => slab,
            _ => {
                let slab = self.new_slab(SLAB_BYTES)?;
                self.open_slab = Some(slab);
                self.open_slab_used = 0;
                slab
            }
        };
        let address = (slab as u64) << SLAB_SHIFT | self.open_slab_used as u64;
        self.open_slab_used += bytes;
        Ok(address)
    }

    fn new_slab(&mut self, bytes: usize) -> Result<usize, ArenaFull> {
        if self.slabs.len() >= SLABS_MAX {
            return Err(ArenaFull);
        }
        // Zeroed memory comes from the kernel untouched: a slab costs only the pages written.
        self.slabs.push(vec![0_u8; bytes].into_boxed_slice());
        self.slab_bytes += bytes;
        Ok(self.slabs.len() - 1)
    }

    fn bytes(&self, address: u64, len: usize) -> Option<&[u8]> {
        let (slab, start) = split_address(address);
        self.slabs.get(slab)?.get(start..start.checked_add(len)?)
    }

    /// `len` bytes at `offset` into the segment at `segment_address`.
    fn bytes_mut(&mut self, segment_address: u64, offset: u64, len: usize) -> &mut [u8] {
        let (slab, start) = split_address(segment_address);
        // Addresses come from `allocate`, and offsets stay inside their segment's bytes.
        let start = start + usize::try_from(offset).unwrap_or(usize::MAX);
        let bytes = self.slabs.get_mut(slab).and_then(|s| s.get_mut(start..start + len));
        let Some(bytes) = bytes else {
            unreachable!("address {segment_address:#x} + {offset} outside the arena")
        };
        bytes
    }
}

/// Bytes from a segment's address to posting `index` of its list (which is in that segment).
fn posting_offset(segment: usize, index: u64) -> u64 {
    (previous_bytes(segment) as u64) + (index - SEGMENT_STARTS[segment]) * POSTING_SIZE as u64
}

/// A segment address's (slab, byte offset in the slab). Offsets into a segment are added after
/// the split: inside a large segment's own slab they may exceed `SLAB_BYTES`.
fn split_address(address: u64) -> (usize, usize) {
    let slab = usize::try_from(address >> SLAB_SHIFT).unwrap_or(usize::MAX);
    let start = usize::try_from(address & ((1 << SLAB_SHIFT) - 1)).unwrap_or(usize::MAX);
    (slab, start)
}

/// One list, read by index: the segment addresses collected once.
#[derive(Debug)]
pub struct ListView<'a> {
    lists: &'a PostingLists,
    len: u64,
    addresses: [u64; SEGMENTS_MAX],
}

impl ListView<'_> {
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    #[must_use]
    pub fn get(&self, index: u64) -> Option<Posting> {
        if index >= self.len {
            return None;
        }
        let segment = segment_of(index);
        let (slab, start) = split_address(*self.addresses.get(segment)?);
        let offset = usize::try_from(posting_offset(segment, index)).ok()?;
        let at = start.checked_add(offset)?;
        let bytes = self.lists.slabs.get(slab)?.get(at..at.checked_add(POSTING_SIZE)?)?;
        let mut encoded = [0_u8; POSTING_SIZE];
        encoded.copy_from_slice(bytes);
        Some(Posting::from_bytes(encoded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posting::Side;

    #[test]
    fn segments_grow_by_half_and_cover_every_posting_a_list_can_have() {
        assert_eq!(&SEGMENT_POSTINGS[..6], &[4, 6, 9, 13, 19, 28]);
        assert_eq!(SEGMENT_STARTS[3], 19);
        assert_eq!(
            (segment_of(0), segment_of(3), segment_of(4), segment_of(18), segment_of(19)),
            (0, 0, 1, 2, 3)
        );
        assert_eq!(segment_of(POSITION_LIMIT - 1), SEGMENTS_MAX - 1);
    }

    #[test]
    fn interleaved_lists_read_back_in_order() {
        let mut lists = PostingLists::default();
        let (a, b) = (lists.create(), lists.create());
        let c = lists.create();
        // Enough for segments above the in-slab limit (64 KiB: 13,108 postings, segment 21).
        let count = 100_000_u64;
        assert!(segment_bytes(segment_of(count - 1)) > SEGMENT_IN_SLAB_BYTES_MAX);
        for position in 0..count {
            lists.push(a, Posting::new(position * 2, Side::Debit)).expect("room");
            if position % 3 == 0 {
                lists.push(b, Posting::new(position * 2 + 1, Side::Credit)).expect("room");
            }
        }
        let a_view = lists.view(a).expect("a");
        assert_eq!(a_view.len(), count);
        assert!((0..count).all(|i| a_view.get(i) == Some(Posting::new(i * 2, Side::Debit))));
        assert_eq!(a_view.get(count), None);
        let b_view = lists.view(b).expect("b");
        assert_eq!(b_view.len(), count.div_ceil(3));
        assert!((0..b_view.len()).all(|i| b_view.get(i) == Some(Posting::new(i * 6 + 1, Side::Credit))));
        assert_eq!(lists.view(c).map(|v| v.len()), Some(0));
        assert!(lists.view(ListNumber(3)).is_none());

        let (heads, slabs) = lists.allocated_bytes();
        assert!(heads >= 3 * 16);
        let postings = usize::try_from(count + count.div_ceil(3)).expect("small") * POSTING_SIZE;
        assert!(slabs >= postings && slabs <= postings * 2 + 2 * SLAB_BYTES, "{slabs} bytes for {postings}");
    }
}
