//! Reading what is under a prefix now: GetParametersByPath page by page, each page
//! retried on its own (a failure at page 400 of 500 does not restart the listing).
//! Only the parameters directly under the prefix are returned: deeper levels belong
//! to other services or tools and are never read, decrypted, changed or pruned.

use super::retry::{GaveUp, RetryPolicy, RetryStats, retry};
use super::store::{CurrentParameter, ErrorKind, ParameterStore, StoreError};
use crate::spec::parameter::key_under;

/// The parameters directly under `prefix` (which ends with `/`), sorted by name.
/// `decrypt` asks for SecureString plaintext (needs kms:Decrypt).
pub async fn read_prefix<S: ParameterStore>(
    store: &S,
    prefix: &str,
    decrypt: bool,
    policy: &RetryPolicy,
    stats: &RetryStats,
) -> Result<Vec<CurrentParameter>, GaveUp> {
    let path = prefix.trim_end_matches('/');
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = retry(policy, stats, None, || store.list_page(path, false, decrypt, token.clone())).await?;
        out.extend(page.parameters.into_iter().filter(|p| key_under(prefix, &p.name).is_some()));
        match page.next_token {
            None => break,
            Some(next) if token.as_ref() == Some(&next) => {
                let error = StoreError::new(
                    ErrorKind::Rejected,
                    None,
                    "GetParametersByPath returned the same page token twice; stopping the listing",
                );
                return Err(GaveUp { error, attempts: 1 });
            }
            Some(next) => token = Some(next),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}
