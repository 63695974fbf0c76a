//! `NO_PROXY` as curl applies it: the hosts reached directly, whatever proxy is set.
//!
//! The list is separated by commas (blanks around entries are skipped; anything else after a
//! blank ends the list). `*` alone matches every host. For a host name, an entry matches the
//! name itself and its subdomains (`example.com` and `.example.com` both match
//! `example.com` and `www.example.com`, not `nonexample.com`), ignoring case and one
//! trailing dot. For an IP address, an entry is an address or a CIDR range of the same
//! family (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fe80::/10`); names never match addresses.

use std::net::IpAddr;

/// Whether `no_proxy` says that `host` (a name, or an IP address without brackets) is
/// reached directly.
pub(super) fn bypasses(no_proxy: &str, host: &str) -> bool {
    if no_proxy == "*" {
        return true;
    }
    let host_ip = host.parse::<IpAddr>().ok();
    let name = host.strip_suffix('.').unwrap_or(host);
    entries(no_proxy).any(|entry| match host_ip {
        Some(ip) => matches_address(entry, ip),
        None => matches_name(entry, name),
    })
}

/// The list's entries, as curl splits it.
fn entries(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || loop {
        rest = rest.trim_start_matches(is_blank);
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(|c: char| is_blank(c) || c == ',').unwrap_or(rest.len());
        let (entry, after) = rest.split_at(end);
        let after = after.trim_start_matches(is_blank);
        // Only commas separate entries: anything else after a blank ends the list.
        rest = match after.strip_prefix(',') {
            Some(more) => more.trim_start_matches(','),
            None => "",
        };
        if !entry.is_empty() {
            return Some(entry);
        }
    })
}

/// A space or a tab, as C's `isblank`.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `entry` (one trailing and one leading dot ignored) is `name` or a domain of it.
fn matches_name(entry: &str, name: &str) -> bool {
    let entry = entry.strip_suffix('.').unwrap_or(entry);
    let entry = entry.strip_prefix('.').unwrap_or(entry);
    if entry.len() == name.len() {
        return entry.eq_ignore_ascii_case(name);
    }
    entry.len() < name.len()
        && name.as_bytes()[name.len() - entry.len() - 1] == b'.'
        && name[name.len() - entry.len()..].eq_ignore_ascii_case(entry)
}

/// `entry` is the address `ip` or a CIDR range holding it (of the same family).
fn matches_address(entry: &str, ip: IpAddr) -> bool {
    let (network, bits) = match entry.split_once('/') {
        Some((network, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (network, bits),
            Err(_) => return false,
        },
        None => (entry, 0),
    };
    match (network.parse::<IpAddr>(), ip) {
        (Ok(IpAddr::V4(network)), IpAddr::V4(ip)) => {
            in_range(u32::from(network).into(), u32::from(ip).into(), bits, 32)
        }
        (Ok(IpAddr::V6(network)), IpAddr::V6(ip)) => in_range(u128::from(network), u128::from(ip), bits, 128),
        _ => false,
    }
}

/// `ip` shares its first `bits` bits (all of them for 0, as curl reads a range without one)
/// with `network`, both `width` bits wide.
fn in_range(network: u128, ip: u128, bits: u32, width: u32) -> bool {
    if bits > width {
        return false;
    }
    let bits = if bits == 0 { width } else { bits };
    let shift = width - bits;
    (network >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_themselves_and_their_subdomains() {
        for (list, host, expected) in [
            ("example.com", "example.com", true),
            ("example.com", "www.example.com", true),
            (".example.com", "example.com", true),
            (".example.com", "a.b.example.com", true),
            ("example.com.", "example.com", true),
            ("example.com", "example.com.", true),
            ("EXAMPLE.com", "www.Example.COM", true),
            ("example.com", "nonexample.com", false),
            ("example.com", "example.com.au", false),
            ("www.example.com", "example.com", false),
            ("localhost", "127.0.0.1", false),
            ("*", "anything", true),
            ("*", "127.0.0.1", true),
            ("*,example.com", "other", false),
            ("", "example.com", false),
        ] {
            assert_eq!(bypasses(list, host), expected, "{list:?} for {host}");
        }
    }

    #[test]
    fn addresses_match_addresses_and_cidr_ranges_of_their_family() {
        for (list, host, expected) in [
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.0/8", "127.255.0.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.77", true),
            ("192.168.1.0/33", "192.168.1.0", false),
            ("0.0.0.0/0", "8.8.8.8", false),
            ("::1", "::1", true),
            ("::1", "::2", false),
            ("fe80::/10", "fe80::1234", true),
            ("fe80::/10", "fec0::1", false),
            ("::ffff:127.0.0.1", "127.0.0.1", false),
            ("127.0.0.1", "::1", false),
            ("example.com", "93.184.216.34", false),
            ("127.0.0.1/x", "127.0.0.1", false),
        ] {
            assert_eq!(bypasses(list, host), expected, "{list:?} for {host}");
        }
    }

    #[test]
    fn entries_are_separated_by_commas_and_a_blank_then_other_text_ends_the_list() {
        for (list, host, expected) in [
            ("a.test,b.test", "b.test", true),
            (" a.test , b.test ", "b.test", true),
            ("a.test,,,b.test", "b.test", true),
            (",b.test", "b.test", true),
            ("\ta.test,\tb.test", "b.test", true),
            ("a.test b.test", "b.test", false),
            ("a.test b.test", "a.test", true),
        ] {
            assert_eq!(bypasses(list, host), expected, "{list:?} for {host}");
        }
    }
}
