//! What a native connection starts from, decided on the application's thread when the socket
//! is made: the route (directly, or through the proxy the options or the environment name)
//! and, for `wss://`, the TLS configuration. The application's mistakes are errors from
//! `open`; the host's (an unusable proxy variable, a trust store without roots) fail the
//! connection once it starts, with an error event and close 1006, as in a browser.

use super::connection::ConnectOptions;
use super::proxy::{self, Route};
use super::tls;
use crate::error::{Error, OptionError};
use crate::rules::url::WebSocketUrl;
use crate::socket::WebSocketBuilder;

/// The options for a connection to `url` with `builder`'s options.
///
/// # Errors
/// The proxy option or a TLS option cannot be used ([`Error::InvalidProxy`],
/// [`Error::InvalidTlsOption`]).
pub(crate) fn connect_options(url: WebSocketUrl, builder: WebSocketBuilder) -> Result<ConnectOptions, Error> {
    let mut host_failure = None;
    let mut host_error = |error: OptionError| match error {
        OptionError::Application(error) => Err(error),
        OptionError::Host(cause) => {
            host_failure.get_or_insert(cause);
            Ok(())
        }
    };
    let route = match proxy::route(&builder.proxy, url.host()) {
        Ok(route) => route,
        Err(error) => {
            host_error(error)?;
            Route::Direct
        }
    };
    // TLS options given with a `ws://` URL are checked all the same (they are the
    // application's input), but only `wss://` needs the configuration or the host's roots.
    let tls = if url.is_secure() {
        match tls::client_config(&builder) {
            Ok(config) => Some(config),
            Err(error) => {
                host_error(error)?;
                None
            }
        }
    } else {
        if tls::has_options(&builder) {
            if let Err(OptionError::Application(error)) = tls::client_config(&builder) {
                return Err(error);
            }
        }
        None
    };
    Ok(ConnectOptions {
        url,
        builder,
        route,
        tls,
        setup_failure: host_failure,
    })
}
