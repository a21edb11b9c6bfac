//! Who holds a lease: an owner id unique to this process (a host name and
//! pid collide in containers where every process is PID 1), and whether an
//! owner on this machine is a process that has died, so a killed job does
//! not block its profile for a whole lease. The lease rows and their
//! fencing are in the store; the heartbeat that keeps one is the caller's.

use std::sync::OnceLock;

/// This process's owner id: `host:pid:scope-nonce`. The scope names the
/// boot and pid namespace (two containers' PID 1 differ in it); the nonce
/// makes the id unique even when a pid is reused.
pub fn process_owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let nonce: u32 = fastrand::u32(..) ^ (std::process::id().rotate_left(16));
        format!(
            "{}:{}:{}-{nonce:08x}",
            host_name(),
            std::process::id(),
            machine_scope()
        )
    })
}

/// Whether `owner` names a process of this machine (same boot, same pid
/// namespace) that no longer exists. Owners elsewhere are never declared
/// dead: their lease runs out instead.
pub fn owner_is_dead(owner: &str) -> bool {
    let Some(parsed) = OwnerId::parse(owner) else {
        return false;
    };
    if parsed.scope != machine_scope() {
        return false;
    }
    let me = OwnerId::parse(process_owner()).expect("our own id parses");
    if parsed.pid == me.pid {
        // A pid names one live process: ours. Another nonce was an earlier
        // process with our pid, which has ended.
        return parsed.nonce != me.nonce;
    }
    cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{}", parsed.pid)).exists()
}

struct OwnerId<'a> {
    pid: u32,
    scope: &'a str,
    nonce: &'a str,
}

impl<'a> OwnerId<'a> {
    fn parse(owner: &'a str) -> Option<OwnerId<'a>> {
        let mut parts = owner.rsplitn(3, ':');
        let (scope, nonce) = parts.next()?.split_once('-')?;
        let pid = parts.next()?.parse().ok()?;
        parts.next()?;
        Some(OwnerId { pid, scope, nonce })
    }
}

fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    if name.is_empty() { "host".into() } else { name }
}

/// Eight hex digits naming this boot and pid namespace.
fn machine_scope() -> &'static str {
    static SCOPE: OnceLock<String> = OnceLock::new();
    SCOPE.get_or_init(|| {
        use sha2::Digest;
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let namespace = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if boot.is_empty() {
            // Without a boot id no other process can be judged dead: a
            // random scope matches nobody's.
            return format!("{:08x}", fastrand::u32(..));
        }
        let digest = sha2::Sha256::digest(format!("{boot}\n{namespace}"));
        hex::encode(&digest[..4])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ids_are_unique_to_the_process_and_parse() {
        let me = process_owner();
        let parsed = OwnerId::parse(me).expect("parses");
        assert_eq!(parsed.pid, std::process::id());
        assert_eq!(parsed.scope, machine_scope());
        assert!(!owner_is_dead(me), "we are alive");
    }

    #[test]
    fn an_owner_with_our_pid_but_another_nonce_has_ended() {
        let me = OwnerId::parse(process_owner()).unwrap();
        let earlier = format!("h:{}:{}-{}", me.pid, me.scope, "00000000");
        assert_eq!(owner_is_dead(&earlier), me.nonce != "00000000");
    }

    #[test]
    fn owners_elsewhere_or_unparsable_are_never_dead() {
        assert!(!owner_is_dead("other:999999:ffffffff-00000001"));
        assert!(!owner_is_dead("cli:1234"));
        assert!(!owner_is_dead("seatwarden:1"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_owner_on_this_machine_whose_pid_is_gone_is_dead() {
        // Pids are below 2^22 on Linux: this one cannot be running.
        let gone = format!("h:{}:{}-00000001", 1u32 << 23, machine_scope());
        assert!(owner_is_dead(&gone));
        // PID 1 exists in every namespace.
        let init = format!("h:1:{}-00000001", machine_scope());
        assert!(!owner_is_dead(&init));
    }
}
