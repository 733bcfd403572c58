//! `parse_plan` on arbitrary bytes: never panics; an accepted plan carries the plan
//! format tag and survives a write and a second read unchanged; a refused one lists
//! issues with known codes.
#![no_main]

use domopt::domain::PLAN_FORMAT;
use domopt::format::parse_plan;
use domopt_fuzz::{assert_json, assert_read_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_plan(data) {
        Ok(plan) => {
            assert_json(data);
            assert_eq!(plan.format, PLAN_FORMAT);
            let written = serde_json::to_vec(&plan).expect("a plan serialises");
            let again = parse_plan(&written).expect("a written plan reads back");
            assert_eq!(again, plan, "changed by a write and a read");
        }
        Err(e) => assert_read_error(&e),
    }
});
