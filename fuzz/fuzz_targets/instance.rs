//! `parse_instance` on arbitrary bytes: never panics; it agrees with the full reader
//! (`parse_instance_fully`), which its fast path only ever shortcuts; an accepted
//! instance meets every guarantee of the format and survives a write and a second read
//! unchanged; a refused one lists issues with known codes.
#![no_main]

use domopt::format::{parse_instance, parse_instance_fully};
use domopt_fuzz::{assert_instance, assert_json, assert_read_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = parse_instance(data);
    match (&read, parse_instance_fully(data)) {
        (Ok(a), Ok(b)) => assert_eq!(*a, b, "the fast path reads another instance"),
        (Err(a), Err(b)) => assert_eq!(a.issues(), b.issues()),
        (a, b) => panic!("the readers disagree: {a:?} vs {b:?}"),
    }
    match read {
        Ok(inst) => {
            assert_json(data);
            assert_instance(&inst);
            let written = serde_json::to_vec(&inst).expect("an instance serialises");
            let again = parse_instance(&written).expect("a written instance reads back");
            assert_eq!(again, inst, "changed by a write and a read");
        }
        Err(e) => assert_read_error(&e),
    }
});
