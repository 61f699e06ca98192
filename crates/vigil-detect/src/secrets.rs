//! Credential leaks in file contents (SPEC R-AK1): cloud access-key pairs, service-account keys,
//! tokens, private keys, JWT signing secrets and database URLs with passwords.
//!
//! The rules are data (`rules/secrets.toml`): keywords that must appear before a rule's pattern
//! runs (the prefilter that keeps a scan cheap), the pattern whose first group is the secret,
//! optionally a partner pattern that must match within a few lines (an access-key id is not a
//! leak without its secret), an entropy floor for the secret, placeholder values and paths where
//! such a key is in its place (`~/.ssh/id_ed25519`). Known documentation examples are allowed.
//!
//! A finding holds the secret **masked**: the full value never leaves [`SecretRules::scan`].

use std::collections::HashSet;

use regex::Regex;
use vigil_model::Level;

/// The `rules/secrets.toml` file.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SecretsFile {
    /// Values that are published examples, never real keys (`AKIAIOSFODNN7EXAMPLE`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub allow: Vec<String>,
    pub rule: Vec<SecretSpec>,
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SecretSpec {
    pub id: String,
    pub name: String,
    pub level: Level,
    /// At least one must appear in the file (ASCII case ignored) for the rule to run.
    pub keywords: Vec<String>,
    /// A regular expression; its first group (or the whole match) is the value reported.
    pub pattern: String,
    /// The partner secret, within `pair_lines` lines of the match; its first group is the secret.
    #[cfg_attr(feature = "serde", serde(default))]
    pub pair: Option<String>,
    #[cfg_attr(feature = "serde", serde(default = "default_pair_lines"))]
    pub pair_lines: usize,
    /// The secret's Shannon entropy in bits per character must reach this.
    #[cfg_attr(feature = "serde", serde(default))]
    pub min_entropy: f64,
    /// Every one must appear in the file too (ASCII case ignored).
    #[cfg_attr(feature = "serde", serde(default))]
    pub requires: Vec<String>,
    /// A secret matching this regular expression is a placeholder (`${DB_PASSWORD}`, `xxxx`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub placeholder: Option<String>,
    /// Paths containing one of these hold such keys by design (a user's `/.ssh/`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub skip_paths: Vec<String>,
}

fn default_pair_lines() -> usize {
    3
}

/// A leak found in a file.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SecretFinding {
    pub rule: String,
    pub name: String,
    pub level: Level,
    /// 1-based line where the match starts.
    pub line: usize,
    /// The value (and its partner) masked: a few characters at each end kept.
    pub masked: String,
    /// Why it was reported (`keyword LTAI`, `paired secret`, `entropy 4.6`).
    pub signals: Vec<String>,
}

#[derive(Debug)]
struct Rule {
    spec: SecretSpec,
    keywords: Vec<String>,
    requires: Vec<String>,
    pattern: Regex,
    pair: Option<Regex>,
    placeholder: Option<Regex>,
}

/// The compiled rules.
#[derive(Debug)]
pub struct SecretRules {
    rules: Vec<Rule>,
    allow: HashSet<String>,
}

/// Matched values longer than this are cut before masking (a key body is reported by its ends).
const MAX_VALUE: usize = 4_096;
/// Findings reported per file at most (a dump of keys is one problem, not thousands).
pub const MAX_FINDINGS_PER_FILE: usize = 50;

impl SecretRules {
    /// Compiles `file`'s rules: an invalid regular expression, an empty keyword list or a
    /// repeated id is an error naming the rule.
    pub fn new(file: SecretsFile) -> Result<SecretRules, String> {
        let mut ids = HashSet::new();
        let mut rules = Vec::with_capacity(file.rule.len());
        for spec in file.rule {
            let err =
                |what: &str, e: &dyn std::fmt::Display| format!("rule {}: {what}: {e}", spec.id);
            if !ids.insert(spec.id.clone()) {
                return Err(format!("rule {}: the id is used twice", spec.id));
            }
            if spec.keywords.iter().all(|k| k.trim().is_empty()) {
                return Err(format!("rule {}: keywords is empty", spec.id));
            }
            let compile = |p: &str| regex::RegexBuilder::new(p).size_limit(1 << 20).build();
            let pattern = compile(&spec.pattern).map_err(|e| err("pattern", &e))?;
            let pair = match &spec.pair {
                Some(p) => Some(compile(p).map_err(|e| err("pair", &e))?),
                None => None,
            };
            let placeholder = match &spec.placeholder {
                Some(p) => Some(compile(p).map_err(|e| err("placeholder", &e))?),
                None => None,
            };
            let lower = |v: &[String]| v.iter().map(|k| k.to_ascii_lowercase()).collect();
            rules.push(Rule {
                keywords: lower(&spec.keywords),
                requires: lower(&spec.requires),
                pattern,
                pair,
                placeholder,
                spec,
            });
        }
        Ok(SecretRules {
            rules,
            allow: file.allow.into_iter().collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The leaks in one file's text, by line.
    pub fn scan(&self, path: &str, text: &str) -> Vec<SecretFinding> {
        let lower = text.to_ascii_lowercase();
        let mut out = Vec::new();
        let mut line_starts: Option<Vec<usize>> = None;
        for rule in &self.rules {
            let Some(keyword) = rule.keywords.iter().find(|k| lower.contains(k.as_str())) else {
                continue;
            };
            if !rule.requires.iter().all(|k| lower.contains(k.as_str())) {
                continue;
            }
            if rule
                .spec
                .skip_paths
                .iter()
                .any(|p| path.contains(p.as_str()))
            {
                continue;
            }
            let starts = line_starts.get_or_insert_with(|| line_starts_of(text));
            for caps in rule.pattern.captures_iter(text) {
                if out.len() >= MAX_FINDINGS_PER_FILE {
                    return out;
                }
                let whole = caps.get(0).expect("group 0");
                let value = caps.get(1).unwrap_or(whole);
                let line = line_of(starts, whole.start());
                if let Some(f) = self.judge(rule, keyword, text, starts, line, value) {
                    out.push(f);
                }
            }
        }
        out.sort_by_key(|f| f.line);
        out
    }

    /// One match of `rule`: a finding, or `None` when it is an example, a placeholder, too
    /// plain, or an id without its partner.
    fn judge(
        &self,
        rule: &Rule,
        keyword: &str,
        text: &str,
        starts: &[usize],
        line: usize,
        value: regex::Match<'_>,
    ) -> Option<SecretFinding> {
        let v = value.as_str();
        if self.allow.contains(v) || rule.placeholder.as_ref().is_some_and(|p| p.is_match(v)) {
            return None;
        }
        let mut signals = vec![format!("keyword {keyword}")];
        let (secret, masked) = match &rule.pair {
            Some(pair) => {
                // The partner within `pair_lines` lines either side.
                let from = starts[line.saturating_sub(1 + rule.spec.pair_lines)];
                let to = starts
                    .get(line + rule.spec.pair_lines)
                    .copied()
                    .unwrap_or(text.len());
                let window = &text[from..to];
                let partner = pair.captures_iter(window).find_map(|c| {
                    let s = c.get(1).or_else(|| c.get(0))?.as_str();
                    (!self.allow.contains(s) && s != v).then_some(s)
                })?;
                signals.push("paired secret".to_string());
                (partner, format!("{} / {}", mask(v), mask(partner)))
            }
            None => (v, mask(v)),
        };
        if rule.spec.min_entropy > 0.0 {
            let e = entropy(secret);
            if e < rule.spec.min_entropy {
                return None;
            }
            signals.push(format!("entropy {e:.1}"));
        }
        Some(SecretFinding {
            rule: rule.spec.id.clone(),
            name: rule.spec.name.clone(),
            level: rule.spec.level,
            line,
            masked,
            signals,
        })
    }
}

fn line_starts_of(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    v
}

/// The 1-based line holding byte `at`.
fn line_of(starts: &[usize], at: usize) -> usize {
    starts.partition_point(|&s| s <= at)
}

/// Shannon entropy of `s` in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// `s` with all but a few characters at each end replaced by `*`: at most three tenths of a
/// value show (up to 4 at the start, 2 at the end); values under 8 characters show nothing.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().take(MAX_VALUE).collect();
    let n = chars.len();
    if n < 8 {
        return "*".repeat(n.max(4));
    }
    let head = (n / 5).clamp(1, 4);
    let tail = (n / 10).clamp(1, 2);
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat((n - head - tail).min(32)));
    out.extend(&chars[n - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask("abc"), "****");
        assert_eq!(mask("LTAI5tAbCdEfGhIjKlMn"), "LTAI**************Mn");
        assert_eq!(mask("abcdefgh"), "a******h");
        let m = mask("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz");
        assert!(m.starts_with("wJal") && m.ends_with("zz") && m.contains("****"));
        assert!(!m.contains("XUtnFEMI"));
    }

    #[test]
    fn entropy_separates_keys_from_words() {
        assert!(entropy("aaaaaaaaaaaaaaaa") < 0.1);
        assert!(entropy("password") < 3.0);
        assert!(entropy("q8Zr2LmX0vTb7Kp4Nw9Yc3Hd") > 4.0);
    }

    #[test]
    fn lines_are_found() {
        let s = line_starts_of("a\nbb\nccc");
        assert_eq!(line_of(&s, 0), 1);
        assert_eq!(line_of(&s, 2), 2);
        assert_eq!(line_of(&s, 5), 3);
    }
}
