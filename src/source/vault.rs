//! Ansible Vault: read vault passwords, parse vault envelopes, decrypt them.
//!
//! Owns the vault format 1.1/1.2 with the AES256 cipher, exactly as
//! `ansible.parsing.vault` writes it:
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256              (1.2 adds ";<vault-id>")
//! <hex of: hex(salt) "\n" hex(hmac) "\n" hex(ciphertext)>, wrapped at 80 columns
//! ```
//!
//! Keys: PBKDF2-HMAC-SHA256(password, salt, 10 000 rounds, 80 bytes) split into
//! a 32-byte AES-256 key, a 32-byte HMAC-SHA256 key and a 16-byte CTR IV. The
//! HMAC over the ciphertext is checked in constant time *before* anything is
//! decrypted; the plaintext is AES-256-CTR (128-bit big-endian counter, as
//! Python's `cryptography` does it) with PKCS#7 padding, which is validated.
//!
//! Plaintext only ever leaves this module inside [`Sensitive`]; passwords stay
//! inside [`VaultPassword`] and no error or `Debug` output contains either. This
//! module reads the password files and runs password scripts it is given, and
//! nothing else: finding vault files and `!vault` values in a repo is the
//! caller's job. It never writes vault files ([`encrypt_with_salt`] exists for
//! tests and fixtures).

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::is_executable;

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::sensitive::Sensitive;
use crate::source::yaml::{self, Documents, Node};

/// The first field of every vault envelope.
pub const HEADER: &str = "$ANSIBLE_VAULT";
/// The vault id of passwords given without one (Ansible's `DEFAULT_VAULT_IDENTITY`).
pub const DEFAULT_VAULT_ID: &str = "default";
/// The only cipher Ansible has written since 2.4 (and the only one it still reads).
pub const CIPHER_AES256: &str = "AES256";
/// Environment variable naming a password file (Ansible's `DEFAULT_VAULT_PASSWORD_FILE`).
pub const ENV_PASSWORD_FILE: &str = "ANSIBLE_VAULT_PASSWORD_FILE";
/// Environment variable with comma-separated `id@source` entries (Ansible's `DEFAULT_VAULT_IDENTITY_LIST`).
pub const ENV_IDENTITY_LIST: &str = "ANSIBLE_VAULT_IDENTITY_LIST";

const PBKDF2_ROUNDS: u32 = 10_000;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const HMAC_LEN: usize = 32;
const BLOCK_LEN: usize = 16;
/// How much of a malformed header is quoted in an error.
const MAX_QUOTED: usize = 40;

type Aes256Ctr = ctr::Ctr128BE<Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// The format version in the envelope header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VaultVersion {
    /// `1.1`: no vault id.
    V1_1,
    /// `1.2`: a vault id follows the cipher.
    V1_2,
}

impl VaultVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            VaultVersion::V1_1 => "1.1",
            VaultVersion::V1_2 => "1.2",
        }
    }
}

impl fmt::Display for VaultVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed vault envelope: header fields plus salt, HMAC and ciphertext.
/// Holds no secret (the ciphertext is what sits in the repo anyway), but
/// `Debug` prints only sizes to keep logs short.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultEnvelope {
    pub version: VaultVersion,
    pub cipher: String,
    /// The vault id of a 1.2 envelope; `None` for 1.1 (Ansible then uses `default`).
    pub vault_id: Option<String>,
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl fmt::Debug for VaultEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultEnvelope")
            .field("version", &self.version)
            .field("cipher", &self.cipher)
            .field("vault_id", &self.vault_id)
            .field("salt_len", &self.salt.len())
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// Why a text is not a usable vault envelope. `line` is the 0-based line
/// within the envelope text where the problem is, when one line is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    pub line: Option<u32>,
    pub kind: EnvelopeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeErrorKind {
    #[error("it does not start with `{HEADER}`")]
    NoHeader,
    #[error("header `{0}` needs `{HEADER};<version>;<cipher>`")]
    BadHeader(String),
    #[error("unsupported vault format version `{0}` (supported: 1.1, 1.2)")]
    UnsupportedVersion(String),
    #[error("unsupported cipher `{0}` (supported: {CIPHER_AES256})")]
    UnsupportedCipher(String),
    #[error("the body is empty")]
    EmptyBody,
    #[error("the body is not hexadecimal")]
    NotHex,
    #[error("the body has an odd number of hex digits (truncated?)")]
    OddLength,
    #[error("the decoded body needs three lines (salt, HMAC, ciphertext)")]
    MissingParts,
    #[error("the {0} field is not hexadecimal")]
    FieldNotHex(&'static str),
    #[error("the salt is empty")]
    EmptySalt,
    #[error("the HMAC is {0} bytes, expected {HMAC_LEN}")]
    BadHmacLength(usize),
    #[error("the ciphertext is {0} bytes, not a positive multiple of {BLOCK_LEN} (truncated?)")]
    BadCiphertextLength(usize),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for EnvelopeError {}

impl From<EnvelopeErrorKind> for EnvelopeError {
    fn from(kind: EnvelopeErrorKind) -> EnvelopeError {
        EnvelopeError { line: None, kind }
    }
}

/// Why one password did not decrypt an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// Wrong password, or the salt/HMAC/ciphertext was modified: the two are
    /// indistinguishable by design.
    #[error("HMAC mismatch")]
    HmacMismatch,
    /// The HMAC matched but the padding is invalid: written by a broken tool.
    #[error("invalid PKCS#7 padding")]
    BadPadding,
}

impl VaultEnvelope {
    /// Parses a vault envelope: the header line, then the hex body. Whitespace
    /// anywhere in the body (indentation of inline `!vault |` values, `\r\n`
    /// line ends, the 80-column wrapping) is ignored.
    pub fn parse(text: &str) -> Result<VaultEnvelope, EnvelopeError> {
        let text = text.trim_start();
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("").trim();
        let fields: Vec<&str> = header.split(';').map(str::trim).collect();
        if fields.first() != Some(&HEADER) {
            return Err(EnvelopeError { line: Some(0), kind: EnvelopeErrorKind::NoHeader });
        }
        let at_header = |kind| EnvelopeError { line: Some(0), kind };
        if fields.len() < 3 {
            return Err(at_header(EnvelopeErrorKind::BadHeader(quote(header))));
        }
        let version = match fields[1] {
            "1.1" => VaultVersion::V1_1,
            "1.2" => VaultVersion::V1_2,
            other => return Err(at_header(EnvelopeErrorKind::UnsupportedVersion(quote(other)))),
        };
        if fields[2] != CIPHER_AES256 {
            return Err(at_header(EnvelopeErrorKind::UnsupportedCipher(quote(fields[2]))));
        }
        // As Ansible: a fourth field is the vault id whatever the version says.
        let vault_id = fields.get(3).filter(|id| !id.is_empty()).map(|id| id.to_string());

        let mut digits: Vec<u8> = Vec::with_capacity(text.len());
        let mut last_line = 0u32;
        for (i, line) in lines.enumerate() {
            let line_no = i as u32 + 1;
            for b in line.bytes().filter(|b| !b.is_ascii_whitespace()) {
                if !b.is_ascii_hexdigit() {
                    return Err(EnvelopeError { line: Some(line_no), kind: EnvelopeErrorKind::NotHex });
                }
                digits.push(b);
                last_line = line_no;
            }
        }
        if digits.is_empty() {
            return Err(EnvelopeErrorKind::EmptyBody.into());
        }
        if !digits.len().is_multiple_of(2) {
            return Err(EnvelopeError { line: Some(last_line), kind: EnvelopeErrorKind::OddLength });
        }
        let inner = hex::decode(&digits).map_err(|_| EnvelopeError::from(EnvelopeErrorKind::NotHex))?;
        let mut parts = inner.splitn(3, |&b| b == b'\n');
        let (Some(salt), Some(hmac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EnvelopeErrorKind::MissingParts.into());
        };
        let field = |bytes: &[u8], name| hex::decode(bytes).map_err(|_| EnvelopeErrorKind::FieldNotHex(name));
        let salt = field(salt, "salt")?;
        let hmac = field(hmac, "HMAC")?;
        let ciphertext = field(ciphertext, "ciphertext")?;
        if salt.is_empty() {
            return Err(EnvelopeErrorKind::EmptySalt.into());
        }
        if hmac.len() != HMAC_LEN {
            return Err(EnvelopeErrorKind::BadHmacLength(hmac.len()).into());
        }
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK_LEN) {
            return Err(EnvelopeErrorKind::BadCiphertextLength(ciphertext.len()).into());
        }
        Ok(VaultEnvelope { version, cipher: fields[2].to_string(), vault_id, salt, hmac, ciphertext })
    }

    /// The vault id Ansible files this envelope under (`default` for 1.1).
    pub fn effective_vault_id(&self) -> &str {
        self.vault_id.as_deref().unwrap_or(DEFAULT_VAULT_ID)
    }

    /// Decrypts with one password: HMAC check first, then AES-256-CTR, then
    /// the PKCS#7 padding is checked and removed.
    pub fn decrypt(&self, password: &VaultPassword) -> Result<Sensitive<Vec<u8>>, DecryptError> {
        let keys = DerivedKeys::new(password.secret.expose(), &self.salt);
        let mut mac = mac_with_key(keys.hmac_key());
        mac.update(&self.ciphertext);
        mac.verify_slice(&self.hmac).map_err(|_| DecryptError::HmacMismatch)?;

        let mut buf = self.ciphertext.clone();
        apply_ctr(keys.aes_key(), keys.iv(), &mut buf);
        let pad = usize::from(*buf.last().ok_or(DecryptError::BadPadding)?);
        let padding_ok = (1..=BLOCK_LEN).contains(&pad)
            && pad <= buf.len()
            && buf[buf.len() - pad..].iter().all(|&b| usize::from(b) == pad);
        if !padding_ok {
            wipe(&mut buf);
            return Err(DecryptError::BadPadding);
        }
        buf.truncate(buf.len() - pad);
        Ok(Sensitive::new(buf))
    }
}

/// PBKDF2 output: AES key, HMAC key, CTR IV. Zeroed when dropped (best effort).
struct DerivedKeys([u8; 2 * KEY_LEN + IV_LEN]);

impl DerivedKeys {
    fn new(password: &[u8], salt: &[u8]) -> DerivedKeys {
        let mut out = [0u8; 2 * KEY_LEN + IV_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, PBKDF2_ROUNDS, &mut out);
        DerivedKeys(out)
    }
    fn aes_key(&self) -> &[u8] {
        &self.0[..KEY_LEN]
    }
    fn hmac_key(&self) -> &[u8] {
        &self.0[KEY_LEN..2 * KEY_LEN]
    }
    fn iv(&self) -> &[u8] {
        &self.0[2 * KEY_LEN..]
    }
}

impl Drop for DerivedKeys {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites key material and rejected plaintext. Not a guarantee (the
/// compiler may have copied the bytes), but cheap.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    // Makes the zeroed bytes "observed" so the stores above are not optimised away.
    std::hint::black_box(&*buf);
}

fn mac_with_key(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

fn apply_ctr(key: &[u8], iv: &[u8], buf: &mut [u8]) {
    // The slices come from a fixed-size array split at constant offsets.
    match Aes256Ctr::new_from_slices(key, iv) {
        Ok(mut cipher) => cipher.apply_keystream(buf),
        Err(_) => unreachable!("AES-256 key is 32 bytes and the CTR IV 16"),
    }
}

fn quote(s: &str) -> String {
    if s.chars().count() > MAX_QUOTED {
        let cut: String = s.chars().take(MAX_QUOTED).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

/// Encrypts `plaintext` the way `ansible-vault encrypt` does, with a given salt.
/// For tests and fixtures only: the tool never writes vault data, and a real
/// encryption needs a fresh random salt every time.
pub fn encrypt_with_salt(plaintext: &[u8], password: &VaultPassword, salt: &[u8], vault_id: Option<&str>) -> String {
    let keys = DerivedKeys::new(password.secret.expose(), salt);
    let pad = BLOCK_LEN - plaintext.len() % BLOCK_LEN;
    let mut buf = plaintext.to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    apply_ctr(keys.aes_key(), keys.iv(), &mut buf);
    let mut mac = mac_with_key(keys.hmac_key());
    mac.update(&buf);
    let tag = mac.finalize().into_bytes();
    let inner = format!("{}\n{}\n{}", hex::encode(salt), hex::encode(tag), hex::encode(&buf));
    let body = hex::encode(inner.as_bytes());
    let mut out = match vault_id {
        Some(id) if id != DEFAULT_VAULT_ID => format!("{HEADER};1.2;{CIPHER_AES256};{id}\n"),
        _ => format!("{HEADER};1.1;{CIPHER_AES256}\n"),
    };
    for chunk in body.as_bytes().chunks(80) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Where a vault password came from (shown in errors; never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// Read from a file (whitespace around it stripped, as Ansible does).
    File(PathBuf),
    /// Printed by an executable password script.
    Script(PathBuf),
    /// Given directly by code (tests).
    Given,
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::File(p) => write!(f, "password file `{}`", p.display()),
            PasswordSource::Script(p) => write!(f, "password script `{}`", p.display()),
            PasswordSource::Given => f.write_str("given password"),
        }
    }
}

/// One vault password and the vault id it is filed under.
#[derive(Debug, Clone)]
pub struct VaultPassword {
    vault_id: String,
    secret: Sensitive<Vec<u8>>,
    source: PasswordSource,
}

impl VaultPassword {
    /// A password given directly (tests, or a caller that has it already).
    pub fn new(vault_id: impl Into<String>, password: impl Into<Vec<u8>>) -> VaultPassword {
        VaultPassword {
            vault_id: vault_id.into(),
            secret: Sensitive::new(password.into()),
            source: PasswordSource::Given,
        }
    }

    /// Reads a password from `path` as Ansible does: an executable file is run
    /// (no arguments; `--vault-id <id>` if its name ends in `-client`) and its
    /// stdout, stripped of surrounding `\r`/`\n`, is the password; any other
    /// file is read and stripped of surrounding whitespace. An empty password
    /// is an error.
    pub fn from_file(vault_id: impl Into<String>, path: &Path) -> Result<VaultPassword, VaultError> {
        let vault_id = vault_id.into();
        let fail = |problem| VaultError::Password { path: path.to_path_buf(), problem };
        let meta = std::fs::metadata(path).map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                PasswordProblem::NotFound
            } else {
                PasswordProblem::Io(e.kind().to_string())
            })
        })?;
        if meta.is_dir() {
            return Err(fail(PasswordProblem::IsDirectory));
        }
        let (bytes, source) = if is_executable(&meta) {
            let out = run_password_script(path, &vault_id).map_err(fail)?;
            (strip_bytes(out, |b| b == b'\r' || b == b'\n'), PasswordSource::Script(path.to_path_buf()))
        } else {
            let raw = std::fs::read(path).map_err(|e| fail(PasswordProblem::Io(e.kind().to_string())))?;
            (strip_bytes(raw, |b| b.is_ascii_whitespace()), PasswordSource::File(path.to_path_buf()))
        };
        if bytes.is_empty() {
            return Err(fail(PasswordProblem::Empty));
        }
        Ok(VaultPassword { vault_id, secret: Sensitive::new(bytes), source })
    }

    pub fn vault_id(&self) -> &str {
        &self.vault_id
    }

    pub fn source(&self) -> &PasswordSource {
        &self.source
    }
}

/// Ansible strips the file content with `bytes.strip()` (ASCII whitespace at
/// both ends) and script output with `strip(b'\r\n')`.
fn strip_bytes(mut bytes: Vec<u8>, strip: impl Fn(u8) -> bool) -> Vec<u8> {
    let end = bytes.iter().rposition(|&b| !strip(b)).map_or(0, |i| i + 1);
    let start = bytes[..end].iter().position(|&b| !strip(b)).unwrap_or(end);
    wipe(&mut bytes[end..]);
    bytes.truncate(end);
    bytes.drain(..start);
    bytes
}

/// Runs a password script. stdin and stderr stay the terminal's (a script may
/// prompt), except for `-client` scripts whose stderr is captured and dropped,
/// as Ansible does. Exit status 2 from a client script means "unknown vault id".
fn run_password_script(path: &Path, vault_id: &str) -> Result<Vec<u8>, PasswordProblem> {
    // Absolute, so that `pw.sh` is never looked up on PATH.
    let program = std::path::absolute(path).map_err(|e| PasswordProblem::Io(e.kind().to_string()))?;
    let client = is_client_script(path);
    let mut cmd = Command::new(&program);
    cmd.stdout(Stdio::piped());
    if client {
        cmd.arg("--vault-id").arg(vault_id).stderr(Stdio::piped());
    }
    let out = cmd.output().map_err(|e| PasswordProblem::ScriptNotRun(e.kind().to_string()))?;
    if !out.status.success() {
        if client && out.status.code() == Some(2) {
            return Err(PasswordProblem::UnknownVaultId(vault_id.to_string()));
        }
        let status = out.status.code().map_or_else(|| "a signal".to_string(), |c| c.to_string());
        let mut stdout = out.stdout;
        wipe(&mut stdout);
        return Err(PasswordProblem::ScriptFailed(status));
    }
    Ok(out.stdout)
}

/// `something-client` or `something-client.py`: Ansible passes `--vault-id` to these.
fn is_client_script(path: &Path) -> bool {
    path.file_stem().and_then(OsStr::to_str).is_some_and(|s| s.ends_with("-client"))
}

/// Why a password could not be loaded. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("not found")]
    NotFound,
    #[error("is a directory")]
    IsDirectory,
    #[error("cannot be read: {0}")]
    Io(String),
    #[error("holds an empty password")]
    Empty,
    #[error("is executable but could not be run ({0}); remove the executable bit if it is not a script")]
    ScriptNotRun(String),
    #[error("exited with status {0}")]
    ScriptFailed(String),
    #[error("does not know vault id `{0}` (client script exited with status 2)")]
    UnknownVaultId(String),
    #[error("`prompt` is not supported: give a password file or script")]
    PromptUnsupported,
}

/// The vault passwords of a run, in the order Ansible tries them.
#[derive(Debug, Clone, Default)]
pub struct VaultPasswords {
    passwords: Vec<VaultPassword>,
}

impl VaultPasswords {
    pub fn new() -> VaultPasswords {
        VaultPasswords::default()
    }

    pub fn push(&mut self, password: VaultPassword) {
        self.passwords.push(password);
    }

    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }

    pub fn len(&self) -> usize {
        self.passwords.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &VaultPassword> {
        self.passwords.iter()
    }

    /// Adds one `--vault-id` argument: `id@path`, or a bare `path` (vault id `default`).
    pub fn add_vault_id(&mut self, spec: &str) -> Result<(), VaultError> {
        let (id, source) = split_vault_id(spec);
        if source == "prompt" || source == "prompt_ask_vault_pass" {
            let problem = PasswordProblem::PromptUnsupported;
            return Err(VaultError::Password { path: PathBuf::from(source), problem });
        }
        self.push(VaultPassword::from_file(id, Path::new(source))?);
        Ok(())
    }

    /// Adds one `--vault-password-file` (vault id `default`).
    pub fn add_password_file(&mut self, path: &Path) -> Result<(), VaultError> {
        self.push(VaultPassword::from_file(DEFAULT_VAULT_ID, path)?);
        Ok(())
    }

    /// Loads passwords in Ansible's order: `ANSIBLE_VAULT_IDENTITY_LIST`, then
    /// `--vault-id` arguments, then `--vault-password-file` arguments, then
    /// `ANSIBLE_VAULT_PASSWORD_FILE`. `env` looks up an environment variable
    /// (`|k| std::env::var_os(k)` in the binary, a map in tests). Unlike Ansible,
    /// a password source that cannot be read is an error even when others work:
    /// the user named it, so silently skipping it would hide a typo.
    pub fn load(
        vault_ids: &[String],
        password_files: &[PathBuf],
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<VaultPasswords, VaultError> {
        let mut out = VaultPasswords::new();
        if let Some(list) = env(ENV_IDENTITY_LIST) {
            for spec in list.to_string_lossy().split(',').map(str::trim).filter(|s| !s.is_empty()) {
                out.add_vault_id(spec)?;
            }
        }
        for spec in vault_ids {
            out.add_vault_id(spec)?;
        }
        for path in password_files {
            out.add_password_file(path)?;
        }
        if let Some(path) = env(ENV_PASSWORD_FILE).filter(|p| !p.is_empty()) {
            out.add_password_file(Path::new(&path))?;
        }
        Ok(out)
    }

    /// Tries the passwords whose vault id matches the envelope first, then all
    /// the others (Ansible's default; the vault id is not authenticated, only a
    /// hint). Returns the plaintext and the vault id of the password that worked.
    pub fn decrypt(&self, envelope: &VaultEnvelope) -> Result<(Sensitive<Vec<u8>>, &str), DecryptError> {
        let wanted = envelope.effective_vault_id();
        let ordered = self
            .passwords
            .iter()
            .filter(|p| p.vault_id == wanted)
            .chain(self.passwords.iter().filter(|p| p.vault_id != wanted));
        let mut last = DecryptError::HmacMismatch;
        for password in ordered {
            match envelope.decrypt(password) {
                Ok(plain) => return Ok((plain, &password.vault_id)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Decrypts a whole vault-encrypted file. `path` is the repo-relative path
    /// used in errors; `text` is the file's content.
    pub fn decrypt_file(&self, path: &str, text: &str) -> Result<Sensitive<Vec<u8>>, VaultError> {
        let envelope = VaultEnvelope::parse(text).map_err(|e| VaultError::Malformed {
            path: path.to_string(),
            // Lines of a file are real lines: 1-based, header on line 1.
            line: e.line.map_or(0, |l| l + 1),
            inline: false,
            problem: e,
        })?;
        self.decrypt_at(&envelope, path, 0, false)
    }

    /// Decrypts a vault-encrypted file that holds YAML and parses it. The nodes
    /// are plaintext: treat every value in them as vault-encrypted.
    pub fn decrypt_yaml_file(&self, path: &str, text: &str) -> Result<Documents, VaultError> {
        let plain = self.decrypt_file(path, text)?;
        let text = std::str::from_utf8(plain.expose()).map_err(|_| VaultError::NotText {
            path: path.to_string(),
            line: 0,
            inline: false,
        })?;
        // Only the line: a parser message may quote a character of the plaintext.
        yaml::parse(text).map_err(|e| VaultError::Yaml { path: path.to_string(), line: e.line })
    }

    /// Decrypts an inline `!vault |` value. `path` and the node's line go into errors.
    pub fn decrypt_node(&self, path: &str, node: &Node) -> Result<Sensitive<String>, VaultError> {
        let line = node.line;
        let Some(text) = node.as_str() else {
            return Err(VaultError::Malformed {
                path: path.to_string(),
                line,
                inline: true,
                problem: EnvelopeErrorKind::NoHeader.into(),
            });
        };
        let envelope = VaultEnvelope::parse(text).map_err(|problem| VaultError::Malformed {
            path: path.to_string(),
            line,
            inline: true,
            problem,
        })?;
        let plain = self.decrypt_at(&envelope, path, line, true)?;
        String::from_utf8(plain.into_exposed()).map(Sensitive::new).map_err(|_| VaultError::NotText {
            path: path.to_string(),
            line,
            inline: true,
        })
    }

    fn decrypt_at(
        &self,
        envelope: &VaultEnvelope,
        path: &str,
        line: u32,
        inline: bool,
    ) -> Result<Sensitive<Vec<u8>>, VaultError> {
        let path = path.to_string();
        if self.is_empty() {
            return Err(VaultError::NoPassword { path, line, inline });
        }
        match self.decrypt(envelope) {
            Ok((plain, _)) => Ok(plain),
            Err(DecryptError::HmacMismatch) => Err(VaultError::WrongPassword { path, line, inline, tried: self.len() }),
            Err(DecryptError::BadPadding) => Err(VaultError::BadPadding { path, line, inline }),
        }
    }
}

/// `id@source` → (`id`, `source`); no `@` → (`default`, whole string).
fn split_vault_id(spec: &str) -> (&str, &str) {
    match spec.split_once('@') {
        Some((id, source)) if !id.is_empty() => (id, source),
        Some((_, source)) => (DEFAULT_VAULT_ID, source),
        None => (DEFAULT_VAULT_ID, spec),
    }
}

/// True when a whole file is vault-encrypted (Ansible: the content starts with the header).
pub fn is_vault_file(text: &str) -> bool {
    text.starts_with(HEADER)
}

/// A vault problem, naming the file (and the line of an inline value). Never
/// holds plaintext or a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("`{}`: not a valid Ansible Vault {}: {problem}", at(path, *line), what(*inline))]
    Malformed { path: String, line: u32, inline: bool, problem: EnvelopeError },
    #[error("`{}`: {} (HMAC mismatch)", at(path, *line), no_password_decrypts(*tried, *inline))]
    WrongPassword { path: String, line: u32, inline: bool, tried: usize },
    #[error("`{}`: this {} decrypts but its padding is invalid (corrupt vault data)", at(path, *line), what(*inline))]
    BadPadding { path: String, line: u32, inline: bool },
    #[error(
        "`{}`: this {} is vault-encrypted but no vault password was given \
         (--vault-password-file, --vault-id or {ENV_PASSWORD_FILE})",
        at(path, *line),
        what(*inline)
    )]
    NoPassword { path: String, line: u32, inline: bool },
    #[error("`{}`: the decrypted {} is not UTF-8 text", at(path, *line), what(*inline))]
    NotText { path: String, line: u32, inline: bool },
    #[error("`{path}`: the decrypted file is not valid YAML (line {line} of the plaintext)")]
    Yaml { path: String, line: u32 },
    #[error("vault password source `{}` {problem}", path.display())]
    Password { path: PathBuf, problem: PasswordProblem },
}

impl VaultError {
    /// The repo-relative path of the vault data (not for password errors).
    pub fn path(&self) -> Option<&str> {
        match self {
            VaultError::Malformed { path, .. }
            | VaultError::WrongPassword { path, .. }
            | VaultError::BadPadding { path, .. }
            | VaultError::NoPassword { path, .. }
            | VaultError::NotText { path, .. }
            | VaultError::Yaml { path, .. } => Some(path),
            VaultError::Password { .. } => None,
        }
    }
}

fn at(path: &str, line: u32) -> String {
    if line == 0 { path.to_string() } else { format!("{path}:{line}") }
}

fn what(inline: bool) -> &'static str {
    if inline { "value" } else { "file" }
}

fn no_password_decrypts(tried: usize, inline: bool) -> String {
    let what = what(inline);
    if tried == 1 {
        format!("vault password does not decrypt this {what}")
    } else {
        format!("none of the {tried} vault passwords decrypts this {what}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vault");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
    }

    fn password(id: &str, file: &str) -> VaultPassword {
        VaultPassword::from_file(id, Path::new(&format!("{FIXTURES}/{file}"))).unwrap()
    }

    fn passwords(list: Vec<VaultPassword>) -> VaultPasswords {
        let mut p = VaultPasswords::new();
        for pw in list {
            p.push(pw);
        }
        p
    }

    #[test]
    fn decrypts_a_1_1_file_made_by_ansible_vault() {
        let text = fixture("vault-1.1.yml");
        let env = VaultEnvelope::parse(&text).unwrap();
        assert_eq!(env.version, VaultVersion::V1_1);
        assert_eq!(env.vault_id, None);
        let pw = passwords(vec![password("default", "password.txt")]);
        let plain = pw.decrypt_file("group_vars/all/vault.yml", &text).unwrap();
        assert_eq!(plain.expose().as_slice(), fixture("vault-1.1.plain.yml").as_bytes());
    }

    #[test]
    fn decrypts_a_1_2_file_with_its_vault_id() {
        let text = fixture("vault-1.2-prod.yml");
        let env = VaultEnvelope::parse(&text).unwrap();
        assert_eq!(env.version, VaultVersion::V1_2);
        assert_eq!(env.vault_id.as_deref(), Some("prod"));
        // The wrong password comes first; the matching vault id is tried first anyway.
        let pw = passwords(vec![password("default", "password.txt"), password("prod", "password-prod.txt")]);
        let (plain, used) = pw.decrypt(&env).unwrap();
        assert_eq!(used, "prod");
        assert_eq!(plain.expose().as_slice(), fixture("vault-1.2-prod.plain.yml").as_bytes());
    }

    #[test]
    fn decrypts_inline_values_from_yaml() {
        let docs = yaml::parse(&fixture("inline.yml")).unwrap();
        let doc = &docs.docs[0];
        let pw = passwords(vec![password("default", "password.txt")]);
        let node = doc.get("db_password").unwrap();
        assert_eq!(node.tag, yaml::NodeTag::Vault);
        assert_eq!(pw.decrypt_node("group_vars/all/vars.yml", node).unwrap().expose(), "hunter2");
        let multi = pw.decrypt_node("x.yml", doc.get("motd").unwrap()).unwrap();
        assert_eq!(multi.expose(), "line one\nline two: ünïcødé ✓\n");
        assert_eq!(doc.get("plain_setting").unwrap().as_str(), Some("not encrypted"));
    }

    #[test]
    fn decrypts_and_parses_a_yaml_vault_file() {
        let pw = passwords(vec![password("default", "password.txt")]);
        let docs = pw.decrypt_yaml_file("group_vars/all/vault.yml", &fixture("vault-1.1.yml")).unwrap();
        assert_eq!(docs.docs[0].get("vault_db_password").and_then(Node::as_str), Some("s3cr3t-Pa55"));
        let not_yaml = encrypt_with_salt(b"a: [1,\n\"secret-ish", &pw.passwords[0], &[2u8; 32], None);
        let err = pw.decrypt_yaml_file("v.yml", &not_yaml).unwrap_err();
        assert!(matches!(err, VaultError::Yaml { .. }), "{err:?}");
        assert!(!err.to_string().contains("secret-ish"), "{err}");
        let binary = encrypt_with_salt(&[0xff, 0xfe, 0x00], &pw.passwords[0], &[2u8; 32], None);
        let err = pw.decrypt_yaml_file("v.yml", &binary).unwrap_err();
        assert_eq!(err.to_string(), "`v.yml`: the decrypted file is not UTF-8 text");
    }

    #[test]
    fn wrong_password_names_file_and_line() {
        let pw = passwords(vec![VaultPassword::new("default", "nope")]);
        let err = pw.decrypt_file("group_vars/all/vault.yml", &fixture("vault-1.1.yml")).unwrap_err();
        assert!(matches!(err, VaultError::WrongPassword { line: 0, tried: 1, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "`group_vars/all/vault.yml`: vault password does not decrypt this file (HMAC mismatch)"
        );
        let docs = yaml::parse(&fixture("inline.yml")).unwrap();
        let node = docs.docs[0].get("db_password").unwrap();
        let err = pw.decrypt_node("group_vars/all/vars.yml", node).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`group_vars/all/vars.yml:{}`: vault password does not decrypt this value (HMAC mismatch)",
                node.line
            )
        );
        assert!(node.line >= 1);
    }

    #[test]
    fn round_trip_with_our_encrypt() {
        let pw = VaultPassword::new("default", "pw");
        for plain in ["", "x", "exactly sixteen!", "seventeen bytes!!", "ünïcødé\nmulti\nline\n"] {
            let text = encrypt_with_salt(plain.as_bytes(), &pw, &[7u8; 32], None);
            let env = VaultEnvelope::parse(&text).unwrap();
            assert_eq!(env.decrypt(&pw).unwrap().expose().as_slice(), plain.as_bytes());
        }
        let text = encrypt_with_salt(b"v", &pw, b"salt", Some("prod"));
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
    }

    #[test]
    fn tampering_fails_the_hmac_check_before_decrypting() {
        let pw = VaultPassword::new("default", "pw");
        let env = VaultEnvelope::parse(&encrypt_with_salt(b"secret value", &pw, &[1u8; 32], None)).unwrap();
        // Each try runs PBKDF2 (slow in debug builds): first, middle and last byte.
        for i in [0, env.ciphertext.len() / 2, env.ciphertext.len() - 1] {
            let mut t = env.clone();
            t.ciphertext[i] ^= 0x01;
            assert_eq!(t.decrypt(&pw).unwrap_err(), DecryptError::HmacMismatch);
        }
        let mut t = env.clone();
        t.hmac[0] ^= 0x80;
        assert_eq!(t.decrypt(&pw).unwrap_err(), DecryptError::HmacMismatch);
        let mut t = env.clone();
        t.salt[0] ^= 0x80;
        assert_eq!(t.decrypt(&pw).unwrap_err(), DecryptError::HmacMismatch);
    }

    #[test]
    fn bad_padding_is_detected_after_a_valid_hmac() {
        let pw = VaultPassword::new("default", "pw");
        let salt = [3u8; 32];
        let keys = DerivedKeys::new(b"pw", &salt);
        // A block whose last byte decrypts to 0x11 (17): invalid PKCS#7.
        let mut buf = vec![0x11u8; 16];
        apply_ctr(keys.aes_key(), keys.iv(), &mut buf);
        let mut mac = mac_with_key(keys.hmac_key());
        mac.update(&buf);
        let env = VaultEnvelope {
            version: VaultVersion::V1_1,
            cipher: CIPHER_AES256.into(),
            vault_id: None,
            salt: salt.to_vec(),
            hmac: mac.finalize().into_bytes().to_vec(),
            ciphertext: buf,
        };
        assert_eq!(env.decrypt(&pw).unwrap_err(), DecryptError::BadPadding);
    }

    #[test]
    fn tolerates_indentation_and_crlf() {
        let pw = VaultPassword::new("default", "pw");
        let text = encrypt_with_salt(b"indented", &pw, &[9u8; 32], None);
        let indented: String = text.lines().map(|l| format!("      {l}  \r\n")).collect();
        let env = VaultEnvelope::parse(&indented).unwrap();
        assert_eq!(env.decrypt(&pw).unwrap().expose().as_slice(), b"indented");
    }

    #[test]
    fn malformed_envelopes_have_clear_errors() {
        let cases: &[(&str, EnvelopeErrorKind)] = &[
            ("hello", EnvelopeErrorKind::NoHeader),
            ("$ANSIBLE_VAULT;1.1", EnvelopeErrorKind::BadHeader("$ANSIBLE_VAULT;1.1".into())),
            ("$ANSIBLE_VAULT;1.0;AES\n00", EnvelopeErrorKind::UnsupportedVersion("1.0".into())),
            ("$ANSIBLE_VAULT;1.1;AES128\n00", EnvelopeErrorKind::UnsupportedCipher("AES128".into())),
            ("$ANSIBLE_VAULT;1.1;AES256\n", EnvelopeErrorKind::EmptyBody),
            ("$ANSIBLE_VAULT;1.1;AES256\n0a0\n", EnvelopeErrorKind::OddLength),
            ("$ANSIBLE_VAULT;1.1;AES256\n6161\n", EnvelopeErrorKind::MissingParts),
            // "zz\naa\nbb" hex-encoded
            ("$ANSIBLE_VAULT;1.1;AES256\n7a7a0a61610a6262\n", EnvelopeErrorKind::FieldNotHex("salt")),
            // "aa\naa\nbb"
            ("$ANSIBLE_VAULT;1.1;AES256\n61610a61610a6262\n", EnvelopeErrorKind::BadHmacLength(1)),
        ];
        for (text, kind) in cases {
            assert_eq!(&VaultEnvelope::parse(text).unwrap_err().kind, kind, "{text}");
        }
        let err = VaultEnvelope::parse("$ANSIBLE_VAULT;1.1;AES256\n6161\n61xz\n").unwrap_err();
        assert_eq!(err, EnvelopeError { line: Some(2), kind: EnvelopeErrorKind::NotHex });
        let pw = passwords(vec![VaultPassword::new("default", "pw")]);
        let err = pw.decrypt_file("v.yml", "$ANSIBLE_VAULT;1.1;AES256\n6161\n61xz\n").unwrap_err();
        assert_eq!(err.to_string(), "`v.yml:3`: not a valid Ansible Vault file: the body is not hexadecimal");
    }

    #[test]
    fn no_password_is_a_clear_error() {
        let err = VaultPasswords::new().decrypt_file("v.yml", &fixture("vault-1.1.yml")).unwrap_err();
        assert!(matches!(err, VaultError::NoPassword { .. }));
        assert!(err.to_string().contains("no vault password was given"), "{err}");
    }

    #[test]
    fn secrets_never_appear_in_debug_or_errors() {
        let pw = VaultPassword::new("default", "correct horse battery staple");
        let set = passwords(vec![pw.clone()]);
        let text = encrypt_with_salt(b"the plaintext", &pw, &[5u8; 32], None);
        let env = VaultEnvelope::parse(&text).unwrap();
        let plain = env.decrypt(&pw).unwrap();
        let wrong = passwords(vec![VaultPassword::new("x", "other")]).decrypt_file("f", &text).unwrap_err();
        let shown = format!("{pw:?} {set:?} {env:?} {plain:?} {wrong} {wrong:?}");
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(!shown.contains("the plaintext"), "{shown}");
    }

    #[test]
    fn password_files_are_stripped_like_ansible() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, b"  spaced pw \t\r\n\n").unwrap();
        let pw = VaultPassword::from_file("default", &file).unwrap();
        assert_eq!(pw.secret.expose().as_slice(), b"spaced pw");
        assert_eq!(pw.source(), &PasswordSource::File(file.clone()));
        std::fs::write(&file, b"\n \n").unwrap();
        let err = VaultPassword::from_file("default", &file).unwrap_err();
        assert!(matches!(err, VaultError::Password { problem: PasswordProblem::Empty, .. }), "{err}");
        let err = VaultPassword::from_file("default", &dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().ends_with("not found"), "{err}");
        let err = VaultPassword::from_file("default", dir.path()).unwrap_err();
        assert!(matches!(err, VaultError::Password { problem: PasswordProblem::IsDirectory, .. }));
    }

    #[cfg(unix)]
    #[test]
    fn executable_password_files_are_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\nprintf ' from script \\r\\n'\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let pw = VaultPassword::from_file("default", &script).unwrap();
        // Script output loses only surrounding \r and \n, as in Ansible.
        assert_eq!(pw.secret.expose().as_slice(), b" from script ");
        assert!(matches!(pw.source(), PasswordSource::Script(_)));

        let client = dir.path().join("vault-client.sh");
        let body = "#!/bin/sh\n[ \"$1\" = --vault-id ] || exit 9\n[ \"$2\" = prod ] || exit 2\necho p-$2\n";
        std::fs::write(&client, body).unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pw = VaultPassword::from_file("prod", &client).unwrap();
        assert_eq!(pw.secret.expose().as_slice(), b"p-prod");
        let err = VaultPassword::from_file("dev", &client).unwrap_err();
        assert!(matches!(err, VaultError::Password { problem: PasswordProblem::UnknownVaultId(_), .. }), "{err}");

        let failing = dir.path().join("fail.sh");
        std::fs::write(&failing, "#!/bin/sh\necho leaked-if-shown\nexit 3\n").unwrap();
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = VaultPassword::from_file("default", &failing).unwrap_err();
        assert!(err.to_string().ends_with("exited with status 3"), "{err}");
        assert!(!format!("{err} {err:?}").contains("leaked"));
    }

    #[test]
    fn load_follows_ansible_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c", "d"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let p = |n: &str| dir.path().join(n);
        let env_list = format!("listed@{}", p("a").display());
        let env_file = p("d").into_os_string();
        let env = |k: &str| match k {
            ENV_IDENTITY_LIST => Some(env_list.clone().into()),
            ENV_PASSWORD_FILE => Some(env_file.clone()),
            _ => None,
        };
        let loaded = VaultPasswords::load(&[format!("prod@{}", p("b").display())], &[p("c")], env).unwrap();
        let ids: Vec<&str> = loaded.iter().map(VaultPassword::vault_id).collect();
        assert_eq!(ids, ["listed", "prod", "default", "default"]);
        let err = VaultPasswords::load(&["dev@prompt".into()], &[], |_| None).unwrap_err();
        assert!(matches!(err, VaultError::Password { problem: PasswordProblem::PromptUnsupported, .. }));
        assert_eq!(split_vault_id("x@y@z"), ("x", "y@z"));
        assert_eq!(split_vault_id("file"), ("default", "file"));
    }
}
