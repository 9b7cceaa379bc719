//! Ansible Vault decryption against vault data written by the real
//! `ansible-vault` (ansible-core from the test venv): whole files in formats
//! 1.1 and 1.2, inline `encrypt_string` values read back through our YAML
//! parser, wrong passwords, tampered ciphertext and password scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use migrate::source::vault::{VaultEnvelope, VaultError, VaultPassword, VaultPasswords, VaultVersion};
use migrate::source::yaml;

use crate::support;

/// Plaintexts that must survive the round trip byte for byte.
const VALUES: &[(&str, &str)] = &[
    ("simple", "hunter2"),
    ("multi_line", "line one\nline two\n\n  indented line\ttab\n"),
    ("unicode", "Grüße aus Zürich — パスワード ✓ 🔐"),
    ("no_trailing_newline", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"),
    ("yaml_lookalike", "key: value\n- item\n$ANSIBLE_VAULT;1.1;AES256\n"),
    ("block_sized", "0123456789abcdef"),
];

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }

    /// Runs `ansible-vault` in the sandbox (its own ANSIBLE_HOME, no user config).
    fn ansible_vault(&self, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
        use std::io::Write;
        let home = self.path(".ansible-home");
        let mut child = Command::new(support::tool("ansible-vault"))
            .args(args)
            .current_dir(self.dir.path())
            .env("ANSIBLE_HOME", &home)
            .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
            .env("ANSIBLE_CONFIG", self.path("no-ansible.cfg"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
            .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ansible-vault runs");
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.unwrap_or(b"")).expect("write stdin");
        drop(pipe);
        let out = child.wait_with_output().expect("ansible-vault finishes");
        assert!(out.status.success(), "ansible-vault {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// `ansible-vault encrypt <file> <extra args>`: returns the vault text.
    fn encrypt_file(&self, name: &str, plaintext: &[u8], args: &[&str]) -> String {
        self.write(name, plaintext);
        let mut all = vec!["encrypt"];
        all.extend_from_slice(args);
        all.push(name);
        self.ansible_vault(&all, None);
        std::fs::read_to_string(self.path(name)).expect("vault file")
    }
}

fn passwords(list: Vec<VaultPassword>) -> VaultPasswords {
    let mut set = VaultPasswords::new();
    for p in list {
        set.push(p);
    }
    set
}

fn from_file(id: &str, path: &Path) -> VaultPassword {
    VaultPassword::from_file(id, path).expect("password file loads")
}

#[test]
fn whole_files_1_1_and_1_2_decrypt_byte_for_byte() {
    let sb = Sandbox::new();
    let pw_file = sb.write("pw", b"correct horse battery staple\n");
    let prod_file = sb.write("prod-pw", b"prod password\n");
    let set = passwords(vec![from_file("default", &pw_file), from_file("prod", &prod_file)]);

    let mut all_values: Vec<(String, Vec<u8>)> =
        VALUES.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
    all_values.push(("empty".into(), Vec::new()));
    all_values.push(("binary".into(), (0u8..=255).collect()));

    for (name, plain) in &all_values {
        let v11 = sb.encrypt_file(&format!("{name}-11.yml"), plain, &["--vault-password-file", "pw"]);
        let env = VaultEnvelope::parse(&v11).expect("1.1 envelope parses");
        assert_eq!(env.version, VaultVersion::V1_1, "{name}");
        assert_eq!(env.vault_id, None);
        let got = set.decrypt_file(&format!("{name}-11.yml"), &v11).expect("1.1 decrypts");
        assert_eq!(got.expose(), plain, "{name} (1.1)");

        let v12 = sb.encrypt_file(&format!("{name}-12.yml"), plain, &["--vault-id", "prod@prod-pw"]);
        let env = VaultEnvelope::parse(&v12).expect("1.2 envelope parses");
        assert_eq!(env.version, VaultVersion::V1_2, "{name}");
        assert_eq!(env.vault_id.as_deref(), Some("prod"));
        let (got, used) = set.decrypt(&env).expect("1.2 decrypts");
        assert_eq!(used, "prod");
        assert_eq!(got.expose(), plain, "{name} (1.2)");
    }
}

#[test]
fn inline_encrypt_string_values_decrypt_through_the_yaml_parser() {
    let sb = Sandbox::new();
    sb.write("pw", b"inline-pw\n");
    sb.write("prod-pw", b"prod-inline-pw\n");
    let set = passwords(vec![from_file("default", &sb.path("pw")), from_file("prod", &sb.path("prod-pw"))]);

    let mut doc = String::from("# made by ansible-vault encrypt_string\nplain: visible\n");
    for (name, value) in VALUES {
        let out = sb.ansible_vault(
            &["encrypt_string", "--vault-password-file", "pw", "--stdin-name", name],
            Some(value.as_bytes()),
        );
        doc.push_str(&String::from_utf8(out.stdout).expect("utf-8 output"));
        doc.push('\n');
    }
    let out = sb.ansible_vault(
        &["encrypt_string", "--vault-id", "prod@prod-pw", "--name", "prod_value", "prod inline secret"],
        None,
    );
    doc.push_str(&String::from_utf8(out.stdout).expect("utf-8 output"));
    doc.push('\n');
    // encrypt_string refuses empty input; Ansible reads an empty value written
    // by `encrypt` and pasted under `!vault |`, so build one that way.
    let empty = sb.encrypt_file("empty.txt", b"", &["--vault-password-file", "pw"]);
    doc.push_str("empty_value: !vault |\n");
    for line in empty.lines() {
        doc.push_str("    ");
        doc.push_str(line);
        doc.push('\n');
    }
    sb.write("vars.yml", doc.as_bytes());

    let parsed = yaml::parse(&doc).expect("encrypt_string output is valid YAML");
    let root = &parsed.docs[0];
    assert_eq!(root.get("plain").and_then(|n| n.as_str()), Some("visible"));
    for (name, value) in VALUES {
        let node = root.get(name).unwrap_or_else(|| panic!("`{name}` in the YAML"));
        assert_eq!(node.tag, yaml::NodeTag::Vault, "{name}");
        let got = set.decrypt_node("group_vars/all/vars.yml", node).expect("inline value decrypts");
        assert_eq!(got.expose().as_bytes(), value.as_bytes(), "{name}");
    }
    let prod = root.get("prod_value").expect("prod_value");
    let env = VaultEnvelope::parse(prod.as_str().expect("text")).expect("envelope");
    assert_eq!(env.vault_id.as_deref(), Some("prod"));
    assert_eq!(set.decrypt_node("vars.yml", prod).expect("decrypts").expose(), "prod inline secret");
    let empty = root.get("empty_value").expect("empty_value");
    assert_eq!(set.decrypt_node("vars.yml", empty).expect("decrypts").expose(), "");

    // Wrong password on an inline value: the file and the value's line are named.
    let wrong = passwords(vec![VaultPassword::new("default", "not the password")]);
    let node = root.get("simple").expect("simple");
    let err = wrong.decrypt_node("group_vars/all/vars.yml", node).unwrap_err();
    let key_line = doc.lines().position(|l| l.starts_with("simple:")).expect("key line") as u32 + 1;
    assert!(matches!(err, VaultError::WrongPassword { line, inline: true, .. } if line == key_line), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("`group_vars/all/vars.yml:{key_line}`: vault password does not decrypt this value (HMAC mismatch)")
    );
}

#[test]
fn wrong_password_names_the_file() {
    let sb = Sandbox::new();
    sb.write("pw", b"right\n");
    let text = sb.encrypt_file("vault.yml", b"db_password: s3cret\n", &["--vault-password-file", "pw"]);
    let wrong_file = sb.write("wrong", b"wrong\n");
    let set = passwords(vec![from_file("default", &wrong_file)]);
    let err = set.decrypt_file("group_vars/all/vault.yml", &text).unwrap_err();
    assert!(matches!(&err, VaultError::WrongPassword { path, line: 0, inline: false, tried: 1 }
        if path == "group_vars/all/vault.yml"));
    assert_eq!(
        err.to_string(),
        "`group_vars/all/vault.yml`: vault password does not decrypt this file (HMAC mismatch)"
    );
    let two = passwords(vec![from_file("default", &wrong_file), VaultPassword::new("dev", "also wrong")]);
    let err = two.decrypt_file("group_vars/all/vault.yml", &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`group_vars/all/vault.yml`: none of the 2 vault passwords decrypts this file (HMAC mismatch)"
    );
    assert!(!format!("{err:?}").contains("s3cret"));
}

#[test]
fn tampered_ciphertext_fails_the_hmac_check() {
    let sb = Sandbox::new();
    let pw_file = sb.write("pw", b"pw\n");
    let text = sb.encrypt_file("vault.yml", b"api_token: abc123\n", &["--vault-password-file", "pw"]);
    let set = passwords(vec![from_file("default", &pw_file)]);
    assert!(set.decrypt_file("vault.yml", &text).is_ok());

    // Flip one hex digit of the ciphertext field inside the hex body.
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let body: String = lines.collect();
    let inner = String::from_utf8(hex::decode(body).expect("outer hex")).expect("ascii");
    let mut fields: Vec<String> = inner.splitn(3, '\n').map(str::to_string).collect();
    let ct = &mut fields[2];
    let flipped = if ct.ends_with('0') { '1' } else { '0' };
    ct.pop();
    ct.push(flipped);
    let tampered = format!("{header}\n{}\n", hex::encode(fields.join("\n")));
    let err = set.decrypt_file("group_vars/all/vault.yml", &tampered).unwrap_err();
    assert!(matches!(err, VaultError::WrongPassword { .. }), "{err:?}");
    assert!(err.to_string().contains("HMAC mismatch"), "{err}");
}

#[cfg(unix)]
#[test]
fn executable_password_script_and_stripped_password_file_match_ansible() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let script = sb.write("vault-pass.sh", b"#!/bin/sh\nprintf 'from a script\\n'\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // ansible-vault runs the script too: both sides must get the same password.
    let text = sb.encrypt_file("vault.yml", b"token: t0k3n\n", &["--vault-password-file", "vault-pass.sh"]);
    let set = passwords(vec![from_file("default", &script)]);
    assert_eq!(set.decrypt_file("vault.yml", &text).expect("decrypts").expose(), b"token: t0k3n\n");

    // Surrounding whitespace in a password file is stripped by Ansible; so by us.
    let spaced = sb.write("spaced", b"  inner space kept \t\n\n");
    let text = sb.encrypt_file("vault2.yml", b"x: 1\n", &["--vault-password-file", "spaced"]);
    let set = passwords(vec![from_file("default", &spaced)]);
    assert_eq!(set.decrypt_file("vault2.yml", &text).expect("decrypts").expose(), b"x: 1\n");
    let exact = passwords(vec![VaultPassword::new("default", "inner space kept")]);
    assert!(exact.decrypt_file("vault2.yml", &text).is_ok());

    // Through the environment variable, as the CLI will load it.
    let env_file = spaced.clone().into_os_string();
    let loaded = VaultPasswords::load(&[], &[], |k| (k == "ANSIBLE_VAULT_PASSWORD_FILE").then(|| env_file.clone()))
        .expect("loads");
    assert!(loaded.decrypt_file("vault2.yml", &text).is_ok());
}
