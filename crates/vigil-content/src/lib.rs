//! Vigil's detection content: the rule packs, lists and checks under `content/`, embedded in the
//! binary, each file replaceable by one at the same path under `<data>/content/`.
//!
//! [`Content::build`] is pure (file texts in, parsed content or the first error out); the
//! [`load`] module reads an override tree from disk.

#![forbid(unsafe_code)]

pub mod load;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use vigil_detect::asset_rules::AssetPolicy;
use vigil_detect::baseline::Check;
use vigil_detect::hashes::HashList;
use vigil_detect::secrets::{SecretRules, SecretsFile};

/// The shipped tree: (path under `content/`, text). A file the engines read is listed here.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        MANIFEST,
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/manifest.toml"
        )),
    ),
    (
        ASSETS,
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/rules/assets.toml"
        )),
    ),
    (
        SECRETS,
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/rules/secrets.toml"
        )),
    ),
    (
        MALWARE_HASHES,
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/lists/malware-hashes.txt"
        )),
    ),
    (
        WEAK_PASSWORDS,
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/lists/weak-passwords.txt"
        )),
    ),
    (
        "baseline/exposure.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/exposure.toml"
        )),
    ),
    (
        "baseline/passwords.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/passwords.toml"
        )),
    ),
    (
        "baseline/accounts.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/accounts.toml"
        )),
    ),
    (
        "baseline/files.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/files.toml"
        )),
    ),
    (
        "baseline/logging.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/logging.toml"
        )),
    ),
    (
        "baseline/misc.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/misc.toml"
        )),
    ),
    (
        "baseline/modules.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/modules.toml"
        )),
    ),
    (
        "baseline/mounts.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/mounts.toml"
        )),
    ),
    (
        "baseline/services.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/services.toml"
        )),
    ),
    (
        "baseline/ssh.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/ssh.toml"
        )),
    ),
    (
        "baseline/sysctl.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../content/baseline/sysctl.toml"
        )),
    ),
];

const MANIFEST: &str = "manifest.toml";
const ASSETS: &str = "rules/assets.toml";
const SECRETS: &str = "rules/secrets.toml";
const MALWARE_HASHES: &str = "lists/malware-hashes.txt";
const WEAK_PASSWORDS: &str = "lists/weak-passwords.txt";
/// A weak-password list longer than this is refused (the scan's budget could never reach it).
const MAX_WEAK_PASSWORDS: usize = 1_000_000;
/// Baseline checks live in `baseline/*.toml`; an override tree may add files there.
const BASELINE_DIR: &str = "baseline/";

/// Where a file in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Embedded,
    Override,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Embedded => "embedded",
            Origin::Override => "override",
        }
    }
}

/// One file of the content in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentFile {
    pub path: String,
    pub origin: Origin,
    pub sha256: String,
    pub bytes: usize,
}

/// The parsed content the engines read.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// The manifest's version (an override of the manifest can change it).
    pub version: String,
    pub files: Vec<ContentFile>,
    pub assets: AssetPolicy,
    /// The baseline checks: the shipped families, overridden or not, then added files, each
    /// file's checks in order.
    pub baseline: Vec<Check>,
    /// The passwords the weak-password checks try first, most common first, deduplicated.
    pub weak_passwords: Vec<String>,
    /// The credential-leak rules as written (they compile: [`Content::secret_rules`]).
    pub secrets: SecretsFile,
    /// Known-bad files by MD5 and SHA-256.
    pub malware_hashes: HashList,
}

/// A content file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ContentError {
    pub file: String,
    pub message: String,
}

impl ContentError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> ContentError {
        ContentError {
            file: file.into(),
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    #[serde(default)]
    check: Vec<Check>,
}

impl Content {
    /// The shipped content, without overrides.
    pub fn embedded() -> Content {
        Content::build(&BTreeMap::new()).expect("the embedded content parses (tested)")
    }

    /// The content with `overrides` (path under the tree → text) in place of the shipped files.
    /// A path that is not a content file, or a file that does not parse, is an error naming it.
    pub fn build(overrides: &BTreeMap<String, String>) -> Result<Content, ContentError> {
        if let Some(unknown) = overrides.keys().find(|p| !is_known(p) && !is_baseline(p)) {
            let known: Vec<&str> = EMBEDDED.iter().map(|(p, _)| *p).collect();
            return Err(ContentError::new(
                unknown.as_str(),
                format!(
                    "not a content file of this version (the files are: {})",
                    known.join(", ")
                ),
            ));
        }
        let mut files = Vec::with_capacity(EMBEDDED.len());
        let mut text_of = |path: &str| -> &str {
            let (text, origin) = match overrides.get(path) {
                Some(t) => (t.as_str(), Origin::Override),
                None => (embedded_text(path), Origin::Embedded),
            };
            files.push(ContentFile {
                path: path.to_string(),
                origin,
                sha256: hex::encode(Sha256::digest(text.as_bytes())),
                bytes: text.len(),
            });
            text
        };
        let manifest: Manifest = parse(MANIFEST, text_of(MANIFEST))?;
        if manifest.version.trim().is_empty() {
            return Err(ContentError::new(MANIFEST, "version is empty"));
        }
        let assets: AssetPolicy = parse(ASSETS, text_of(ASSETS))?;
        let secrets: SecretsFile = parse(SECRETS, text_of(SECRETS))?;
        SecretRules::new(secrets.clone()).map_err(|e| ContentError::new(SECRETS, e))?;
        let malware_hashes = HashList::parse(text_of(MALWARE_HASHES))
            .map_err(|e| ContentError::new(MALWARE_HASHES, e))?;
        let weak_passwords =
            word_list(text_of(WEAK_PASSWORDS)).map_err(|e| ContentError::new(WEAK_PASSWORDS, e))?;
        let mut baseline_files: Vec<String> = EMBEDDED
            .iter()
            .map(|(p, _)| p.to_string())
            .filter(|p| is_baseline(p))
            .collect();
        baseline_files.extend(
            overrides
                .keys()
                .filter(|p| is_baseline(p) && !is_known(p))
                .cloned(),
        );
        let mut baseline = Vec::new();
        for path in &baseline_files {
            let file: BaselineFile = parse(path, text_of(path))?;
            vigil_detect::baseline::validate(&file.check)
                .map_err(|e| ContentError::new(path.as_str(), e))?;
            baseline.extend(file.check);
        }
        vigil_detect::baseline::validate(&baseline)
            .map_err(|e| ContentError::new(BASELINE_DIR, e))?;
        Ok(Content {
            version: manifest.version,
            files,
            assets,
            baseline,
            weak_passwords,
            secrets,
            malware_hashes,
        })
    }

    /// The credential-leak rules, compiled (checked when the content was built).
    pub fn secret_rules(&self) -> SecretRules {
        SecretRules::new(self.secrets.clone()).expect("checked by Content::build")
    }

    /// How many files come from the override tree.
    pub fn overridden(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.origin == Origin::Override)
            .count()
    }
}

/// The words of a list: one per line, `#` lines and blank lines skipped, first of each kept.
pub fn word_list(text: &str) -> Result<Vec<String>, String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let w = line.trim_end_matches('\r');
        if w.trim().is_empty() || w.starts_with('#') {
            continue;
        }
        if seen.insert(w) {
            out.push(w.to_string());
        }
        if out.len() > MAX_WEAK_PASSWORDS {
            return Err(format!("more than {MAX_WEAK_PASSWORDS} words"));
        }
    }
    if out.is_empty() {
        return Err("the list has no words".into());
    }
    Ok(out)
}

/// A baseline pack: `baseline/NAME.toml`, one level deep.
fn is_baseline(path: &str) -> bool {
    path.strip_prefix(BASELINE_DIR).is_some_and(|name| {
        name.ends_with(".toml")
            && name.len() > 5
            && !name.contains('/')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    })
}

fn is_known(path: &str) -> bool {
    EMBEDDED.iter().any(|(p, _)| *p == path)
}

fn embedded_text(path: &str) -> &'static str {
    EMBEDDED
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, t)| *t)
        .unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, ContentError> {
    toml::from_str(text).map_err(|e| ContentError::new(file, e.to_string().trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_detect::asset_rules::RuleLevel;

    fn with(path: &str, text: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(path.to_string(), text.to_string())])
    }

    #[test]
    fn the_shipped_tree_parses_and_keeps_the_documented_levels() {
        let c = Content::embedded();
        assert!(!c.version.is_empty());
        assert_eq!(c.files.len(), EMBEDDED.len());
        assert_eq!(c.overridden(), 0);
        assert_eq!(c.assets.backdoor_account.level, RuleLevel::Urgent);
        assert_eq!(c.assets.backdoor_account.allowed, ["root"]);
        assert_eq!(c.assets.new_admin.level, RuleLevel::Suspicious);
        assert_eq!(c.assets.passwordless_login.level, RuleLevel::Suspicious);
        assert_eq!(c.assets.wildcard_port.level, RuleLevel::Reminder);
        assert!(c.assets.wildcard_port.quiet.is_empty());
    }

    #[test]
    fn an_override_replaces_one_file_and_says_so() {
        let text = embedded_text(ASSETS).replace("quiet = []", "quiet = [\"udp/68\"]");
        let c = Content::build(&with(ASSETS, &text)).unwrap();
        assert_eq!(c.overridden(), 1);
        assert_eq!(c.assets.wildcard_port.quiet.len(), 1);
        let f = c.files.iter().find(|f| f.path == ASSETS).unwrap();
        assert_eq!(f.origin, Origin::Override);
        assert_ne!(f.sha256, Content::embedded().files[1].sha256);
        let v = Content::build(&with(MANIFEST, "version = \"site-7\"\n")).unwrap();
        assert_eq!(v.version, "site-7");
    }

    #[test]
    fn malformed_files_are_refused_with_their_name_and_place() {
        let cases = [
            (ASSETS, "[wildcard_port]\nlevel = \"loud\"\n", "loud"),
            (ASSETS, "this is not toml", "rules/assets.toml"),
            (
                ASSETS,
                &embedded_text(ASSETS).replace("quiet = []", "quiet = [\"sctp/9\"]"),
                "sctp/9",
            ),
            (
                ASSETS,
                &format!(
                    "{}\n[new_rule]\nlevel = \"urgent\"\n",
                    embedded_text(ASSETS)
                ),
                "new_rule",
            ),
            (MANIFEST, "version = \" \"\n", "version is empty"),
            ("rules/asset.toml", "", "not a content file"),
        ];
        for (path, text, want) in cases {
            let e = Content::build(&with(path, text)).unwrap_err();
            assert!(e.to_string().starts_with(path), "{e}");
            assert!(e.to_string().contains(want), "{path}: {e}");
        }
    }
}
