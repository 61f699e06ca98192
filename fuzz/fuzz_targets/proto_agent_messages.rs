//! Fuzzes what the server does first with any agent request body: inflate and parse it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_proto::agent::{EnrollRequest, EventBatch, Heartbeat, InventoryReport};
use vigil_proto::codec;

fuzz_target!(|data: &[u8]| {
    // Raw bytes as a body, and the same bytes as the JSON inside a well-formed gzip body.
    let wrapped = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    };
    for body in [data, &wrapped[..]] {
        let _ = codec::decode::<EventBatch>(body, 1 << 20);
        let _ = codec::decode::<InventoryReport>(body, 1 << 20);
        let _ = codec::decode::<EnrollRequest>(body, 1 << 20);
        let _ = codec::decode::<Heartbeat>(body, 1 << 20);
    }
});
