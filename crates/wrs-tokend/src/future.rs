//! The boxed future that the crate's object-safe traits with async methods
//! return (`Clock::sleep_until`, `TokenSource::fetch`, the `Accounts`
//! requests).
//!
//! A leaf: it imports nothing of this crate, so every layer can use it
//! without pointing at another.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future, so traits with async methods stay object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
