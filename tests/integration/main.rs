//! The one integration-test binary. Each module covers one area; `support`
//! holds the helpers (the binary under test, test tools, temp repos).

mod ssm;
mod support;
