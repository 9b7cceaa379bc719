//! `Sensitive<T>`: a value that must never be printed.
//!
//! Secrets travel through several stages (vault decryption, classification,
//! SSM push). Wrapping them makes every accidental `{:?}`, `{}` or
//! `serde_json::to_string` print `(sensitive value)` instead of the secret;
//! the only way to the plaintext is the explicit, greppable [`Sensitive::expose`].

use std::fmt;

use serde::{Serialize, Serializer};

/// What is shown wherever a sensitive value would be printed.
pub const REDACTED: &str = "(sensitive value)";

#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Sensitive<T> {
        Sensitive(value)
    }

    /// The plaintext. Call it only where the value leaves the process on purpose
    /// (an SSM PutParameter call, a decrypted comparison), never for display.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> Serialize for Sensitive<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Sensitive::new(String::from("hunter2"));
        assert_eq!(
            format!("{s} {s:?} {}", serde_json::to_string(&s).unwrap()),
            "(sensitive value) (sensitive value) \"(sensitive value)\""
        );
        assert_eq!(s.expose(), "hunter2");
    }
}
