//! The service definitions as `service install` writes them: the repo's
//! unit files and plist (embedded at build time), with the real path of
//! `wrs-tokend` and of the user's home filled in. Pure text, compiled on
//! every platform so each rendering is tested everywhere.

use std::path::Path;

/// `systemd/wrs-tokend.service` as shipped.
pub const SYSTEMD_SERVICE_TEMPLATE: &str =
    include_str!("../../../../../systemd/wrs-tokend.service");

/// `systemd/wrs-tokend.socket` as shipped.
pub const SYSTEMD_SOCKET_TEMPLATE: &str = include_str!("../../../../../systemd/wrs-tokend.socket");

/// `launchd/com.wrs-token.wrs-tokend.plist` as shipped.
pub const LAUNCHD_PLIST_TEMPLATE: &str =
    include_str!("../../../../../launchd/com.wrs-token.wrs-tokend.plist");

/// The service unit's file name.
pub const SYSTEMD_SERVICE_NAME: &str = "wrs-tokend.service";

/// The socket unit's file name (the unit that is enabled).
pub const SYSTEMD_SOCKET_NAME: &str = "wrs-tokend.socket";

/// The LaunchAgent's label (and file name, with `.plist`).
pub const LAUNCHD_LABEL: &str = "com.wrs-token.wrs-tokend";

/// The first line of every installed file: says where it came from.
const HEADER: &str = "Installed by `wrs-token service install`, which rewrites it; \
                      `wrs-token service uninstall` removes it.";

/// Why a file cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The daemon path is not absolute (systemd and launchd need one).
    #[error("the daemon path {0} is not absolute")]
    NotAbsolute(String),
    /// The path cannot be written into the file (not UTF-8, a line break).
    #[error("the path {0:?} cannot be written into a service file")]
    Unwritable(String),
    /// The embedded template lacks the line to replace (a build problem).
    #[error("the embedded template has no {0} line")]
    Template(&'static str),
}

/// `wrs-tokend.service` with `ExecStart` pointing at `daemon`.
pub fn systemd_service(daemon: &Path) -> Result<String, RenderError> {
    let exec = systemd_word(daemon)?;
    let mut replaced = false;
    let mut out = format!("# {HEADER}\n");
    for line in SYSTEMD_SERVICE_TEMPLATE.lines() {
        if line.starts_with("ExecStart=") {
            out.push_str(&format!("ExecStart={exec} --foreground\n"));
            replaced = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if replaced {
        Ok(out)
    } else {
        Err(RenderError::Template("ExecStart="))
    }
}

/// `wrs-tokend.socket`, as shipped.
pub fn systemd_socket() -> String {
    format!("# {HEADER}\n{SYSTEMD_SOCKET_TEMPLATE}")
}

/// A path as one word of a systemd command line: quoted when needed, with
/// `%` (specifiers) and `$` (variables) escaped.
fn systemd_word(path: &Path) -> Result<String, RenderError> {
    let text = path
        .to_str()
        .ok_or_else(|| RenderError::Unwritable(path.display().to_string()))?;
    if !path.is_absolute() {
        return Err(RenderError::NotAbsolute(text.to_owned()));
    }
    if text.contains(['\n', '\r', '\0']) {
        return Err(RenderError::Unwritable(text.to_owned()));
    }
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    Ok(if escaped.contains([' ', '\t', '"', '\'', ';']) {
        format!("\"{escaped}\"")
    } else {
        escaped
    })
}

/// The LaunchAgent plist with `daemon` and `home` filled in.
pub fn launchd_plist(daemon: &Path, home: &Path) -> Result<String, RenderError> {
    let daemon_text = plist_text(daemon)?;
    let home_text = plist_text(home)?;
    if !daemon.is_absolute() {
        return Err(RenderError::NotAbsolute(daemon_text));
    }
    if !home.is_absolute() {
        return Err(RenderError::NotAbsolute(home_text));
    }
    let template = LAUNCHD_PLIST_TEMPLATE;
    const DAEMON: &str = "/Users/USERNAME/.cargo/bin/wrs-tokend";
    if !template.contains(DAEMON) {
        return Err(RenderError::Template("ProgramArguments"));
    }
    // The shipped comment tells a person to edit the paths: done here.
    let template = match (template.find("<!--"), template.find("-->")) {
        (Some(start), Some(end)) if start < end => format!(
            "{}<!-- {HEADER} -->{}",
            &template[..start],
            &template[end + 3..]
        ),
        _ => template.to_owned(),
    };
    Ok(template
        .replace(DAEMON, &daemon_text)
        .replace("/Users/USERNAME", &home_text))
}

/// A path as plist `<string>` content (XML-escaped).
fn plist_text(path: &Path) -> Result<String, RenderError> {
    let text = path
        .to_str()
        .ok_or_else(|| RenderError::Unwritable(path.display().to_string()))?;
    if text.chars().any(|c| c.is_control()) {
        return Err(RenderError::Unwritable(text.to_owned()));
    }
    Ok(text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_is_the_real_path_and_the_rest_is_the_shipped_unit() {
        let unit = systemd_service(Path::new("/opt/wrs/bin/wrs-tokend")).unwrap();
        assert!(unit.contains("\nExecStart=/opt/wrs/bin/wrs-tokend --foreground\n"));
        assert_eq!(unit.matches("ExecStart=").count(), 1);
        for key in ["Type=notify", "NoNewPrivileges=yes", "PrivateTmp=yes"] {
            assert!(unit.contains(key), "{key}");
        }
        assert!(unit.starts_with("# Installed by `wrs-token service install`"));
    }

    #[test]
    fn awkward_paths_are_quoted_and_escaped_for_systemd() {
        let unit = systemd_service(Path::new("/home/a b/100%/$x/wrs-tokend")).unwrap();
        assert!(
            unit.contains("ExecStart=\"/home/a b/100%%/$$x/wrs-tokend\" --foreground"),
            "{unit}"
        );
        assert_eq!(
            systemd_service(Path::new("wrs-tokend")),
            Err(RenderError::NotAbsolute("wrs-tokend".into()))
        );
        assert!(systemd_service(Path::new("/a\nb")).is_err());
    }

    #[test]
    fn plist_has_real_paths_and_no_placeholder() {
        let plist = launchd_plist(
            Path::new("/Users/ann/.cargo/bin/wrs-tokend"),
            Path::new("/Users/ann"),
        )
        .unwrap();
        assert!(!plist.contains("USERNAME"), "{plist}");
        assert!(plist.contains("<string>/Users/ann/.cargo/bin/wrs-tokend</string>"));
        assert!(plist.contains("<string>/Users/ann/Library/Logs/wrs-tokend.log</string>"));
        let amp = launchd_plist(Path::new("/A&B/wrs-tokend"), Path::new("/A&B")).unwrap();
        assert!(amp.contains("<string>/A&amp;B/wrs-tokend</string>"));
    }
}
