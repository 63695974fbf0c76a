//! Helpers shared by the behaviour suites (the library's, and through `#[path]` the chat's and
//! the chat server's): where the test server is, a timer that works on both targets, and
//! bounded waits for events.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use futures::future::{select, Either};

use twinsock::{CloseEvent, Event, Socket};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Declares a test that runs natively (`cargo test`) and in the browser (wasm-bindgen-test).
#[macro_export]
macro_rules! parity_test {
    ($(#[$meta:meta])* $name:ident, $body:block) => {
        $(#[$meta])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            futures::executor::block_on(async $body)
        }
        $(#[$meta])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() {
            async $body.await
        }
    };
}

/// Completes after `duration`.
#[cfg(not(target_arch = "wasm32"))]
pub async fn delay(duration: Duration) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(duration);
        let _ = done.send(());
    });
    let _ = wait.await;
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The global `setTimeout`, a page's or a worker's (a worker has no `window`).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, milliseconds: i32) -> wasm_bindgen::JsValue;
}

/// Completes after `duration`.
#[cfg(target_arch = "wasm32")]
pub async fn delay(duration: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, duration.as_millis() as i32);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Milliseconds on a clock both targets have (natively since the first call; in a browser the
/// wall clock, `Date.now()`): for measuring how long something took.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// Milliseconds on a clock both targets have (natively since the first call; in a browser the
/// wall clock, `Date.now()`): for measuring how long something took.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// `future`'s output, or a panic naming `what` if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(delay(limit));
    match select(future, timer).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// The next event, or a panic after [`WAIT`].
pub async fn next<S: Socket + std::fmt::Debug>(socket: &S) -> Option<Event> {
    let future = std::pin::pin!(socket.next_event());
    let timer = std::pin::pin!(delay(WAIT));
    match select(future, timer).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("timed out waiting for the next event of {socket:?}"),
    }
}

/// Waits for the open event (failing on anything else).
pub async fn opened<S: Socket + std::fmt::Debug>(socket: &S) {
    match next(socket).await {
        Some(Event::Open) => {}
        other => panic!("expected the open event, got {other:?}"),
    }
}

/// Opens `url` and waits until it is open.
pub async fn open(url: &str) -> twinsock::WebSocket {
    let socket = twinsock::WebSocket::open(url).expect("a valid URL");
    opened(&socket).await;
    socket
}

/// Collects every remaining event up to and including the close event, and checks that the
/// stream ends after it and that the state is then CLOSED.
pub async fn until_close<S: Socket + std::fmt::Debug>(socket: &S) -> (Vec<Event>, CloseEvent) {
    let mut seen = Vec::new();
    loop {
        match next(socket).await {
            Some(Event::Close(close)) => {
                assert_eq!(
                    socket.ready_state(),
                    twinsock::ReadyState::Closed,
                    "state at the close event"
                );
                assert_eq!(next(socket).await, None, "the close event must be the last");
                return (seen, close);
            }
            Some(event) => seen.push(event),
            None => panic!("the stream ended without a close event after {seen:?}"),
        }
    }
}

/// Expects the connection to fail: an error event (and nothing else), then close `code`, not clean.
pub async fn expect_failure<S: Socket + std::fmt::Debug>(socket: &S, code: u16) {
    let (seen, close) = until_close(socket).await;
    assert!(
        matches!(seen.as_slice(), [Event::Error(_)]),
        "expected exactly one error event before the close, got {seen:?}"
    );
    assert_eq!(
        (close.code, close.was_clean),
        (code, false),
        "close event {close:?}"
    );
}

/// The next message as text (failing on anything else).
pub async fn text<S: Socket + std::fmt::Debug>(socket: &S) -> String {
    match next(socket).await {
        Some(Event::Message(twinsock::Message::Text(text))) => text,
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Where the test server listens.
pub struct Server {
    pub ws: String,
    pub wss: String,
    /// The `wss` listener's certificate (DER; natively only: the browser is told to trust it).
    pub cert: Vec<u8>,
    pub closed: String,
    pub wrongname: String,
    /// The wrong-name listener's certificate (DER; natively only).
    pub wrongname_cert: Vec<u8>,
    /// The restartable listener, which `/restart?down_ms=D` stops and brings back.
    pub restart: String,
}

/// The test server: natively one started in-process for this test binary; in the browser the
/// one whose start-up line (`ws=ADDR wss=ADDR cert=PATH closed=ADDR wrongname=ADDR
/// wrongname_cert=PATH restart=ADDR`) the test script exported as `TWINSOCK_TEST_SERVER` at
/// build time.
pub fn server() -> &'static Server {
    static SERVER: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    SERVER.get_or_init(start_server)
}

#[cfg(target_arch = "wasm32")]
fn start_server() -> Server {
    let Some(line) = option_env!("TWINSOCK_TEST_SERVER") else {
        panic!("build the browser tests with TWINSOCK_TEST_SERVER set (scripts/test.sh does)");
    };
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .unwrap_or_else(|| panic!("the test server line {line:?} has no {key}="))
            .to_string()
    };
    Server {
        ws: field("ws"),
        wss: field("wss"),
        cert: Vec::new(),
        closed: field("closed"),
        wrongname: field("wrongname"),
        wrongname_cert: Vec::new(),
        restart: field("restart"),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn start_server() -> Server {
    let options = twinsock_test_server::Options {
        restartable: true,
        ..Default::default()
    };
    let server = twinsock_test_server::TestServer::start(options).expect("start the test server");
    let found = Server {
        ws: server.ws.to_string(),
        wss: server.wss.to_string(),
        cert: server.cert_der.clone(),
        closed: server.closed.to_string(),
        wrongname: server.wrong_name.to_string(),
        wrongname_cert: server.wrong_name_cert_der.clone(),
        restart: server.restartable.expect("a restartable listener").to_string(),
    };
    // Dropping the handle leaves it serving for the life of this test process.
    found
}

/// `ws://` URL of `path` on the test server.
pub fn ws(path: &str) -> String {
    format!("ws://{}{}", server().ws, path)
}

/// `ws://` URL of `path` on the test server's restartable listener.
pub fn restartable(path: &str) -> String {
    format!("ws://{}{}", server().restart, path)
}

/// `wss://` URL of `path` on the test server.
pub fn wss(path: &str) -> String {
    format!("wss://{}{}", server().wss, path)
}

/// `n` bytes that deflate barely compresses (xorshift from `seed`).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
