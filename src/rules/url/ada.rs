//! The URL parser natively: ada (the `ada-url` crate), which follows the WHATWG URL standard
//! (see the measurement in Cargo.toml).

/// A parsed URL.
pub(super) struct Parsed(ada_url::Url);

/// Parses `input` against `base`; `None` when the standard's parser fails.
pub(super) fn parse(input: &str, base: Option<&str>) -> Option<Parsed> {
    ada_url::Url::parse(input, base).ok().map(Parsed)
}

/// The base URL when none is given: none (a native program has no page).
pub(super) fn default_base() -> Option<String> {
    None
}

impl Parsed {
    /// The scheme, lower-case, without the colon.
    pub(super) fn scheme(&self) -> String {
        self.0.protocol().trim_end_matches(':').to_string()
    }

    /// Sets the scheme (between special schemes: a default port is dropped).
    pub(super) fn set_scheme(&mut self, scheme: &str) {
        // Between two special schemes the setter cannot fail.
        let _ = self.0.set_protocol(scheme);
    }

    /// The serialised URL.
    pub(super) fn href(&self) -> String {
        self.0.href().to_string()
    }
}
