//! Named profiles of the AWS shared files: `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`)
//! and `~/.aws/config` (`AWS_CONFIG_FILE`).
//!
//! A profile with static keys (`aws_access_key_id`, `aws_secret_access_key`, optionally
//! `aws_session_token`) gives SigV4 credentials, and its `region` is used when none is set. The
//! credentials file wins over the config file for the same property, as in the AWS SDKs. A profile
//! that gets its credentials some other way (`role_arn`, `sso_session`, `credential_process`, …)
//! is reported as such: Steadfast does not run those providers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::auth::AwsCredentials;

/// A profile as read from the shared files.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    /// Its name.
    pub(crate) name: String,
    /// Its region, if it has one.
    pub(crate) region: Option<String>,
    /// Its static credentials, or why it has none Steadfast can use.
    pub(crate) credentials: Result<AwsCredentials, String>,
}

/// Properties that mean the credentials come from a provider Steadfast does not run.
const UNSUPPORTED: &[&str] = &[
    "role_arn",
    "sso_session",
    "sso_start_url",
    "credential_process",
    "web_identity_token_file",
    "credential_source",
];

/// The paths of the credentials and config files, from the environment read through `get`
/// (`None` when neither an override nor a home directory is known).
fn paths(get: &dyn Fn(&str) -> Option<String>) -> (Option<PathBuf>, Option<PathBuf>) {
    let home = get("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        get(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    (
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        file("AWS_CONFIG_FILE", "config"),
    )
}

/// Reads profile `name` from the shared files found through `get`, with `read` reading a file
/// (`None` when it does not exist). `None` when neither file has the profile.
pub(crate) fn load(
    name: &str,
    get: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Option<Profile> {
    let (credentials_file, config_file) = paths(get);
    let from_config = config_file
        .and_then(|p| read(&p))
        .and_then(|text| section(&text, name, true));
    let from_credentials = credentials_file
        .and_then(|p| read(&p))
        .and_then(|text| section(&text, name, false));
    if from_config.is_none() && from_credentials.is_none() {
        return None;
    }
    let mut props = from_config.unwrap_or_default();
    props.extend(from_credentials.unwrap_or_default());
    Some(Profile {
        name: name.to_string(),
        region: props.get("region").cloned(),
        credentials: credentials(name, &props),
    })
}

/// Reads a file, treating a missing or unreadable one as absent.
pub(crate) fn read_file(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn credentials(name: &str, props: &HashMap<String, String>) -> Result<AwsCredentials, String> {
    match (
        props.get("aws_access_key_id"),
        props.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => {
            let c = AwsCredentials::new(id.clone(), secret.clone());
            Ok(match props.get("aws_session_token") {
                Some(t) => c.with_session_token(t.clone()),
                None => c,
            })
        }
        _ => Err(match UNSUPPORTED.iter().find(|k| props.contains_key(**k)) {
            Some(k) => format!(
                "the AWS profile `{name}` gets its credentials through `{k}`, which Steadfast \
                 does not support: export temporary credentials (for example with `aws configure \
                 export-credentials --profile {name} --format env`) or use a Bedrock API key"
            ),
            None => format!(
                "the AWS profile `{name}` has no aws_access_key_id and aws_secret_access_key"
            ),
        }),
    }
}

/// The properties of profile `name` in an INI text: in the config file a section
/// `[profile name]` (or `[default]`), in the credentials file `[name]`. `None` without one.
fn section(text: &str, name: &str, config: bool) -> Option<HashMap<String, String>> {
    let mut found = false;
    let mut props = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        // Indented lines continue a nested property (`s3 =` followed by its settings).
        if line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.split(']').next().unwrap_or("").trim();
            let title = if config && header != "default" {
                header
                    .strip_prefix("profile")
                    .filter(|rest| rest.starts_with([' ', '\t']))
                    .map(str::trim)
            } else {
                Some(header)
            };
            inside = title == Some(name);
            found |= inside;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim();
            // A trailing ` # comment` is not part of the value.
            let value = value
                .split_once(" #")
                .or_else(|| value.split_once(" ;"))
                .map_or(value, |(v, _)| v.trim_end());
            props.insert(key.trim().to_ascii_lowercase(), value.to_string());
        }
    }
    found.then_some(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(credentials: &'static str, config: &'static str) -> impl Fn(&Path) -> Option<String> {
        move |p: &Path| match p.file_name()?.to_str()? {
            "credentials" => Some(credentials.to_string()),
            "config" => Some(config.to_string()),
            _ => None,
        }
    }

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/home/someone".to_string())
    }

    const CREDENTIALS: &str = "\
# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = default-secret

[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key = work-secret   # trailing comment
aws_session_token = work-token
";

    const CONFIG: &str = "\
[default]
region = eu-west-1

[profile work]
region = us-west-2
s3 =
    max_concurrent_requests = 20

[profile assumed]
role_arn = arn:aws:iam::123456789012:role/r
source_profile = default

[sso-session corp]
sso_start_url = https://example.awsapps.com/start

[profile empty]
output = json
";

    #[test]
    fn static_keys_and_region_come_from_both_files() {
        let read = files(CREDENTIALS, CONFIG);
        let work = load("work", &env, &read).unwrap();
        assert_eq!(work.region.as_deref(), Some("us-west-2"));
        let c = work.credentials.unwrap();
        assert_eq!(c.access_key_id(), "AKIDWORK");
        let secrets: Vec<&str> = c.secrets().map(|k| k.expose()).collect();
        assert_eq!(secrets, ["work-secret", "work-token"]);
        let default = load("default", &env, &read).unwrap();
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        assert_eq!(default.credentials.unwrap().access_key_id(), "AKIDDEFAULT");
    }

    #[test]
    fn profiles_steadfast_cannot_use_say_why() {
        let read = files(CREDENTIALS, CONFIG);
        let assumed = load("assumed", &env, &read).unwrap();
        let why = assumed.credentials.unwrap_err();
        assert!(why.contains("`role_arn`"), "{why}");
        assert!(why.contains("export-credentials"), "{why}");
        let empty = load("empty", &env, &read).unwrap();
        assert!(
            empty
                .credentials
                .unwrap_err()
                .contains("no aws_access_key_id")
        );
        // A section that is not a profile is not one.
        assert_eq!(load("corp", &env, &read), None);
        assert_eq!(load("missing", &env, &read), None);
    }

    #[test]
    fn file_locations_follow_the_aws_variables() {
        let get = |name: &str| match name {
            "AWS_SHARED_CREDENTIALS_FILE" => Some("/etc/creds".to_string()),
            "HOME" => Some("/home/x".to_string()),
            _ => None,
        };
        let (credentials, config) = paths(&get);
        assert_eq!(credentials, Some(PathBuf::from("/etc/creds")));
        assert_eq!(config, Some(PathBuf::from("/home/x/.aws/config")));
        // Without a home directory or an override, nothing is read.
        assert_eq!(paths(&|_: &str| None), (None, None));
    }
}
