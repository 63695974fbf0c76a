//! The tunnel's bytes, both ways, until either side closes (each read bounded in time).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

/// How long a tunnel may stay silent in one direction before it is cut.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Copies `client` to `server` on a thread of its own and `server` to `client` here; each
/// direction's end closes the other side's write half. Returns when both are done.
pub(super) fn relay(client: TcpStream, server: TcpStream) {
    let (Ok(client_reader), Ok(server_writer)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upstream = thread::Builder::new()
        .name("proxy relay".into())
        .spawn(move || copy(client_reader, server_writer));
    copy(server, client);
    if let Ok(upstream) = upstream {
        let _ = upstream.join();
    }
}

/// Copies until end of file, an error or [`IDLE_TIMEOUT`] of silence, then shuts `to`'s
/// write half down (and `from`'s read half, so the other direction sees the end too).
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let _ = from.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = to.set_write_timeout(Some(IDLE_TIMEOUT));
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
