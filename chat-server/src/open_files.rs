//! The open-files limit: raised to its hard limit at start, and how many connections it leaves
//! room for.
//!
//! Every connection is a file descriptor. Past the limit `accept` fails with "too many open
//! files" and the connection waits unanswered in the kernel's backlog; so the server caps its
//! connections below the limit (`--max-connections`), keeping [`RESERVE`] descriptors for
//! itself, and refuses what is over the cap at once.

use tracing::{info, warn};

/// Descriptors kept for the server itself: its runtime (epoll, wakers, signal pipes), stdio,
/// the listener, the spare descriptor of the accept loop, the Redis link (2), the files
/// being served, and [`crate::serve::MAX_REFUSING`] connections being refused.
pub const RESERVE: usize = 96;

/// The most the soft limit is raised to when the hard limit is "unlimited" (Linux refuses more
/// than `fs.nr_open`, 1,048,576 by default).
const UNLIMITED_AS: u64 = 1 << 20;

/// Raises the soft open-files limit to the hard one (logging both) and returns the limit in
/// force. Where there is no such limit (not Unix) or it cannot be read, returns `None`: no cap
/// is derived from it.
pub fn raise_to_hard_limit() -> Option<u64> {
    if !rlimit::Resource::NOFILE.is_supported() {
        return None;
    }
    let (soft, hard) = match rlimit::Resource::NOFILE.get() {
        Ok(limits) => limits,
        Err(problem) => {
            warn!(%problem, "cannot read the open-files limit");
            return None;
        }
    };
    match rlimit::increase_nofile_limit(hard.min(UNLIMITED_AS).max(soft)) {
        Ok(raised) => {
            if raised > soft {
                info!(
                    from = soft,
                    to = raised,
                    "raised the open-files limit to its hard limit"
                );
            }
            Some(raised)
        }
        Err(problem) => {
            warn!(%problem, soft, hard, "cannot raise the open-files limit");
            Some(soft)
        }
    }
}

/// How many connections fit under `limit` descriptors: `limit` less [`RESERVE`] (at least 1).
/// `asked` (`--max-connections`) lowers it; one over what fits is lowered to it, with a warning.
pub fn connection_cap(limit: Option<u64>, asked: Option<usize>) -> usize {
    let fits = limit.map(|limit| {
        usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(RESERVE)
            .max(1)
    });
    match (fits, asked) {
        (Some(fits), Some(asked)) if asked > fits => {
            warn!(
                asked,
                fits, "--max-connections is over what the open-files limit leaves room for; using {fits}"
            );
            fits
        }
        (_, Some(asked)) => asked,
        (Some(fits), None) => fits,
        (None, None) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_the_reserve_and_never_exceeds_the_limit() {
        assert_eq!(connection_cap(Some(1024), None), 1024 - RESERVE);
        assert_eq!(connection_cap(Some(1024), Some(100)), 100);
        assert_eq!(connection_cap(Some(1024), Some(5000)), 1024 - RESERVE);
        assert_eq!(connection_cap(Some(10), None), 1);
        assert_eq!(connection_cap(None, Some(7)), 7);
        assert_eq!(connection_cap(None, None), usize::MAX);
    }
}
