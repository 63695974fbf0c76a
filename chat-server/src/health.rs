//! `GET /health`: what the server holds now, as JSON, for operators and tests.
//!
//! `{"clients":N,"connections":N,"max_connections":N,"redis":"off"}`: WebSocket clients,
//! open connections (HTTP and WebSocket) and their cap, and the Redis link's state (`up`,
//! `down`, or `off` without `--redis`).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::routes::AppState;

/// The report.
pub async fn report(State(state): State<AppState>) -> impl IntoResponse {
    let body = format!(
        "{{\"clients\":{},\"connections\":{},\"max_connections\":{},\"redis\":\"{}\"}}\n",
        state.hub.clients(),
        state.connections.open(),
        state.connections.cap(),
        match &state.relay {
            None => "off",
            Some(relay) if relay.is_up() => "up",
            Some(_) => "down",
        },
    );
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}
