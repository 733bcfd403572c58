//! `read_network` (`PUT /v1/network`) on arbitrary bytes: never panics; an accepted
//! network meets the format's guarantees, has service-sized ids and reads back
//! unchanged from its own JSON; a refused body is a 4xx.
#![no_main]

use domopt::service::bodies::read_network;
use domopt_fuzz::{assert_client_error, assert_json, assert_network, assert_service_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match read_network(data) {
        Ok(net) => {
            assert_json(data);
            let (nodes, skus) = assert_network(&net.nodes, &net.skus, &net.rate_card, &net.costs);
            nodes
                .iter()
                .chain(&skus)
                .for_each(|id| assert_service_id(id));
            let written = serde_json::to_vec(&net).expect("a network serialises");
            let again = read_network(&written).expect("a written network reads back");
            assert_eq!(again, net, "changed by a write and a read");
        }
        Err(e) => assert_client_error(e),
    }
});
