//! Version comparison as Ansible's `version` test does it.
//!
//! Three schemes, each a port of the Python class Ansible uses:
//! `loose` (distutils `LooseVersion`, the default), `strict` (distutils
//! `StrictVersion`) and `semver` (`ansible.utils.version.SemanticVersion`).
//! PEP 440 needs the `packaging` library in Ansible and is refused here.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// The comparison operators Ansible accepts, already normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "==" | "=" | "eq" => Op::Eq,
            "!=" | "<>" | "ne" => Op::Ne,
            "<" | "lt" => Op::Lt,
            "<=" | "le" => Op::Le,
            ">" | "gt" => Op::Gt,
            ">=" | "ge" => Op::Ge,
            _ => return None,
        })
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Loose,
    Strict,
    Semver,
}

impl Scheme {
    pub fn parse(s: &str) -> Result<Scheme, String> {
        match s {
            "loose" => Ok(Scheme::Loose),
            "strict" => Ok(Scheme::Strict),
            "semver" | "semantic" => Ok(Scheme::Semver),
            "pep440" => Err("version_type 'pep440' needs Python's packaging library; not supported".into()),
            other => Err(format!(
                "Invalid version type ({other}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
            )),
        }
    }
}

/// `value is version(other, op)`; errors are Ansible's "Version comparison failed".
pub fn compare(value: &str, other: &str, op: Op, scheme: Scheme) -> Result<bool, String> {
    if value.is_empty() {
        return Err("Input version value cannot be empty".into());
    }
    if other.is_empty() {
        return Err("Version parameter to compare against cannot be empty".into());
    }
    let ord = match scheme {
        Scheme::Loose => {
            let (a, b) = (loose(value), loose(other));
            // Python: `==` never raises, `<` raises on int-vs-str.
            if a == b {
                Ordering::Equal
            } else {
                loose_cmp(&a, &b).ok_or_else(|| {
                    format!("Version comparison failed: cannot compare '{value}' and '{other}' (number against text)")
                })?
            }
        }
        Scheme::Strict => strict(value)?.cmp(&strict(other)?),
        Scheme::Semver => semver_cmp(&semver(value)?, &semver(other)?),
    };
    Ok(op.holds(ord))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(u128),
    Text(String),
}

static LOOSE_SPLIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+|[a-z]+|\.").expect("static regex"));

/// `LooseVersion.parse`: `re.split(r'(\d+|[a-z]+|\.)')` keeping every
/// non-empty piece except the dots, numbers as integers.
fn loose(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut push = |piece: &str| {
        if piece.is_empty() || piece == "." {
            return;
        }
        match piece.parse::<u128>() {
            Ok(n) if piece.bytes().all(|b| b.is_ascii_digit()) => parts.push(Part::Num(n)),
            _ => parts.push(Part::Text(piece.to_string())),
        }
    };
    let mut last = 0;
    for m in LOOSE_SPLIT.find_iter(v) {
        push(&v[last..m.start()]);
        push(m.as_str());
        last = m.end();
    }
    push(&v[last..]);
    parts
}

/// Python list ordering; `None` where Python raises (int against str).
fn loose_cmp(a: &[Part], b: &[Part]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Text(x), Part::Text(y)) => x.cmp(y),
            _ => return None,
        };
        if ord != Ordering::Equal {
            return Some(ord);
        }
    }
    Some(a.len().cmp(&b.len()))
}

static STRICT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)\.([0-9]+)(\.([0-9]+))?([ab]([0-9]+))?$").expect("static regex"));

/// (major, minor, patch, (has no pre-release, `a`/`b`, pre-release number)).
type StrictKey = (u64, u64, u64, (u8, u8, u64));

/// `StrictVersion`: (major, minor, patch) then "no pre-release" sorts after
/// any `a`/`b` pre-release.
fn strict(v: &str) -> Result<StrictKey, String> {
    let caps =
        STRICT_RE.captures(v).ok_or_else(|| format!("Version comparison failed: invalid version number '{v}'"))?;
    let num = |i: usize| caps.get(i).map(|m| m.as_str().parse::<u64>().unwrap_or(u64::MAX)).unwrap_or(0);
    let pre = match caps.get(5) {
        Some(m) => (0, m.as_str().as_bytes()[0], num(6)),
        None => (1, 0, 0),
    };
    Ok((num(1), num(2), num(4), pre))
}

static SEMVER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)",
        r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?",
        r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    ))
    .expect("static regex")
});

struct Semver {
    core: (u128, u128, u128),
    pre: Vec<Part>,
}

fn semver(v: &str) -> Result<Semver, String> {
    let caps =
        SEMVER_RE.captures(v).ok_or_else(|| format!("Version comparison failed: invalid semantic version '{v}'"))?;
    let num = |i: usize| caps.get(i).map(|m| m.as_str().parse::<u128>().unwrap_or(u128::MAX)).unwrap_or(0);
    let pre = caps
        .get(4)
        .map(|m| {
            m.as_str()
                .split('.')
                .map(|p| match p.parse::<u128>() {
                    Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => Part::Num(n),
                    _ => Part::Text(p.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Semver { core: (num(1), num(2), num(3)), pre })
}

fn semver_cmp(a: &Semver, b: &Semver) -> Ordering {
    if a.core != b.core {
        return a.core.cmp(&b.core);
    }
    match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (false, false) => {
            // Numeric identifiers sort before alphanumeric ones (semver 11.4.3).
            for (x, y) in a.pre.iter().zip(&b.pre) {
                let ord = match (x, y) {
                    (Part::Num(x), Part::Num(y)) => x.cmp(y),
                    (Part::Text(x), Part::Text(y)) => x.cmp(y),
                    (Part::Num(_), Part::Text(_)) => Ordering::Less,
                    (Part::Text(_), Part::Num(_)) => Ordering::Greater,
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.pre.len().cmp(&b.pre.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loose_holds(a: &str, b: &str, op: &str) -> bool {
        compare(a, b, Op::parse(op).unwrap(), Scheme::Loose).unwrap()
    }

    #[test]
    fn loose_versions_compare_numerically() {
        assert!(loose_holds("1.10", "1.9", ">="));
        assert!(!loose_holds("1.10", "1.9", "lt"));
        assert!(loose_holds("2.0", "10.0", "<"));
        assert!(loose_holds("1.0a", "1.0", ">"));
        // [1, 0, 0] != [1, 0]
        assert!(!loose_holds("1.0.0", "1.0", "eq"));
        assert!(compare("1.a", "1.0", Op::Lt, Scheme::Loose).is_err());
    }

    #[test]
    fn strict_and_semver() {
        assert!(compare("1.0", "1.0.0", Op::Eq, Scheme::Strict).unwrap());
        assert!(compare("1.0a1", "1.0", Op::Lt, Scheme::Strict).unwrap());
        assert!(compare("1.0-x", "1.0", Op::Lt, Scheme::Strict).is_err());
        assert!(compare("1.0.0-rc.1", "1.0.0", Op::Lt, Scheme::Semver).unwrap());
        assert!(compare("1.0.0-2", "1.0.0-alpha", Op::Lt, Scheme::Semver).unwrap());
        assert!(compare("2.4", "2.4.0", Op::Eq, Scheme::Semver).is_err());
    }
}
