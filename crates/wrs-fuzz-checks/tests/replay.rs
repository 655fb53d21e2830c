//! Replays the fuzz corpus on stable, in the normal test suite: every file
//! of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes through
//! the same check the fuzz target runs (`wrs_fuzz_checks::TARGETS`), so an
//! input the fuzzer once found keeps being tested without nightly.
//!
//! An input that still breaks a parser (a bug reported, not yet fixed) is
//! listed in [`OPEN`]: the replay skips it and an `#[ignore]`d test below
//! runs it, until the owner fixes the parser and deletes the entry.

use std::path::{Path, PathBuf};

use wrs_fuzz_checks::{TARGETS, Target};

/// Regression inputs of bugs not fixed yet: (target, file name under
/// `fuzz/regressions/<target>/`). Each has an ignored test at the end.
const OPEN: &[(&str, &str)] = &[];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none if it does not exist.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn target(name: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

fn is_open(target: &str, file: &Path) -> bool {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    OPEN.iter().any(|&(t, f)| t == target && f == name)
}

/// Runs every corpus and regression input of `name`, reporting all that fail.
fn replay(name: &str) {
    let target = target(name);
    let corpus = files("corpus", name);
    assert!(!corpus.is_empty(), "fuzz/corpus/{name}/ has no seed inputs");
    let mut failures = Vec::new();
    for file in corpus.iter().chain(&files("regressions", name)) {
        if is_open(name, file) {
            continue;
        }
        let data = std::fs::read(file).expect("a corpus file");
        if std::panic::catch_unwind(|| (target.check)(&data)).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} input(s) break the check (panic messages above):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        /// Every target has a replay test above, a fuzz target file and a
        /// seed corpus; every corpus or regression folder is a target's.
        #[test]
        fn every_target_is_replayed_and_fuzzed() {
            let replayed = [$(stringify!($name)),*];
            let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
            assert_eq!(names, replayed, "TARGETS and the replay tests differ");
            let mut sources: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
                .expect("fuzz/fuzz_targets")
                .filter_map(|e| {
                    let name = e.ok()?.file_name().into_string().ok()?;
                    name.strip_suffix(".rs").map(str::to_owned)
                })
                .collect();
            sources.sort();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(sources, sorted, "fuzz/fuzz_targets/*.rs and TARGETS differ");
            for kind in ["corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.expect("a directory entry").path();
                    if path.is_dir() {
                        let dir = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        assert!(names.contains(&dir), "fuzz/{kind}/{dir} is no target's");
                    }
                }
            }
            for &(t, f) in OPEN {
                assert!(
                    fuzz_dir().join("regressions").join(t).join(f).is_file(),
                    "OPEN lists fuzz/regressions/{t}/{f}, which does not exist"
                );
            }
        }
    };
}

replay_tests!(
    frame_request,
    frame_response,
    config,
    token_response,
    discovery,
    git_credential,
    redirect,
    curl_args,
    device_authorization,
    introspection,
    loopback_request,
);

/// Runs one input of [`OPEN`] through its target's check (from the
/// `#[ignore]`d test each open entry gets; none is open now).
#[allow(dead_code)]
fn replay_open(target_name: &str, file: &str) {
    assert!(OPEN.contains(&(target_name, file)), "not in OPEN");
    let path = fuzz_dir().join("regressions").join(target_name).join(file);
    let data = std::fs::read(&path).expect("a regression file");
    (target(target_name).check)(&data);
}
