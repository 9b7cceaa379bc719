//! Last line of defence against leaks: removes known secret values from any text the
//! tool is about to show (error messages from SSM can echo request content).

use crate::sensitive::REDACTED;

/// The secret values of one run, longest first (so a secret that contains another is
/// replaced whole).
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).map(String::from).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Scrubber { secrets }
    }

    /// `text` with every known secret replaced by `(sensitive value)`; multi-line
    /// secrets are also removed line by line, in case a message quotes one line.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
            if s.contains('\n') {
                for line in s.lines().map(str::trim).filter(|l| l.len() >= 8) {
                    if out.contains(line) {
                        out = out.replace(line, REDACTED);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_secret_longest_first() {
        let s = Scrubber::new(["abc", "abcdef", ""]);
        assert_eq!(s.scrub("x abcdef y abc z"), "x (sensitive value) y (sensitive value) z");
        let pem = Scrubber::new(["-----BEGIN-----\nMIIEvQIBADANBgkq\n-----END-----"]);
        assert_eq!(pem.scrub("bad line MIIEvQIBADANBgkq here"), "bad line (sensitive value) here");
    }
}
