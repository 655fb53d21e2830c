//! One module per subcommand. Each exposes `run(…) -> Result<(), Failure>`
//! and, where it prints something worth testing, a pure `render` function.

pub mod completions;
pub mod curl;
pub mod daemon;
pub mod demo;
pub mod doctor;
pub mod exec;
pub mod git_credential;
pub mod login;
pub mod logout;
pub mod print;
pub mod profile;
pub mod service;
pub mod status;
pub mod whoami;
