//! The shipped baseline pack: every check's passing fixtures pass and its failing fixtures
//! fail, with evidence; the pack is as wide as promised; a bad added pack is refused by name.

use std::collections::{BTreeMap, BTreeSet};
use vigil_content::Content;
use vigil_detect::baseline::{Category, Status, Test};

#[test]
fn every_fixture_of_every_check_judges_as_it_says() {
    let content = Content::embedded();
    let mut wrong = Vec::new();
    let mut judged = 0;
    for check in &content.baseline {
        for (want, fixtures) in [(Status::Passed, &check.pass), (Status::Failed, &check.fail)] {
            for (i, fixture) in fixtures.iter().enumerate() {
                let r = check.evaluate(&fixture.facts());
                judged += 1;
                if r.status != want || r.evidence.trim().is_empty() {
                    wrong.push(format!(
                        "{} {} fixture {i}: {} ({})",
                        check.id,
                        want.as_str(),
                        r.status.as_str(),
                        r.evidence
                    ));
                }
            }
        }
    }
    assert!(judged >= 2 * content.baseline.len(), "{judged} fixtures");
    assert!(
        wrong.is_empty(),
        "{} of {judged}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_pack_covers_every_family_with_at_least_150_checks() {
    let checks = Content::embedded().baseline;
    assert!(checks.len() >= 150, "{} checks", checks.len());
    let categories: BTreeSet<Category> = checks.iter().map(|c| c.category).collect();
    assert_eq!(categories.len(), 8, "{categories:?}");
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &checks {
        *per_family
            .entry(c.id.split('.').next().unwrap())
            .or_default() += 1;
        assert!(
            !c.wanted().is_empty()
                || matches!(
                    c.test,
                    Test::Ports { .. }
                        | Test::PortPair { .. }
                        | Test::Credentials { .. }
                        | Test::UnpackagedListeners { .. }
                ),
            "{}",
            c.id
        );
    }
    for family in [
        "ssh",
        "sysctl",
        "files",
        "accounts",
        "services",
        "logging",
        "modules",
        "mounts",
        "misc",
        "passwords",
        "config",
    ] {
        assert!(
            per_family.get(family).copied().unwrap_or(0) >= 3,
            "{family}: {per_family:?}"
        );
    }
}

#[test]
fn an_added_pack_joins_and_a_bad_one_is_refused_by_name() {
    let extra = r#"
[[check]]
id = "site.motd-present"
title = "A message of the day is set"
category = "other"
level = "low"
examines = "Whether /etc/motd exists."
test = { type = "exists", path = "/etc/motd", must = "present" }
remediation = "Write the site's notice to /etc/motd."
[[check.pass]]
files = { "/etc/motd" = "Authorised use only\n" }
[[check.fail]]
files = {}
"#;
    let with = |path: &str, text: &str| BTreeMap::from([(path.to_string(), text.to_string())]);
    let c = Content::build(&with("baseline/site.toml", extra)).unwrap();
    assert_eq!(c.baseline.len(), Content::embedded().baseline.len() + 1);
    assert_eq!(c.baseline.last().unwrap().id, "site.motd-present");

    let cases = [
        (
            "baseline/site.toml",
            extra.replace("site.motd-present", "ssh.permit-root-login"),
            "used twice",
        ),
        (
            "baseline/site.toml",
            extra.replace("[[check.fail]]\nfiles = {}\n", ""),
            "failing fixture",
        ),
        (
            "baseline/site.toml",
            extra.replace("\"exists\"", "\"telepathy\""),
            "telepathy",
        ),
        (
            "baseline/site.toml",
            extra.replace("level = \"low\"", "level = \"dire\""),
            "dire",
        ),
        (
            "baseline/sub/x.toml",
            extra.to_string(),
            "not a content file",
        ),
    ];
    for (path, text, want) in cases {
        let e = Content::build(&with(path, &text)).unwrap_err();
        assert!(e.to_string().contains(want), "{path}: {e}");
        assert!(e.to_string().starts_with("baseline/"), "{e}");
    }
}
