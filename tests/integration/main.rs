//! The one integration-test binary. Each module covers one area; `support`
//! holds the helpers (the binary under test, test tools, temp repos).

mod support;

// The loader and `migrate scan`.
mod bad_input;
mod scan;
