//! The parity suite (`tests/parity.rs`, the same file and the same tests) in a dedicated Web
//! Worker of headless Chromium, where the browser backend has no `window`: it must behave as
//! in a page. Browser only: natively the suite runs once, as `tests/parity.rs`.
//! `scripts/test.sh` requires the list of `parity::` tests passed here to be the page's and
//! the native run's; the one test of this file's own checks that the run is in a worker.
#![cfg(target_arch = "wasm32")]

#[path = "parity.rs"]
mod parity;

use twinsock::{Socket, WebSocket};
use wasm_bindgen::JsCast;

/// The run really is in a worker: no `window`, a worker's global scope, and a relative URL
/// resolves against the worker's own location, as `new WebSocket(url)` does there.
#[wasm_bindgen_test::wasm_bindgen_test]
fn the_suite_runs_in_a_dedicated_worker_without_a_window() {
    assert!(web_sys::window().is_none(), "a window in a worker");
    let global = js_sys::global();
    let worker = global
        .dyn_ref::<web_sys::WorkerGlobalScope>()
        .expect("a worker's global scope");
    let socket = WebSocket::open("/relative").expect("a relative URL");
    let expected = format!("ws://{}/relative", worker.location().host());
    assert_eq!(socket.url(), expected);
}
