//! A frame damaged in transit is refused, never misread and never a panic: the header checksum
//! covers the header (and through `body_checksum` the body), and CRC32C detects every error
//! burst of up to 32 bits, so every single-byte change of a frame is caught. A peer that damages a
//! frame *and* recomputes its checksums gets a refusal or a request that is exactly what it sent.

use ledger_core::query::QueryFilter;
use ledger_core::{Account, Transfer, TransferFlags};
use ledger_protocol::{HEADER_SIZE, Header, Request, decode_request, encode_request};

fn requests() -> Vec<Request> {
    let transfer = |id: u128| Transfer {
        id,
        debit_account_id: 1,
        credit_account_id: 2,
        amount: 30_500,
        ledger: 156,
        code: 1,
        flags: TransferFlags::LINKED,
        ..Transfer::default()
    };
    vec![
        Request::CreateTransfers(vec![transfer(1), transfer(2), transfer(3)]),
        Request::CreateAccounts(vec![Account { id: 9, ledger: 156, code: 1001, ..Account::default() }]),
        Request::LookupAccounts(vec![1, 2]),
        Request::QueryTransfers(QueryFilter { ledger: 156, limit: 10, ..QueryFilter::default() }),
        Request::Hello { token: b"token".to_vec() },
        Request::PostEvents(vec![
            br#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156}"#
                .to_vec(),
            br#"{"type":"event","event_id":"E10"}"#.to_vec(),
        ]),
    ]
}

/// What the server makes of a frame: `Some(request)` if accepted. Must not panic on any input.
fn accept(frame: &[u8]) -> Option<Request> {
    let (header, body) = frame.split_first_chunk::<HEADER_SIZE>()?;
    let header = Header::decode(header).ok()?;
    let body = body.get(..header.body_len as usize)?;
    decode_request(&header, body).ok()
}

fn encode(request_id: u64, request: &Request) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_request(request_id, request, &mut frame);
    frame
}

#[test]
fn every_single_byte_change_is_refused() {
    for request in requests() {
        let frame = encode(11, &request);
        assert_eq!(accept(&frame), Some(request.clone()), "the intact frame is accepted");
        for offset in 0..frame.len() {
            for mask in [0x01_u8, 0x80, 0xff, 0x5a] {
                let mut damaged = frame.clone();
                damaged[offset] ^= mask;
                assert_eq!(
                    accept(&damaged),
                    None,
                    "{}: byte {offset} ^ {mask:#04x} was accepted",
                    request.operation()
                );
            }
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    for request in requests() {
        let frame = encode(11, &request);
        for len in 0..frame.len() {
            assert_eq!(accept(&frame[..len]), None, "{}: {len} bytes", request.operation());
        }
    }
}

/// Recomputes both checksums, as a peer with a bug in its field encoding (but a correct codec
/// around it) would send them.
fn reseal(frame: &mut [u8]) {
    let (header, body) = frame.split_at_mut(HEADER_SIZE);
    header[8..12].copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
    let checksum = crc32c::crc32c(&header[8..]);
    header[4..8].copy_from_slice(&checksum.to_le_bytes());
}

#[test]
fn a_changed_frame_with_good_checksums_is_refused_or_read_as_sent() {
    let mut accepted_changes = 0;
    for request in requests() {
        let frame = encode(11, &request);
        // Header bytes after the checksums, and every body byte.
        for offset in 12..frame.len() {
            for mask in [0x01_u8, 0x80, 0xff] {
                let mut changed = frame.clone();
                changed[offset] ^= mask;
                reseal(&mut changed);
                let Some(read) = accept(&changed) else { continue };
                accepted_changes += 1;
                // Accepted: then it is exactly the (different) request that was sent.
                let request_id = Header::identify(changed.first_chunk().expect("a header"))
                    .expect("a good checksum")
                    .request_id;
                assert_eq!(encode(request_id, &read), changed, "byte {offset} ^ {mask:#04x}");
            }
        }
    }
    // Body bytes and the request id are free-form, so most such changes are valid requests.
    assert!(accepted_changes > 1000, "{accepted_changes}");
}
