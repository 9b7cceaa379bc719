//! [`ParameterStore`] on the real thing: the ONLY module that imports aws-sdk-ssm and
//! aws-config. No SDK type leaves it.
//!
//! Configuration: aws-config's standard chain for credentials and region (env, shared
//! config/credentials files, SSO, web identity, ECS/IMDS), `--profile`, `--region`;
//! the endpoint from `--endpoint-url`, else `AWS_ENDPOINT_URL_SSM`, else
//! `AWS_ENDPOINT_URL` (aws-config resolves the last two). SDK retries are disabled:
//! `ssm::retry` / `ssm::push` retry, so that a write whose answer was lost is checked
//! before it is resent (see `push.rs`).
//!
//! Errors: classified into [`ErrorKind`] by AWS error code and HTTP status. Messages
//! from AWS can quote the rejected request (validation errors say
//! `Value '…' at 'value' failed…`), so quoted input is cut out here, and the engine
//! also removes every known secret value before showing any message.

use std::sync::LazyLock;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType as SdkType, ResourceTypeForTagging, Tag as SdkTag,
};
use regex::Regex;

use super::store::{
    CurrentParameter, DeleteOutcome, ErrorKind, ListPage, ParameterStore, ParameterType, PutMode, PutOutcome,
    PutRequest, StoreError, StoreResult,
};
use crate::spec::parameter::{Tag, Tier};

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Overrides `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    pub connect_timeout: Duration,
    /// Longest wait for one attempt of one call.
    pub attempt_timeout: Duration,
}

impl Default for AwsOptions {
    fn default() -> AwsOptions {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

/// SSM through aws-sdk-ssm.
#[derive(Debug, Clone)]
pub struct AwsStore {
    client: Client,
    region: String,
}

/// Loads the AWS configuration. Fails when no region can be found (every later call
/// would fail with a less helpful message).
pub async fn connect(opts: &AwsOptions) -> Result<AwsStore, String> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(opts.connect_timeout)
        .operation_attempt_timeout(opts.attempt_timeout)
        .build();
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled()).timeout_config(timeouts);
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    let Some(region) = conf.region().map(ToString::to_string) else {
        return Err("no AWS region: pass --region, set AWS_REGION, or set one in the profile".into());
    };
    Ok(AwsStore { client: Client::new(&conf), region })
}

impl AwsStore {
    pub fn region(&self) -> &str {
        &self.region
    }
}

fn sdk_type(t: ParameterType) -> SdkType {
    match t {
        ParameterType::String => SdkType::String,
        ParameterType::StringList => SdkType::StringList,
        ParameterType::SecureString => SdkType::SecureString,
    }
}

fn from_sdk_type(t: Option<&SdkType>) -> ParameterType {
    match t {
        Some(SdkType::SecureString) => ParameterType::SecureString,
        Some(SdkType::StringList) => ParameterType::StringList,
        _ => ParameterType::String,
    }
}

fn sdk_tier(t: Tier) -> ParameterTier {
    match t {
        Tier::Standard => ParameterTier::Standard,
        Tier::Advanced => ParameterTier::Advanced,
        Tier::IntelligentTiering => ParameterTier::IntelligentTiering,
    }
}

fn from_sdk_tier(t: &ParameterTier) -> Tier {
    match t {
        ParameterTier::Advanced => Tier::Advanced,
        ParameterTier::IntelligentTiering => Tier::IntelligentTiering,
        _ => Tier::Standard,
    }
}

fn sdk_tags(tags: &[Tag]) -> StoreResult<Vec<SdkTag>> {
    tags.iter()
        .map(|t| {
            SdkTag::builder()
                .key(&t.key)
                .value(&t.value)
                .build()
                .map_err(|_| StoreError::new(ErrorKind::Rejected, None, format!("tag `{}` could not be built", t.key)))
        })
        .collect()
}

/// AWS validation messages quote the rejected input; cut every quoted input out
/// (greedy: from the first `Value '` to the last `' at '`). Long messages are cut short.
fn redact_echo(message: &str) -> String {
    static ECHO: LazyLock<Regex> = LazyLock::new(|| {
        // A constant pattern: cannot fail.
        Regex::new(r"(?s)[Vv]alue '.*' at '").unwrap_or_else(|_| unreachable!())
    });
    let out = ECHO.replace_all(message, "Value (redacted) at '").into_owned();
    match out.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

/// Longest error message kept.
const MAX_MESSAGE_CHARS: usize = 600;

const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
];

fn classify(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => ErrorKind::Throttled,
        Some("TooManyUpdates") => ErrorKind::TooManyUpdates,
        Some("ParameterAlreadyExists") => ErrorKind::AlreadyExists,
        Some("ParameterNotFound" | "InvalidResourceId") => ErrorKind::NotFound,
        Some("InternalServerError" | "InternalFailure" | "ServiceUnavailable") => ErrorKind::Server,
        _ => match status {
            Some(429) => ErrorKind::Throttled,
            Some(s) if s >= 500 => ErrorKind::Server,
            _ => ErrorKind::Rejected,
        },
    }
}

/// An error and its sources, `: `-separated (Display only: the SDK's Debug output
/// holds whole requests).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = e.source();
    }
    out
}

/// SDK error → [`StoreError`], without request content.
fn convert<E>(err: SdkError<E, aws_sdk_ssm::config::http::HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().map(String::from).or_else(|| status.map(|s| format!("HTTP {s}")));
            let kind = classify(err.code(), status);
            StoreError { kind, code, message: redact_echo(err.message().unwrap_or_default()) }
        }
        SdkError::TimeoutError(_) => StoreError::new(ErrorKind::Timeout, None, "no answer in time"),
        SdkError::DispatchFailure(d) => {
            use aws_smithy_types::retry::ErrorKind as Sdk;
            let kind = if d.is_io() {
                ErrorKind::Connection
            } else if d.is_timeout() {
                ErrorKind::Timeout
            } else {
                match d.as_other() {
                    Some(Sdk::TransientError) => ErrorKind::Connection,
                    Some(Sdk::ThrottlingError) => ErrorKind::Throttled,
                    Some(Sdk::ServerError) => ErrorKind::Server,
                    _ => ErrorKind::Rejected,
                }
            };
            StoreError::new(kind, None, redact_echo(&chain(&err)))
        }
        SdkError::ResponseError(_) => {
            let kind = if status.is_some_and(|s| s >= 500) { ErrorKind::Server } else { ErrorKind::Connection };
            let code = status.map(|s| format!("HTTP {s}"));
            StoreError { kind, code, message: "the answer could not be read".into() }
        }
        _ => StoreError::new(ErrorKind::Rejected, None, redact_echo(&chain(&err))),
    }
}

impl ParameterStore for AwsStore {
    async fn list_page(
        &self,
        path: &str,
        recursive: bool,
        decrypt: bool,
        token: Option<String>,
    ) -> StoreResult<ListPage> {
        let out = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(recursive)
            .with_decryption(decrypt)
            .max_results(10)
            .set_next_token(token)
            .send()
            .await
            .map_err(convert)?;
        let parameters = out
            .parameters()
            .iter()
            .filter_map(|p| {
                let name = p.name()?.to_string();
                let value = p.value().unwrap_or_default().to_string();
                Some(CurrentParameter::new(name, from_sdk_type(p.r#type()), value, p.version()))
            })
            .collect();
        Ok(ListPage { parameters, next_token: out.next_token().map(String::from) })
    }

    async fn get(&self, name: &str) -> StoreResult<Option<CurrentParameter>> {
        match self.client.get_parameter().name(name).with_decryption(true).send().await {
            Ok(out) => Ok(out.parameter().map(|p| {
                let value = p.value().unwrap_or_default().to_string();
                CurrentParameter::new(name.to_string(), from_sdk_type(p.r#type()), value, p.version())
            })),
            Err(e) => {
                let e = convert(e);
                if e.kind == ErrorKind::NotFound { Ok(None) } else { Err(e) }
            }
        }
    }

    async fn put(&self, r: &PutRequest) -> StoreResult<PutOutcome> {
        let kind = r.kind();
        let mut call = self
            .client
            .put_parameter()
            .name(&r.name)
            .value(r.value.expose())
            .r#type(sdk_type(kind))
            .tier(sdk_tier(r.tier))
            .set_description(r.description.clone());
        if kind == ParameterType::SecureString {
            call = call.set_key_id(r.key_id.clone());
        }
        call = match &r.mode {
            PutMode::Create { tags } => call.overwrite(false).set_tags(Some(sdk_tags(tags)?)),
            PutMode::Overwrite => call.overwrite(true),
        };
        let out = call.send().await.map_err(convert)?;
        Ok(PutOutcome { version: out.version(), tier: out.tier().map(from_sdk_tier) })
    }

    async fn add_tags(&self, name: &str, tags: &[Tag]) -> StoreResult<()> {
        self.client
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(sdk_tags(tags)?))
            .send()
            .await
            .map_err(convert)?;
        Ok(())
    }

    async fn list_tags(&self, name: &str) -> StoreResult<Vec<Tag>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(convert)?;
        Ok(out.tag_list().iter().map(|t| Tag { key: t.key().to_string(), value: t.value().to_string() }).collect())
    }

    async fn tiers(&self, names: &[String]) -> StoreResult<Vec<(String, Tier)>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(names.to_vec()))
            .build()
            .map_err(|_| StoreError::new(ErrorKind::Rejected, None, "name filter could not be built"))?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_parameters()
                .parameter_filters(filter.clone())
                .max_results(50)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(convert)?;
            for p in page.parameters() {
                if let (Some(name), Some(tier)) = (p.name(), p.tier()) {
                    out.push((name.to_string(), from_sdk_tier(tier)));
                }
            }
            match page.next_token() {
                Some(t) if token.as_deref() != Some(t) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn delete(&self, names: &[String]) -> StoreResult<DeleteOutcome> {
        let out = self.client.delete_parameters().set_names(Some(names.to_vec())).send().await.map_err(convert)?;
        Ok(DeleteOutcome { deleted: out.deleted_parameters().to_vec(), missing: out.invalid_parameters().to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_input_is_cut_out_of_aws_messages() {
        let msg = "1 validation error detected: Value 'hunter2' at 'value' failed to satisfy constraint: Member must \
                   have length less than or equal to 4096";
        let out = redact_echo(msg);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("at 'value' failed"), "{out}");
        let two = "2 validation errors detected: Value 'a'b' at 'name' failed; value 'hunter2' at 'value' failed";
        assert!(!redact_echo(two).contains("hunter2"));
        assert_eq!(redact_echo(&"x".repeat(1000)).chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn errors_are_classified_by_code_then_status() {
        assert_eq!(classify(Some("ThrottlingException"), Some(400)), ErrorKind::Throttled);
        assert_eq!(classify(Some("TooManyUpdates"), Some(400)), ErrorKind::TooManyUpdates);
        assert_eq!(classify(Some("ParameterAlreadyExists"), Some(400)), ErrorKind::AlreadyExists);
        assert_eq!(classify(Some("InternalServerError"), Some(500)), ErrorKind::Server);
        assert_eq!(classify(None, Some(503)), ErrorKind::Server);
        assert_eq!(classify(None, Some(429)), ErrorKind::Throttled);
        assert_eq!(classify(Some("ValidationException"), Some(400)), ErrorKind::Rejected);
        assert_eq!(classify(Some("AccessDeniedException"), Some(400)), ErrorKind::Rejected);
    }
}
