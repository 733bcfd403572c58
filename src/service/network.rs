//! The network the service allocates over, held in memory with what requests are
//! checked against, so that a submit or an ATP query costs the same on a catalog of
//! 200,000 skus as on one of 500.

use std::collections::HashSet;

use super::store::NetworkConfig;

/// The loaded network: its configuration and the ids of its nodes and skus.
#[derive(Debug)]
pub struct LoadedNetwork {
    /// Nodes, skus, rate card and costs.
    pub config: NetworkConfig,
    /// Ids of the nodes.
    pub node_ids: HashSet<String>,
    /// Ids of the skus.
    pub sku_ids: HashSet<String>,
}

impl LoadedNetwork {
    /// Indexes a network configuration.
    pub fn new(config: NetworkConfig) -> LoadedNetwork {
        LoadedNetwork {
            node_ids: config.nodes.iter().map(|n| n.id.clone()).collect(),
            sku_ids: config.skus.iter().map(|s| s.id.clone()).collect(),
            config,
        }
    }

    /// Whether the network has a node with this id.
    pub fn has_node(&self, id: &str) -> bool {
        self.node_ids.contains(id)
    }

    /// Whether the network has a sku with this id.
    pub fn has_sku(&self, id: &str) -> bool {
        self.sku_ids.contains(id)
    }
}
