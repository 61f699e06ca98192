//! The shipped credential-leak rules (`rules/secrets.toml`): each rule's true positives and the
//! look-alikes it must leave alone. Key-shaped values are assembled at run time so this file
//! is not itself a leak to a scanner.

use vigil_content::Content;
use vigil_detect::secrets::SecretRules;

fn rules() -> SecretRules {
    Content::build(&Default::default()).unwrap().secret_rules()
}

/// A value of `n` characters from `alphabet`, varied enough to pass the entropy floors.
fn key(alphabet: &str, n: usize, seed: usize) -> String {
    let a: Vec<char> = alphabet.chars().collect();
    (0..n)
        .map(|i| a[(i * 7 + seed * 13 + i * i) % a.len()])
        .collect()
}

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &str = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// (rule id, file path, text): each must be found by that rule, at line 2 where it says so.
fn positives() -> Vec<(&'static str, &'static str, String)> {
    let ltai = ["LT", "AI", &key(ALNUM, 20, 1)].concat();
    let ali_secret = key(ALNUM, 30, 2);
    let akia = ["AK", "IA", &key(UPPER, 16, 3)].concat();
    let aws_secret = key(B64, 40, 4);
    let pem_body = key(B64, 64, 5);
    vec![
        (
            "alibaba-accesskey",
            "/var/www/app/.env",
            format!("# app\nALIBABA_CLOUD_ACCESS_KEY_ID={ltai}\nALIBABA_CLOUD_ACCESS_KEY_SECRET={ali_secret}\n"),
        ),
        (
            "aws-accesskey",
            "/home/bob/.aws/credentials",
            format!("[default]\naws_access_key_id = {akia}\naws_secret_access_key = {aws_secret}\n"),
        ),
        (
            "gcp-service-account",
            "/srv/app/sa.json",
            format!("{{\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{pem_body}\\n-----END PRIVATE KEY-----\\n\",\n  \"type\": \"service_account\"\n}}\n"),
        ),
        (
            "azure-storage-key",
            "/srv/app/appsettings.json",
            format!("x\nDefaultEndpointsProtocol=https;AccountName=shop;AccountKey={}==;EndpointSuffix=core.windows.net\n", key(B64, 86, 6)),
        ),
        (
            "github-token",
            "/root/.bash_history",
            format!("ls\ngit clone https://{}@github.com/acme/app\n", ["gh", "p_", &key(ALNUM, 36, 7)].concat()),
        ),
        (
            "gitlab-token",
            "/etc/gitlab-runner/env",
            format!("#\nTOKEN={}\n", ["glp", "at-", &key(ALNUM, 20, 8)].concat()),
        ),
        (
            "slack-token",
            "/opt/bot/config.yml",
            format!("bot:\n  token: {}-{}\n", ["xo", "xb-123456789012-1234567890123"].concat(), key(ALNUM, 24, 9)),
        ),
        (
            "slack-webhook",
            "/opt/alerts/hook.sh",
            format!("#!/bin/sh\ncurl -X POST https://hooks.slack.com/services/T0ABCDEF1/B0GHIJKL2/{}\n", key(ALNUM, 24, 10)),
        ),
        (
            "private-key",
            "/var/www/html/backup/server.key",
            format!("\n-----BEGIN {}-----\n{}\n-----END RSA PRIVATE KEY-----\n", "RSA PRIVATE KEY", key(B64, 64, 11)),
        ),
        (
            "jwt-secret",
            "/srv/api/.env",
            format!("PORT=80\nJWT_SECRET={}\n", key(ALNUM, 32, 12)),
        ),
        (
            "database-url",
            "/srv/api/.env",
            "DEBUG=0\nDATABASE_URL=postgres://app:Kq7-vR2m_Zp9x@db.internal:5432/app\n".to_string(),
        ),
    ]
}

#[test]
fn every_rule_finds_its_leak_masked() {
    let rules = rules();
    let cases = positives();
    let mut ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        rules.len(),
        "a positive case for every shipped rule"
    );
    for (id, path, text) in &cases {
        let found = rules.scan(path, text);
        assert!(
            found.iter().any(|f| f.rule == *id && f.line == 2),
            "{id}: {found:?}"
        );
        for f in &found {
            // No value of 8 or more characters from the text shows in the finding.
            let raw: Vec<&str> = text
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '/' && c != '+')
                .filter(|w| w.len() >= 12)
                .collect();
            for w in raw {
                assert!(!f.masked.contains(w), "{id}: {w} shows in {}", f.masked);
            }
        }
    }
}

#[test]
fn look_alikes_stay_quiet() {
    let rules = rules();
    let akia = ["AK", "IA", &key(UPPER, 16, 3)].concat();
    let pem = format!(
        "-----BEGIN {}-----\n{}\n",
        "OPENSSH PRIVATE KEY",
        key(B64, 70, 1)
    );
    let cases: Vec<(&str, String)> = vec![
        // AWS's documentation example pair.
        (
            "/usr/share/doc/awscli/README",
            format!("aws_access_key_id = {}EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "AKIAIOSFODNN7"),
        ),
        // An id without its secret is not a credential.
        ("/srv/app/config.ini", format!("key_id = {akia}\nregion = eu-west-1\n")),
        // Keys where they belong.
        ("/home/alice/.ssh/id_ed25519", pem.clone()),
        ("/etc/ssh/ssh_host_ed25519_key", pem),
        // Placeholders and code that reads the secret from elsewhere.
        ("/srv/api/.env.example", "JWT_SECRET=${JWT_SECRET}\nJWT_SECRET=changeme\n".into()),
        ("/srv/api/auth.php", "$jwt_key = getenv('JWT_KEY');\n".into()),
        ("/srv/api/config.js", "const jwtSecret = process.env.JWT_SECRET;\njwt_secret: aaaaaaaaaaaaaaaaaaaa\n".into()),
        (
            "/usr/share/doc/app/README.md",
            "DATABASE_URL=postgres://user:password@localhost/db\nmysql://root@localhost/test\nredis://:${REDIS_PASSWORD}@cache:6379\nmongodb://<user>:<password>@host\n".into(),
        ),
        // Token prefixes in prose and short strings.
        ("/usr/share/doc/gh/FAQ", "Tokens start with ghp_ or github_pat_ and look like ghp_xxxx.\n".into()),
        ("/usr/share/doc/slack/notes", "Bot tokens begin with xoxb- followed by numbers.\n".into()),
    ];
    for (path, text) in &cases {
        let found = rules.scan(path, text);
        assert!(found.is_empty(), "{path}: {found:?}");
    }
}

#[test]
fn a_rule_that_does_not_compile_is_refused_with_its_name() {
    let text = "[[rule]]\nid = \"broken\"\nname = \"x\"\nlevel = \"urgent\"\nkeywords = [\"k\"]\npattern = \"(unclosed\"\n";
    let overrides = [("rules/secrets.toml".to_string(), text.to_string())]
        .into_iter()
        .collect();
    let e = Content::build(&overrides).unwrap_err();
    assert_eq!(e.file, "rules/secrets.toml");
    assert!(e.message.contains("rule broken: pattern"), "{e}");
}
