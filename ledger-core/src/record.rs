//! Little-endian field readers shared by the fixed-size record decoders.
//!
//! Callers pass arrays whose length the type system already checked against the layout's size
//! assert, so the slicing below cannot go out of bounds for the documented offsets.

pub(crate) fn read_u128(b: &[u8], offset: usize) -> u128 {
    let mut x = [0_u8; 16];
    x.copy_from_slice(&b[offset..offset + 16]);
    u128::from_le_bytes(x)
}

pub(crate) fn read_u64(b: &[u8], offset: usize) -> u64 {
    let mut x = [0_u8; 8];
    x.copy_from_slice(&b[offset..offset + 8]);
    u64::from_le_bytes(x)
}

pub(crate) fn read_u32(b: &[u8], offset: usize) -> u32 {
    let mut x = [0_u8; 4];
    x.copy_from_slice(&b[offset..offset + 4]);
    u32::from_le_bytes(x)
}

pub(crate) fn read_u16(b: &[u8], offset: usize) -> u16 {
    let mut x = [0_u8; 2];
    x.copy_from_slice(&b[offset..offset + 2]);
    u16::from_le_bytes(x)
}
