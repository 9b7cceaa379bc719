//! `migrate ssm pull`: the parameters directly under a prefix as a dotenv file.
//! SecureString values are written only when decryption was asked for; otherwise
//! they become comment lines, so the file can never push a mask back as a value.

use super::dotenv;
use super::store::{CurrentParameter, ParameterType};
use crate::spec::parameter::key_under;

/// Counts of what a pull wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PullCounts {
    pub plain: usize,
    pub secrets: usize,
    pub masked: usize,
}

/// The dotenv text for `params` (all directly under `prefix`), sorted by key.
pub fn render_env(prefix: &str, params: &[CurrentParameter], decrypted: bool) -> (String, PullCounts) {
    let mut entries: Vec<(&str, &CurrentParameter)> =
        params.iter().filter_map(|p| key_under(prefix, &p.name).map(|k| (k, p))).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut counts = PullCounts::default();
    let mut out = format!("# Parameters under {prefix} (migrate ssm pull)\n");
    for (key, p) in entries {
        if p.kind == ParameterType::SecureString {
            if decrypted {
                counts.secrets += 1;
                out.push_str(&dotenv::render_line(key, p.value.expose()));
            } else {
                counts.masked += 1;
                out.push_str(&format!("# {key}: SecureString, not exported (pull with --with-decryption)\n"));
            }
        } else {
            counts.plain += 1;
            out.push_str(&dotenv::render_line(key, p.value.expose()));
        }
    }
    (out, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<CurrentParameter> {
        vec![
            CurrentParameter::new("/a/e/Z".into(), ParameterType::String, "two words".into(), 1),
            CurrentParameter::new("/a/e/PW".into(), ParameterType::SecureString, "hunter2 \"x\"".into(), 2),
            CurrentParameter::new("/a/e/LIST".into(), ParameterType::StringList, "a,b".into(), 1),
            CurrentParameter::new("/a/e/deeper/X".into(), ParameterType::String, "no".into(), 1),
        ]
    }

    #[test]
    fn masks_secrets_unless_decrypted() {
        let (text, counts) = render_env("/a/e/", &params(), false);
        assert_eq!(
            text,
            "# Parameters under /a/e/ (migrate ssm pull)\nLIST=a,b\n\
             # PW: SecureString, not exported (pull with --with-decryption)\nZ=\"two words\"\n"
        );
        assert_eq!(counts, PullCounts { plain: 2, secrets: 0, masked: 1 });
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn decrypted_output_parses_back_to_the_same_values() {
        let (text, counts) = render_env("/a/e/", &params(), true);
        assert_eq!(counts, PullCounts { plain: 2, secrets: 1, masked: 0 });
        let parsed = dotenv::parse("pulled.env", &text).unwrap();
        let got: Vec<(&str, &str)> = parsed.entries.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
        assert_eq!(got, [("LIST", "a,b"), ("PW", "hunter2 \"x\""), ("Z", "two words")]);
    }
}
