//! The pong owed to the server: at most one. RFC 6455 5.5.3 lets an endpoint that has not
//! answered a ping yet answer only the most recent one, so a new ping replaces the pong still
//! waiting to be written, and a server that floods pings without reading cannot make the
//! client's memory grow. Owned by the session.

use super::frames::MAX_CONTROL_PAYLOAD;

/// A control frame's payload, kept inline (no allocation).
#[derive(Clone, Copy)]
pub(crate) struct ControlPayload {
    bytes: [u8; MAX_CONTROL_PAYLOAD],
    len: u8,
}

impl ControlPayload {
    /// A copy of `payload`, cut to 125 bytes (the parser already refuses longer control frames).
    pub(crate) fn new(payload: &[u8]) -> Self {
        let len = payload.len().min(MAX_CONTROL_PAYLOAD);
        let mut bytes = [0; MAX_CONTROL_PAYLOAD];
        bytes[..len].copy_from_slice(&payload[..len]);
        Self {
            bytes,
            len: len as u8,
        }
    }

    /// The payload.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The pong for the most recent ping, until it is written.
#[derive(Default)]
pub(crate) struct PendingPong {
    payload: Option<ControlPayload>,
}

impl PendingPong {
    /// A ping arrived: its pong replaces any not yet written.
    pub(crate) fn ping_received(&mut self, payload: &[u8]) {
        self.payload = Some(ControlPayload::new(payload));
    }

    /// `true` while a pong waits to be written.
    pub(crate) fn is_pending(&self) -> bool {
        self.payload.is_some()
    }

    /// The pong's payload, to write now; none pending afterwards.
    pub(crate) fn take(&mut self) -> Option<ControlPayload> {
        self.payload.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_ping_replaces_the_pong_not_yet_written() {
        let mut pong = PendingPong::default();
        assert!(!pong.is_pending());
        pong.ping_received(b"first");
        pong.ping_received(b"second");
        assert_eq!(
            pong.take().map(|p| p.as_slice().to_vec()),
            Some(b"second".to_vec())
        );
        assert!(pong.take().is_none());
    }
}
