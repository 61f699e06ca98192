//! Whitelist keys per alert type (SPEC R-AL4) and rule matching.
//!
//! A rule names an alert kind, a scope (all hosts, a group, one host) and the values of that
//! kind's key fields; an alert whose evidence carries the same values is whitelisted.

use std::collections::BTreeMap;
use vigil_model::AlertKind;

/// Evidence field names that identify an alert of `kind` for whitelisting, in the order the
/// SPEC's table gives them. Where the table lists alternatives (IP *or* domain *or* URL) every
/// alternative is listed and [`key_of`] keeps the ones present.
pub fn key_fields(kind: AlertKind) -> &'static [&'static str] {
    use AlertKind::*;
    match kind {
        MaliciousFile => &["md5"],
        AbnormalLogin | BruteForce | NetworkAttack => &["source_ip"],
        // Malicious IP / mining pool: the IP; malicious domain: the domain; download source: URL.
        MaliciousNetworkAccess => &["ip", "domain", "url"],
        Webshell => &["web_dir"],
        MaliciousScript => &["md5", "path"],
        SuspiciousProcess | ApplicationIntrusion | ReverseShell => &["cmdline"],
        // Persistent webshells and other persistence: MD5 and the feature value.
        Persistence => &["md5", "feature"],
        SensitiveFileTampering | DataLeak => &["path"],
        WebThreat => &["domain", "url"],
        SuspiciousConnection => &["cmdline", "dst_ip", "dst_port"],
        SuspiciousAccount => &["user"],
        SuspiciousPort => &["protocol", "port", "process"],
        ConfigurationRisk => &["check"],
    }
}

/// The whitelist key of an alert: its key fields that are present and non-empty. `None` when it
/// carries none (such an alert cannot be whitelisted by key).
pub fn key_of(kind: AlertKind, evidence: &[(String, String)]) -> Option<BTreeMap<String, String>> {
    let mut key = BTreeMap::new();
    for field in key_fields(kind) {
        if let Some((_, v)) = evidence.iter().find(|(n, v)| n == field && !v.is_empty()) {
            key.insert((*field).to_string(), v.clone());
        }
    }
    (!key.is_empty()).then_some(key)
}

/// Where a rule applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Group(String),
    Host(String),
}

impl Scope {
    pub fn covers(&self, host_id: &str, group: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Group(g) => g == group,
            Scope::Host(h) => h == host_id,
        }
    }
}

/// A whitelist rule as the engines see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: i64,
    pub kind: AlertKind,
    pub scope: Scope,
    /// Field → value that the alert's evidence must carry, exactly.
    pub fields: BTreeMap<String, String>,
}

impl Rule {
    /// True when the rule whitelists an alert of `kind` with `evidence` on that host.
    pub fn matches(
        &self,
        kind: AlertKind,
        evidence: &[(String, String)],
        host_id: &str,
        group: &str,
    ) -> bool {
        self.kind == kind
            && !self.fields.is_empty()
            && self.scope.covers(host_id, group)
            && self
                .fields
                .iter()
                .all(|(f, v)| evidence.iter().any(|(n, w)| n == f && w == v))
    }
}

/// The first rule that whitelists the alert, if any.
pub fn first_match<'a>(
    rules: &'a [Rule],
    kind: AlertKind,
    evidence: &[(String, String)],
    host_id: &str,
    group: &str,
) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.matches(kind, evidence, host_id, group))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn every_kind_has_a_key() {
        for k in AlertKind::ALL {
            assert!(!key_fields(k).is_empty(), "{k:?}");
        }
    }

    #[test]
    fn keys_follow_the_spec_table() {
        let e = ev(&[("md5", "abc"), ("path", "/tmp/x.sh"), ("user", "root")]);
        assert_eq!(
            key_of(AlertKind::MaliciousFile, &e)
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["md5"]
        );
        assert_eq!(
            key_of(AlertKind::MaliciousScript, &e)
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["md5", "path"]
        );
        // Suspicious network connection: only the fields present.
        let c = ev(&[
            ("cmdline", "nc -e /bin/sh"),
            ("dst_ip", "203.0.113.9"),
            ("dst_port", ""),
        ]);
        let key = key_of(AlertKind::SuspiciousConnection, &c).unwrap();
        assert_eq!(key.keys().collect::<Vec<_>>(), ["cmdline", "dst_ip"]);
        // Malicious domain access is keyed by the domain alone.
        let d = ev(&[("domain", "pool.example"), ("process", "xmrig")]);
        assert_eq!(
            key_of(AlertKind::MaliciousNetworkAccess, &d).unwrap(),
            BTreeMap::from([("domain".to_string(), "pool.example".to_string())])
        );
        assert_eq!(key_of(AlertKind::Webshell, &e), None);
    }

    #[test]
    fn rules_match_key_and_scope_only() {
        let rule = Rule {
            id: 1,
            kind: AlertKind::AbnormalLogin,
            scope: Scope::Group("web".into()),
            fields: BTreeMap::from([("source_ip".to_string(), "198.51.100.7".to_string())]),
        };
        let hit = ev(&[("source_ip", "198.51.100.7"), ("user", "root")]);
        let other_ip = ev(&[("source_ip", "198.51.100.8")]);
        assert!(rule.matches(AlertKind::AbnormalLogin, &hit, "h-1", "web"));
        assert!(
            !rule.matches(AlertKind::AbnormalLogin, &hit, "h-1", "db"),
            "outside its group"
        );
        assert!(
            !rule.matches(AlertKind::BruteForce, &hit, "h-1", "web"),
            "another kind"
        );
        assert!(!rule.matches(AlertKind::AbnormalLogin, &other_ip, "h-1", "web"));
        let host_rule = Rule {
            scope: Scope::Host("h-2".into()),
            ..rule.clone()
        };
        assert!(!host_rule.matches(AlertKind::AbnormalLogin, &hit, "h-1", "web"));
        assert!(host_rule.matches(AlertKind::AbnormalLogin, &hit, "h-2", "db"));
        let empty = Rule {
            fields: BTreeMap::new(),
            ..rule.clone()
        };
        assert!(
            !empty.matches(AlertKind::AbnormalLogin, &hit, "h-1", "web"),
            "an empty rule whitelists nothing"
        );
        assert_eq!(
            first_match(
                &[empty, rule.clone()],
                AlertKind::AbnormalLogin,
                &hit,
                "h",
                "web"
            ),
            Some(&rule)
        );
    }
}
