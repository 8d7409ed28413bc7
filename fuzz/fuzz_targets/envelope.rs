//! Envelope decoding: the relay's zero-copy reader and stamp, and the client's parser, on
//! arbitrary bytes. Whatever the relay accepts, it must stamp into a packet every client parses.

#![no_main]

use libfuzzer_sys::fuzz_target;
use protobuf::Message;
use videocall_types::PacketWrapper;
use videocall_types::wire::{Envelope, stamp};

fuzz_target!(|data: &[u8]| {
    // ok: each expect is the property under test (a panic is how libFuzzer reports a finding).
    if let Ok(envelope) = Envelope::read(data) {
        let _ = envelope.media_route();
        let _ = envelope.is_rtt_probe();
        let _ = envelope.kind();
        let stamped = stamp(data, "zed", 77).expect("a readable envelope can be stamped");
        let again = Envelope::read(&stamped).expect("a stamped envelope stays readable");
        assert_eq!((again.email, again.session_id), ("zed", 77));
        assert_eq!(again.data, envelope.data, "the payload is kept byte for byte");
        let parsed = PacketWrapper::parse_from_bytes(&stamped).expect("clients parse it");
        assert_eq!(parsed.email, "zed");
    }
    let _ = videocall_client::packet::parse(data, true);
    let _ = videocall_client::packet::parse(data, false);
});
