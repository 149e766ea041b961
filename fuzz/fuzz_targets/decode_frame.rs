//! Any bytes fed to the frame decoders: no panic, and every frame they accept is canonical (it is
//! exactly what encoding the decoded value gives back), so the decoders cannot misread a frame.
//!
//! Input: one mode byte, then the frame. Mode bit 0 "seals" the frame first (sets `body_len` to
//! the bytes that follow the header and rewrites both checksums), so that the fuzzer reaches the
//! checks behind the checksums instead of spending its time guessing CRCs.

#![no_main]

use ledger_protocol::{
    BODY_MAX, HEADER_SIZE, Header, HeaderError, Operation, checksum, decode_reply, decode_request,
    encode_error_reply, encode_reply, encode_request,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, frame)) = data.split_first() else { return };
    let mut frame = frame.to_vec();
    if frame.len() < HEADER_SIZE {
        return;
    }
    if mode & 1 == 1 {
        seal(&mut frame);
    }
    let (header_bytes, rest) = frame.split_first_chunk::<HEADER_SIZE>().expect("length checked");

    let decoded = Header::decode(header_bytes);
    let identity = Header::identify(header_bytes);
    let header = match decoded {
        Ok(header) => header,
        Err(error) => {
            // An error reply is possible exactly when the header can be trusted.
            assert_eq!(error.status().is_some(), identity.is_some(), "{error}");
            if matches!(error, HeaderError::ReservedBytesSet | HeaderError::UnknownKind(_)) {
                let identity = identity.expect("trusted");
                assert!(identity.body_len as usize <= BODY_MAX, "a skippable body is bounded");
            }
            return;
        }
    };
    let identity = identity.expect("a decoded header is trusted");
    assert_eq!(
        (identity.request_id, identity.operation, identity.body_len),
        (header.request_id, header.operation, header.body_len)
    );
    assert_eq!(header.encode(), *header_bytes, "a decoded header re-encodes to the same bytes");

    let Some(body) = rest.get(..header.body_len as usize) else { return };
    let frame = &frame[..header.frame_len()];

    match decode_request(&header, body) {
        Ok(request) => {
            assert_eq!(request.check_limits(), Ok(()));
            let mut again = Vec::new();
            encode_request(header.request_id, &request, &mut again);
            assert_eq!(again, frame, "an accepted request is canonical");
        }
        Err(error) => {
            let _ = error.status();
        }
    }

    match decode_reply(&header, body) {
        Ok(Ok(reply)) => {
            let operation = Operation::from_u8(header.operation).expect("an ok reply has a known operation");
            assert!(reply.answers(operation));
            let mut again = Vec::new();
            encode_reply(header.request_id, operation, &reply, &mut again);
            // Balances drop their reserved bytes on decode; every other reply is canonical.
            if operation != Operation::GetAccountBalances {
                assert_eq!(again, frame, "an accepted reply is canonical");
            }
            let (header, body) = again.split_first_chunk::<HEADER_SIZE>().expect("a header");
            let header = Header::decode(header).expect("an encoded header is valid");
            assert_eq!(decode_reply(&header, body), Ok(Ok(reply)));
        }
        Ok(Err(status)) => {
            let mut again = Vec::new();
            encode_error_reply(header.request_id, header.operation, status, &mut again);
            assert_eq!(again, frame, "an accepted error reply is canonical");
        }
        Err(error) => {
            let _ = error.status();
        }
    }
});

/// Makes `body_len` and both checksums match the bytes, leaving every other field as it is.
fn seal(frame: &mut [u8]) {
    let (header, body) = frame.split_at_mut(HEADER_SIZE);
    let body_len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    header[24..28].copy_from_slice(&body_len.to_le_bytes());
    header[8..12].copy_from_slice(&checksum(body).to_le_bytes());
    let header_checksum = checksum(&header[8..]);
    header[4..8].copy_from_slice(&header_checksum.to_le_bytes());
}
