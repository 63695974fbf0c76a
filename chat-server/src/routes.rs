//! The HTTP side: the routes, and the checks made before a WebSocket upgrade (origin, room).
//!
//! Each WebSocket is configured for tungstenite's limits: the message and frame limits are
//! `--max-message-size` itself (a larger message is never buffered, 1009), a 256-byte read
//! buffer, and a bounded write buffer ([`Limits::max_write_buffer`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tracing::info;

use crate::client::{self, Limits, Route, Session};
use crate::config::Config;
use crate::connection::{Connection, Connections};
use crate::health;
use crate::hub::{Hub, JoinError};
use crate::origin::OriginPolicy;
use crate::relay::Relay;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The connected clients.
    pub hub: Arc<Hub>,
    /// Who may upgrade.
    pub origins: Arc<OriginPolicy>,
    /// Per-client limits.
    pub limits: Limits,
    /// The open connections.
    pub connections: Arc<Connections>,
    /// The Redis link, with `--redis`.
    pub relay: Option<Arc<Relay>>,
}

/// The application: `/ws` (chat), `/hello` (demo), `/echo` (if enabled), `/health`,
/// `/pkg/...` from `config.pkg`, everything else from `config.www`.
pub fn app(config: &Config, state: AppState) -> Router {
    let mut router = Router::new()
        .route("/ws", websocket(Route::Chat))
        .route("/hello", websocket(Route::Hello))
        .route("/health", get(health::report));
    if config.echo_route {
        router = router.route("/echo", websocket(Route::Echo));
    }
    router
        .nest_service("/pkg", ServeDir::new(&config.pkg))
        .fallback_service(ServeDir::new(&config.www))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET` on a WebSocket route: upgrades to `route` through [`accept`].
fn websocket(route: Route) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              ConnectInfo(peer): ConnectInfo<SocketAddr>,
              Extension(connection): Extension<Arc<Connection>>,
              headers: HeaderMap,
              upgrade: WebSocketUpgrade| async move {
            let client = Client {
                route,
                peer,
                connection,
            };
            accept(state, client, &headers, upgrade)
        },
    )
}

/// Who asks to upgrade.
struct Client {
    route: Route,
    peer: SocketAddr,
    connection: Arc<Connection>,
}

/// Upgrades if the origin is allowed (else 403) and the hub has room (else 503).
fn accept(state: AppState, client: Client, headers: &HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    let Client {
        route,
        peer,
        connection,
    } = client;
    let origin = headers
        .get(header::ORIGIN)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let path = route.path();
    let shown = origin.as_deref().unwrap_or("none");
    if !state.origins.allows(origin.as_deref()) {
        info!(%peer, path, origin = shown, "refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let (member, mailbox) = match state.hub.join(route.listens(), Arc::clone(&connection)) {
        Ok(joined) => joined,
        Err(refusal) => {
            let why = match refusal {
                JoinError::Full => "too many clients\n",
                JoinError::ShuttingDown => "server shutting down\n",
            };
            info!(%peer, path, origin = shown, "refused: {}", why.trim_end());
            return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
        }
    };
    let limits = state.limits;
    let session = Session {
        member,
        mailbox,
        route,
        limits,
        connection,
        relay: state.relay.clone(),
        peer,
        origin,
    };
    upgrade
        .max_message_size(limits.max_message_size)
        .max_frame_size(limits.max_message_size)
        .read_buffer_size(client::READ_BUFFER)
        .write_buffer_size(client::WRITE_BUFFER)
        .max_write_buffer_size(limits.max_write_buffer())
        .on_upgrade(move |socket| client::run(socket, session))
}
