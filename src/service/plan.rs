//! `POST /v1/plan`: a whole instance in, a checked plan out. Plans run on their own
//! bounded pool (`--plan-slots`) with a bounded queue (`--plan-queue`), never on the
//! windows' solve slot, so a window never waits behind a plan; a request that finds
//! the pool and queue full is answered `429 E4290` with `Retry-After`. `time_limit` is
//! capped by `--max-plan-seconds`, and running plans are cancelled at shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult, body_bytes, invalid};
use super::extract::Params;
use crate::check::check;
use crate::domain::{Instance, Plan};
use crate::format::parse_instance;
use crate::solve::{SOLVER_NAMES, SolveOptions, solve};

/// The handler of `POST /v1/plan?solver=mip&time_limit=10`.
pub async fn plan(
    State(state): State<Arc<AppState>>,
    q: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, Response> {
    let (instance, solver, time_limit) =
        request(&state, &q, body).map_err(|e| e.into_response())?;
    let m = &state.metrics;
    let Ok(_place) = state.plan_admission.try_acquire() else {
        let retry = state.config.max_plan_seconds.ceil() as u64;
        let e = ApiError::new(
            "E4290",
            format!(
                "every plan slot and queue place is taken ({} running, {} waiting at most); retry after {retry} s",
                state.config.plan_slots, state.config.plan_queue
            ),
        )
        .with_retry_after(retry);
        return Err(e.into_response());
    };
    let shutting_down = || {
        ApiError::new(
            "E5030",
            "shutting down: the plan was cancelled; send it to the next server",
        )
        .into_response()
    };
    let mut stop = state.stop.subscribe();
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    let _slot = tokio::select! {
        slot = state.plan_pool.acquire() => slot.map_err(|_| shutting_down())?,
        () = &mut stopped => return Err(shutting_down()),
    };
    m.plans_running.fetch_add(1, Ordering::Relaxed);
    let opts = SolveOptions {
        time_limit: std::time::Duration::from_secs_f64(time_limit),
        threads: state.config.solver_threads,
        cancel: Some(state.plan_cancel.clone()),
        ..SolveOptions::default()
    };
    let task = tokio::task::spawn_blocking(move || solve_checked(&instance, &solver, &opts));
    // At shutdown the solve is told to stop (`cancel`), and the request is answered
    // at once whether or not the solver has returned yet: the process does not wait
    // for it.
    let result = tokio::select! {
        r = task => Some(r),
        () = &mut stopped => None,
    };
    m.plans_running.fetch_sub(1, Ordering::Relaxed);
    let Some(result) = result else {
        return Err(shutting_down());
    };
    let plan = result
        .map_err(|e| ApiError::new("E5000", format!("solver failed: {e}")).into_response())?
        .map_err(|e| e.into_response())?;
    Ok(Json(serde_json::to_value(plan).expect("plans serialize")))
}

/// Reads the query and the instance.
fn request(
    state: &AppState,
    q: &Params,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(Instance, String, f64)> {
    let bytes = body_bytes(body)?;
    q.only(&["solver", "time_limit"])?;
    let solver = q
        .get::<String>("solver", "a solver name")?
        .unwrap_or_else(|| "mip".into());
    if !SOLVER_NAMES.contains(&solver.as_str()) {
        return Err(ApiError::with_details(
            "E4001",
            format!("unknown solver \"{solver}\""),
            vec![
                json!({"code": "E4001", "path": "?solver", "message": format!("one of {}", SOLVER_NAMES.join(", "))}),
            ],
        ));
    }
    let max = state.config.max_plan_seconds;
    let want = format!("seconds in (0, {max}]");
    let time_limit = q.get::<f64>("time_limit", &want)?.unwrap_or(max.min(10.0));
    if !(time_limit > 0.0 && time_limit <= max) {
        return Err(ApiError::with_details(
            "E4001",
            format!("time_limit is {want} (--max-plan-seconds)"),
            vec![json!({"code": "E4001", "path": "?time_limit", "message": want})],
        ));
    }
    let instance = parse_instance(&bytes).map_err(|e| {
        if e.issues().iter().any(|i| i.code == "E1000") {
            ApiError::with_issues("E4000", "the body is not valid JSON", e.issues())
        } else {
            invalid(&e)
        }
    })?;
    Ok((instance, solver, time_limit))
}

/// Solves and checks; runs on a blocking thread.
fn solve_checked(instance: &Instance, solver: &str, opts: &SolveOptions) -> ApiResult<Plan> {
    let plan = solve(instance, solver, opts).map_err(|e| ApiError::new("E4001", e.to_string()))?;
    let report = check(instance, &plan);
    if !report.is_valid() {
        tracing::error!(violations = ?report.violations, "plan failed the checker");
        return Err(ApiError::new(
            "E5000",
            "the solver's plan failed the checker",
        ));
    }
    Ok(plan)
}
