//! The user the local Postgres runs as: ourselves, or `nobody` when we are root, because
//! `initdb` and `postgres` refuse to run as root.

use std::os::unix::process::CommandExt;
use std::path::Path;

use nix::unistd::{Gid, Uid, User};

use crate::error::RuntimeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerUser {
    uid: Uid,
    gid: Gid,
}

/// uid/gid of `nobody` on Debian-like systems, for when the name does not resolve.
const NOBODY_ID: u32 = 65534;

impl ServerUser {
    /// `None` when we are not root: the server then simply runs as us.
    pub(crate) fn for_current_process() -> Option<Self> {
        if !Uid::effective().is_root() {
            return None;
        }
        let (uid, gid) = match User::from_name("nobody") {
            Ok(Some(user)) => (user.uid, user.gid),
            _ => (Uid::from_raw(NOBODY_ID), Gid::from_raw(NOBODY_ID)),
        };
        Some(Self { uid, gid })
    }

    pub(crate) fn take_ownership(&self, path: &Path) -> Result<(), RuntimeError> {
        nix::unistd::chown(path, Some(self.uid), Some(self.gid)).map_err(|errno| {
            RuntimeError::io("change the owner of", path, std::io::Error::from(errno))
        })
    }

    /// Makes the child drop to this user between fork and exec. Supplementary groups go first:
    /// after `setuid` we could no longer change them.
    pub(crate) fn apply(&self, command: &mut std::process::Command) {
        let (uid, gid) = (self.uid, self.gid);
        // SAFETY: the closure only makes async-signal-safe system calls (setgroups, setgid,
        // setuid) and allocates nothing, as required between fork and exec.
        unsafe {
            command.pre_exec(move || {
                nix::unistd::setgroups(&[]).map_err(std::io::Error::from)?;
                nix::unistd::setgid(gid).map_err(std::io::Error::from)?;
                nix::unistd::setuid(uid).map_err(std::io::Error::from)?;
                Ok(())
            });
        }
    }
}
