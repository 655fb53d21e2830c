//! One module per subcommand. Each exposes `run(…) -> Result<(), Failure>`
//! and, where it prints something worth testing, a pure `render` function.

pub mod daemon;
pub mod login;
pub mod logout;
pub mod print;
pub mod profile;
pub mod status;
