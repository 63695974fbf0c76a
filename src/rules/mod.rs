//! The argument rules of the WebSocket API, run before either backend is touched, so both
//! targets give the same error for the same mistake: the constructor's URL and subprotocols,
//! and `close()`'s code and reason.

pub(crate) mod close;
pub(crate) mod protocols;
pub(crate) mod url;
