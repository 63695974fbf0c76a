//! The SOCKS5 proxy (RFC 1928): no authentication, or user name and password (RFC 1929)
//! when it requires credentials; `CONNECT` only. Replies 2 (not allowed) for a destination
//! off loopback, 4 (host unreachable) for a name that does not resolve, 5 (refused) when the
//! server cannot be reached, 7 for other commands, 8 for unknown address types.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};

use super::{connect_loopback, Refusal, Shared, TunnelRecord};

const VERSION: u8 = 5;
const NO_AUTHENTICATION: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;

/// Serves one SOCKS5 exchange; returns the connection to the server if the tunnel opened.
pub(super) fn serve(client: &TcpStream, peer: SocketAddr, shared: &Shared) -> Option<TcpStream> {
    match exchange(client, peer, shared) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("test-server: socks5-proxy {peer}: {why}");
            None
        }
    }
}

fn exchange(mut client: &TcpStream, peer: SocketAddr, shared: &Shared) -> Result<Option<TcpStream>, String> {
    let [version, count] = read_array::<2>(client)?;
    if version != VERSION {
        return Err(format!("version {version}: not SOCKS5"));
    }
    let methods = read_vec(client, usize::from(count))?;
    let wanted = if shared.credentials.is_some() {
        USER_PASSWORD
    } else {
        NO_AUTHENTICATION
    };
    let record = |target: String, user: Option<String>, outcome: String| {
        shared.record(TunnelRecord {
            client: peer,
            target,
            user,
            outcome,
        })
    };
    if !methods.contains(&wanted) {
        client
            .write_all(&[VERSION, NO_ACCEPTABLE_METHOD])
            .map_err(|e| e.to_string())?;
        record("?".into(), None, "no acceptable method".into());
        return Ok(None);
    }
    client.write_all(&[VERSION, wanted]).map_err(|e| e.to_string())?;
    let user = match &shared.credentials {
        Some(required) => {
            let [_version, user_len] = read_array::<2>(client)?;
            let user = String::from_utf8_lossy(&read_vec(client, usize::from(user_len))?).into_owned();
            let [password_len] = read_array::<1>(client)?;
            let password =
                String::from_utf8_lossy(&read_vec(client, usize::from(password_len))?).into_owned();
            let accepted = user == required.user && password == required.password;
            client
                .write_all(&[1, u8::from(!accepted)])
                .map_err(|e| e.to_string())?;
            if !accepted {
                record("?".into(), Some(user), "authentication failed".into());
                return Ok(None);
            }
            Some(user)
        }
        None => None,
    };
    let [version, command, _reserved, address_type] = read_array::<4>(client)?;
    if version != VERSION {
        return Err(format!("request version {version}: not SOCKS5"));
    }
    let host = match address_type {
        1 => Ipv4Addr::from(read_array::<4>(client)?).to_string(),
        4 => Ipv6Addr::from(read_array::<16>(client)?).to_string(),
        3 => {
            let [len] = read_array::<1>(client)?;
            String::from_utf8_lossy(&read_vec(client, usize::from(len))?).into_owned()
        }
        other => {
            reply(client, 8, None)?;
            record("?".into(), user, format!("reply 8 (address type {other})"));
            return Ok(None);
        }
    };
    let port = u16::from_be_bytes(read_array::<2>(client)?);
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    if command != 1 {
        reply(client, 7, None)?;
        record(target, user, "reply 7".into());
        return Ok(None);
    }
    let code = match connect_loopback(&host, port) {
        Ok(server) => {
            reply(client, 0, server.local_addr().ok())?;
            record(target, user, "reply 0".into());
            return Ok(Some(server));
        }
        Err(Refusal::NotAllowed) => 2,
        Err(Refusal::Unresolvable) => 4,
        Err(Refusal::Unreachable) => 5,
    };
    reply(client, code, None)?;
    record(target, user, format!("reply {code}"));
    Ok(None)
}

/// Sends the reply `code` with the address bound for the tunnel (0.0.0.0:0 when none).
fn reply(mut client: &TcpStream, code: u8, bound: Option<SocketAddr>) -> Result<(), String> {
    let bound = bound.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut message = vec![VERSION, code, 0];
    match bound.ip() {
        IpAddr::V4(ip) => {
            message.push(1);
            message.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            message.push(4);
            message.extend_from_slice(&ip.octets());
        }
    }
    message.extend_from_slice(&bound.port().to_be_bytes());
    client.write_all(&message).map_err(|e| e.to_string())
}

fn read_array<const N: usize>(mut client: &TcpStream) -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    client
        .read_exact(&mut bytes)
        .map_err(|e| format!("reading the request failed: {e}"))?;
    Ok(bytes)
}

fn read_vec(mut client: &TcpStream, len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; len];
    client
        .read_exact(&mut bytes)
        .map_err(|e| format!("reading the request failed: {e}"))?;
    Ok(bytes)
}
