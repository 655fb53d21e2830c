//! `wrs-demo` owns what `wrs-token demo` shows a person: the guided demo and
//! the headless browser it logs in with. The thin client stays thin (no
//! tokio, no HTTP stack) and `wrs-mock` stays only the stand-in for
//! PingFederate and Windchill: this crate runs the mock's servers
//! in-process and drives the real `wrs-token` binary against them.
//!
//! The `wrs-demo` binary has two subcommands:
//!
//! - `wrs-demo demo --wrs-token PATH`: the guided demo (see [`demo`]), which
//!   `wrs-token demo` runs in its place;
//! - `wrs-demo browse [--ca-file PATH] [--report PATH] URL`: the headless
//!   browser (see [`browser`]) the demo puts in `$BROWSER`.

#![deny(missing_docs)]

pub mod browser;
pub mod demo;
