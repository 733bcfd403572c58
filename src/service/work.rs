//! Helpers every handler uses: database work off the async runtime, and the loaded
//! network.

use std::sync::Arc;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::network::LoadedNetwork;

/// Runs database work on a blocking thread.
pub async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || f(&s))
        .await
        .map_err(|e| ApiError::new("E5000", format!("worker failed: {e}")))?
}

/// The loaded network, or `409 E4003` when none is. A replica that has none cached
/// asks the database first: another replica may have loaded one since this one last
/// looked (replicas otherwise notice a new network within a third of the lease).
pub async fn current_network(state: &Arc<AppState>) -> ApiResult<Arc<LoadedNetwork>> {
    if let Some(n) = cached_network(state) {
        return Ok(n);
    }
    blocking(state, |s| Ok(super::cluster::refresh_network(s)?)).await?;
    cached_network(state)
        .ok_or_else(|| ApiError::new("E4003", "no network loaded (PUT /v1/network first)"))
}

fn cached_network(state: &AppState) -> Option<Arc<LoadedNetwork>> {
    state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}
