//! The wire is what the daemon and every client agree on, and nothing of
//! the machine they run on: where the socket lives, users, file modes are
//! `wrs_sys`'s. This pins that wrs-proto names no platform crate, so that
//! rule cannot drift back into the wire.

#[test]
fn the_wire_depends_on_no_platform_crate() {
    let manifest = include_str!("../Cargo.toml");
    let dependencies: Vec<&str> = manifest
        .lines()
        .map(str::trim)
        .skip_while(|line| *line != "[dependencies]")
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split(['.', ' ', '=']).next())
        .collect();
    assert!(dependencies.contains(&"serde"), "{dependencies:?}");
    for platform in [
        "rustix",
        "directories",
        "libc",
        "nix",
        "windows-sys",
        "wrs-sys",
    ] {
        assert!(
            !dependencies.contains(&platform),
            "wrs-proto depends on {platform}"
        );
    }
    assert!(
        !manifest.contains("[target."),
        "wrs-proto has platform-specific dependencies"
    );
}
