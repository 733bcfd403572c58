//! `read_orders` (`POST /v1/orders`) against a fixed network on arbitrary bytes: never
//! panics; accepted orders meet the format's guarantees against that network, have
//! service-sized ids and read back unchanged as a batch; a refused body is a 4xx.
#![no_main]

use domopt::service::bodies::read_orders;
use domopt_fuzz::{
    assert_client_error, assert_json, assert_orders, assert_service_id, network, network_ids,
};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    match read_orders(network(), data) {
        Ok(orders) => {
            assert_json(data);
            let (nodes, skus) = network_ids();
            assert_orders(&orders, &nodes, &skus);
            orders.iter().for_each(|o| assert_service_id(&o.id));
            let written = serde_json::to_vec(&json!({ "orders": orders })).expect("serialises");
            let again = read_orders(network(), &written).expect("written orders read back");
            assert_eq!(again, orders, "changed by a write and a read");
        }
        Err(e) => assert_client_error(e),
    }
});
