//! Fingerprints of a plan's inputs, so a saved plan can be refused when anything it was
//! computed from has changed.
//!
//! Two digests: `inputs` (the desired state and the tool version) and `current_state`
//! (what was read from the output directory and Parameter Store). Neither contains a
//! value that could be read back. Secret parameter values are not hashed one by one: a
//! plain SHA-256 of a short password is a dictionary attack away from the password. They
//! go, all together, through one PBKDF2-HMAC-SHA256 derivation salted with the rest of
//! the inputs, and only its output enters the digest.

use sha2::{Digest, Sha256};

use super::{Current, Desired, DiskEntry};

/// PBKDF2 rounds over the secret values (one derivation per fingerprint, not per value).
pub const SECRET_ROUNDS: u32 = 100_000;

/// Feeds length-prefixed fields, so `("ab", "c")` and `("a", "bc")` differ.
struct Framed(Sha256);

impl Framed {
    fn new(domain: &str) -> Framed {
        let mut f = Framed(Sha256::new());
        f.field(domain.as_bytes());
        f
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Framed {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The digest of the desired state and the tool version.
pub fn inputs(desired: &Desired) -> String {
    let mut artifacts: Vec<_> = desired.artifacts.iter().collect();
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    let mut params: Vec<_> = desired.parameters.iter().collect();
    params.sort_by(|a, b| a.name.cmp(&b.name));

    let mut public = Framed::new("migrate plan inputs v1");
    public.field(env!("CARGO_PKG_VERSION").as_bytes());
    for a in &artifacts {
        public.field(b"file").field(a.path.as_bytes()).field(&[a.executable as u8]);
        public.field(&Sha256::digest(&a.content));
    }
    let mut secrets = Framed::new("migrate plan secrets v1");
    let mut any_secret = false;
    for p in &params {
        public.field(b"parameter").field(p.name.as_bytes()).field(&[p.secure as u8]);
        if p.secure {
            any_secret = true;
            secrets.field(p.name.as_bytes()).field(p.value.expose().as_bytes());
        } else {
            public.field(p.value.expose().as_bytes());
        }
    }
    let public = public.finish();
    let mut all = Framed::new("migrate plan fingerprint v1");
    all.field(public.as_bytes());
    if any_secret {
        // The secret material itself is the PBKDF2 password; only the derived key is kept.
        let material = secrets.0.finalize();
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(&material, public.as_bytes(), SECRET_ROUNDS, &mut key);
        all.field(&key);
    }
    all.finish()
}

/// The digest of what was read: the manifest, every path of interest, live parameters.
pub fn current_state(current: &Current) -> String {
    let mut f = Framed::new("migrate plan current state v1");
    f.field(current.manifest_sha256.as_deref().unwrap_or("no manifest").as_bytes());
    for (path, entry) in &current.files {
        f.field(path.as_bytes());
        match entry {
            DiskEntry::Absent => f.field(b"absent"),
            DiskEntry::Other => f.field(b"other"),
            DiskEntry::File(body) => f.field(body.sha256().as_bytes()).field(&[body.executable as u8]),
        };
    }
    match &current.parameters {
        None => {
            f.field(b"parameters not read");
        }
        Some(params) => {
            let mut params: Vec<_> = params.iter().collect();
            params.sort_by(|a, b| a.name.cmp(&b.name));
            for p in params {
                // SSM bumps the version on every write, so name and version identify the value.
                f.field(p.name.as_bytes()).field(&[p.secure as u8, p.managed as u8]).field(&p.version.to_le_bytes());
            }
        }
    }
    f.finish()
}
