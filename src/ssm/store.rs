//! The seam between the push engine and Parameter Store: a small async trait over the
//! handful of SSM calls the tool makes, with SDK-free request, result and error types.
//!
//! [`crate::ssm::aws`] implements it with aws-sdk-ssm; the unit tests implement it in
//! memory. Every method is ONE attempt of ONE API call: retrying, rate limiting and
//! deciding what a failure means are the engine's job (`ssm::retry`, `ssm::push`).
//! Errors carry a classification ([`ErrorKind`]) and a message that must already be
//! free of request content (see `aws.rs`).

use std::fmt;
use std::future::Future;

use crate::spec::parameter::{ParameterValue, Tag, Tier};

/// SSM parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterType::String => "String",
            ParameterType::StringList => "StringList",
            ParameterType::SecureString => "SecureString",
        }
    }

    /// The type a desired value is written as.
    pub fn for_value(value: &ParameterValue) -> ParameterType {
        if value.is_secret() { ParameterType::SecureString } else { ParameterType::String }
    }
}

impl fmt::Display for ParameterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter as it is in the store now. `SecureString` values are always
/// [`ParameterValue::Secret`] (ciphertext when read without decryption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentParameter {
    pub name: String,
    pub kind: ParameterType,
    pub value: ParameterValue,
    pub version: i64,
}

impl CurrentParameter {
    /// Builds the value with the right wrapping for its type.
    pub fn new(name: String, kind: ParameterType, value: String, version: i64) -> CurrentParameter {
        let value = match kind {
            ParameterType::SecureString => ParameterValue::secret(value),
            _ => ParameterValue::Plain(value),
        };
        CurrentParameter { name, kind, value, version }
    }

    /// Holds exactly `value` with the type `value` is written as.
    pub fn holds(&self, value: &ParameterValue) -> bool {
        self.kind == ParameterType::for_value(value) && self.value.expose() == value.expose()
    }
}

/// One page of GetParametersByPath.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub parameters: Vec<CurrentParameter>,
    pub next_token: Option<String>,
}

/// How a PutParameter call treats an existing parameter. SSM rejects Tags together
/// with Overwrite, so tags go with creation only; updates tag in a second call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutMode {
    /// Overwrite=false; fails with [`ErrorKind::AlreadyExists`] if the name exists.
    Create { tags: Vec<Tag> },
    /// Overwrite=true, no tags.
    Overwrite,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRequest {
    pub name: String,
    pub value: ParameterValue,
    pub mode: PutMode,
    /// KMS key for SecureString values (ignored for String).
    pub key_id: Option<String>,
    pub tier: Tier,
    pub description: Option<String>,
}

impl PutRequest {
    pub fn kind(&self) -> ParameterType {
        ParameterType::for_value(&self.value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutOutcome {
    pub version: i64,
    pub tier: Option<Tier>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    pub deleted: Vec<String>,
    /// Names that did not exist (already deleted, e.g. by an earlier attempt).
    pub missing: Vec<String>,
}

/// What kind of failure a call ended in; decides retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// ThrottlingException and friends: not carried out, retry later.
    Throttled,
    /// TooManyUpdates: concurrent updates to one parameter; not carried out. The SDK
    /// never retries it.
    TooManyUpdates,
    /// HTTP 5xx: may or may not have been carried out.
    Server,
    /// No answer in time: may or may not have been carried out.
    Timeout,
    /// Connection refused, reset or dropped: may or may not have been carried out.
    Connection,
    /// ParameterAlreadyExists.
    AlreadyExists,
    /// ParameterNotFound / InvalidResourceId.
    NotFound,
    /// Anything else (validation, access denied, credentials): retrying cannot help.
    Rejected,
}

/// A failed call. `message` holds no request content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub kind: ErrorKind,
    pub code: Option<String>,
    pub message: String,
}

impl StoreError {
    pub fn new(kind: ErrorKind, code: Option<&str>, message: impl Into<String>) -> StoreError {
        StoreError { kind, code: code.map(String::from), message: message.into() }
    }

    /// Worth another attempt after a pause.
    pub fn retryable(&self) -> bool {
        use ErrorKind::*;
        matches!(self.kind, Throttled | TooManyUpdates | Server | Timeout | Connection)
    }

    /// The call may have been carried out although its answer says otherwise (or was
    /// lost): a write must be checked before it is sent again.
    pub fn may_have_applied(&self) -> bool {
        matches!(self.kind, ErrorKind::Server | ErrorKind::Timeout | ErrorKind::Connection)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.message.is_empty()) {
            (Some(c), false) => write!(f, "{c}: {}", self.message),
            (Some(c), true) => f.write_str(c),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// Parameter Store, one call per method.
pub trait ParameterStore: Send + Sync + 'static {
    /// GetParametersByPath: one page (at most 10) of the parameters under `path`
    /// (no trailing `/`). Pages may be empty while a `next_token` still follows.
    fn list_page(
        &self,
        path: &str,
        recursive: bool,
        decrypt: bool,
        token: Option<String>,
    ) -> impl Future<Output = StoreResult<ListPage>> + Send;

    /// GetParameter with decryption; `None` if it does not exist.
    fn get(&self, name: &str) -> impl Future<Output = StoreResult<Option<CurrentParameter>>> + Send;

    /// PutParameter.
    fn put(&self, request: &PutRequest) -> impl Future<Output = StoreResult<PutOutcome>> + Send;

    /// AddTagsToResource (adds or replaces the given keys, keeps the others).
    fn add_tags(&self, name: &str, tags: &[Tag]) -> impl Future<Output = StoreResult<()>> + Send;

    /// ListTagsForResource.
    fn list_tags(&self, name: &str) -> impl Future<Output = StoreResult<Vec<Tag>>> + Send;

    /// DescribeParameters filtered on at most 50 names: the tier of each that exists.
    fn tiers(&self, names: &[String]) -> impl Future<Output = StoreResult<Vec<(String, Tier)>>> + Send;

    /// DeleteParameters on at most 10 names.
    fn delete(&self, names: &[String]) -> impl Future<Output = StoreResult<DeleteOutcome>> + Send;
}
