//! The URL parser in a page or worker: the browser's own (`URL`), so that the page never
//! disagrees with the browser it runs in.

use wasm_bindgen::JsCast;

/// A parsed URL.
pub(super) struct Parsed(web_sys::Url);

/// Parses `input` against `base`; `None` when the browser's parser fails.
pub(super) fn parse(input: &str, base: Option<&str>) -> Option<Parsed> {
    match base {
        Some(base) => web_sys::Url::new_with_base(input, base),
        None => web_sys::Url::new(input),
    }
    .ok()
    .map(Parsed)
}

/// The base URL when none is given, as `new WebSocket(url)` uses it: the document's base URL
/// in a page, the worker's URL in a worker.
pub(super) fn default_base() -> Option<String> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        return window.document()?.base_uri().ok()?;
    }
    let worker = global.dyn_ref::<web_sys::WorkerGlobalScope>()?;
    Some(worker.location().href())
}

impl Parsed {
    /// The scheme, lower-case, without the colon.
    pub(super) fn scheme(&self) -> String {
        let mut protocol = self.0.protocol();
        protocol.pop();
        protocol
    }

    /// Sets the scheme (between special schemes: a default port is dropped).
    pub(super) fn set_scheme(&mut self, scheme: &str) {
        self.0.set_protocol(scheme);
    }

    /// The serialised URL.
    pub(super) fn href(&self) -> String {
        self.0.href()
    }
}
