//! A second plain listener with the same routes that the `/restart` route of the main
//! listeners stops (as if its process died) and brings back on the same address after a
//! delay: how a page, which cannot stop a server itself, tests reconnecting.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::{lock, Files, Options, TestServer};

/// The restartable listener: a test server of its own (no restartable listener inside),
/// owned here and replaced by a new one on the same `ws` address at each restart.
pub(crate) struct Restartable {
    /// Its plain listener's address, the same across restarts.
    pub(crate) addr: SocketAddr,
    files: Files,
    /// The running server; `None` while it is down.
    current: Mutex<Option<TestServer>>,
}

/// The longest `/restart` may keep the listener down.
pub(crate) const MAX_DOWN: Duration = Duration::from_secs(30);

impl Restartable {
    /// Starts it on a free port of `ip`.
    pub(crate) fn start(ip: std::net::IpAddr, files: Files) -> io::Result<Self> {
        let server = Self::bind(SocketAddr::new(ip, 0), &files)?;
        Ok(Self {
            addr: server.ws,
            files,
            current: Mutex::new(Some(server)),
        })
    }

    fn bind(ws: SocketAddr, files: &Files) -> io::Result<TestServer> {
        TestServer::start(Options {
            ws,
            wss: SocketAddr::new(ws.ip(), 0),
            files: files.clone(),
            restartable: false,
        })
    }

    /// Stops it at once: its listeners close and its connections are cut without a close
    /// frame. Nothing happens if it is already down.
    pub(crate) fn stop(&self) {
        if let Some(server) = lock(&self.current).take() {
            server.stop();
        }
    }

    /// Brings it back on the same address (a no-op if it is up).
    ///
    /// # Errors
    /// The address cannot be bound again.
    pub(crate) fn start_again(&self) -> io::Result<()> {
        let mut current = lock(&self.current);
        if current.is_none() {
            *current = Some(Self::bind(self.addr, &self.files)?);
        }
        Ok(())
    }
}
