//! The other programs the commands run: finding one as the OS would, and
//! which curl to use. Below the commands, so `curl`, `doctor` and `service`
//! share one answer.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The curl to run: `$WRS_TOKEN_CURL` ([`wrs_sys::env::CURL`]) when set
/// and not empty, else `curl`.
pub fn curl_program() -> OsString {
    std::env::var_os(wrs_sys::env::CURL)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "curl".into())
}

/// `program` as the OS would find it: a path as is, a bare name on `PATH`.
pub fn locate(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_taken_as_is_and_a_name_is_looked_up_on_path() {
        assert_eq!(locate(Path::new("/bin/sh")), Some(PathBuf::from("/bin/sh")));
        assert_eq!(locate(Path::new("/no/such/program")), None);
        let sh = locate(Path::new("sh")).expect("sh on PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(locate(Path::new("no-such-program-here")), None);
    }
}
