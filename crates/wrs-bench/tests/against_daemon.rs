//! wrs-bench against a real daemon (its test source serves a cached
//! token): both drivers, every mode, answers counted and no errors.

use std::process::Command;

use wrs_testkit::{Sandbox, describe};

/// wrs-bench's table for `extra` arguments, one row of fields per mode.
fn bench(sb: &Sandbox, extra: &[&str]) -> Vec<Vec<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_wrs-bench"))
        .arg("--socket")
        .arg(&sb.socket)
        .args(["--profile", "bench", "--connections", "8"])
        .args(["--seconds", "1", "--warmup-ms", "0"])
        .args(extra)
        .output()
        .expect("run wrs-bench");
    assert!(out.status.success(), "{}", describe(&out));
    let table = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = table.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec![
            "mode",
            "connections",
            "threads",
            "requests",
            "errors",
            "req/s",
            "p50_ms",
            "p99_ms"
        ]),
        "{table}"
    );
    lines
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn both_drivers_get_tokens_in_every_mode_without_errors() {
    let sb = Sandbox::new();
    sb.start_daemon(&["--test-source", "profile=bench,lifetime=300"]);
    for (extra, threads) in [(&[][..], "8"), (&["--threads", "3"][..], "3")] {
        let rows = bench(&sb, extra);
        let modes: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(modes, ["binary", "json", "connect"], "{rows:?}");
        for row in &rows {
            assert_eq!(
                (row[1].as_str(), row[2].as_str()),
                ("8", threads),
                "{row:?}"
            );
            let requests: u64 = row[3].parse().expect("requests");
            assert!(requests > 0, "no answers: {row:?}");
            assert_eq!(row[4], "0", "errors: {row:?}");
            let (p50, p99): (f64, f64) = (row[6].parse().unwrap(), row[7].parse().unwrap());
            assert!(p50 > 0.0 && p50 <= p99, "{row:?}");
        }
    }
}
