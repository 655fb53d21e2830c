//! "A larger length is an error, not an allocation" (DESIGN.md, the wire),
//! measured: a counting allocator records the largest allocation made on
//! the test's thread while the frame readers meet hostile lengths, and it
//! must stay near the cap however large the announced length.
//!
//! A binary of its own, because it installs a global allocator.
#![allow(unsafe_code)] // the allocator below only delegates to `System`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufReader, Cursor};

use proptest::prelude::*;
use wrs_proto::MAX_FRAME_LEN;
use wrs_proto::frame::{Mode, WireError, decode_request, read_frame, read_json_line};

thread_local! {
    /// The largest allocation on this thread since [`largest_allocation`]
    /// started watching; `None` when not watching.
    static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
}

struct Recording;

// SAFETY: every method delegates to `System` with the caller's arguments
// unchanged; the only addition is a `Cell` update on a const-initialised
// thread local, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

fn record(size: usize) {
    // `try_with`: the thread local may be gone while a thread exits.
    let _ = LARGEST.try_with(|largest| {
        if let Some(max) = largest.get() {
            largest.set(Some(max.max(size)));
        }
    });
}

/// Runs `f` and returns the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(Some(0)));
    let out = f();
    let largest = LARGEST.with(|l| l.replace(None)).unwrap_or(0);
    (out, largest)
}

/// What a reader may allocate for one message: the cap, plus the slack a
/// growing buffer takes (it doubles).
const ALLOWED: usize = 2 * (MAX_FRAME_LEN + 3);

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_length_prefix_above_the_cap_allocates_nothing_near_it(
        len in (MAX_FRAME_LEN as u32 + 1)..=u32::MAX,
    ) {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[2, 0, 1, 0]);
        let (result, largest) = largest_allocation(|| read_frame(&mut Cursor::new(&bytes)));
        prop_assert!(matches!(result, Err(WireError::TooLarge { .. })), "{:?}", result);
        prop_assert!(largest < 4096, "refusing {} bytes allocated {}", len, largest);
    }

    #[test]
    fn a_hostile_length_inside_a_body_allocates_nothing_near_it(
        inner in (MAX_FRAME_LEN as u64 + 1)..=u64::MAX,
    ) {
        // version 2, get_token, Some(profile), then a string of `inner`
        // bytes as a bincode varint (0xfd: a u64 follows).
        let mut body = vec![2u8, 0, 1, 0xfd];
        body.extend_from_slice(&inner.to_le_bytes());
        body.extend_from_slice(b"short");
        let (result, largest) = largest_allocation(|| decode_request(Mode::Binary, &body));
        prop_assert!(result.is_err());
        prop_assert!(largest < 4096, "refusing {} bytes allocated {}", inner, largest);
    }
}

#[test]
fn an_endless_json_line_allocates_about_the_cap() {
    let line = vec![b'x'; 16 * MAX_FRAME_LEN];
    let mut reader = BufReader::new(Cursor::new(line));
    let (result, largest) = largest_allocation(|| read_json_line(&mut reader));
    assert!(
        matches!(result, Err(WireError::TooLarge { .. })),
        "{result:?}"
    );
    assert!(
        largest <= ALLOWED,
        "a refused line allocated {largest} bytes"
    );
}
