//! The one integration-test binary. Each module covers one area; `support`
//! holds the helpers (the binary under test, test tools, temp repos).

mod support;

// Ansible Vault decryption against the real ansible-vault.
mod vault;

// The loader and `migrate scan`.
mod bad_input;
mod scan;

// The rule set: generated docs, doc examples, `migrate rules`.
mod rules_docs;
