//! Links alerts that concern the same thing on one host, so they can be handled together
//! (SPEC R-AL3: a miner, its pool connection and its domain are one incident).
//!
//! Two alerts are related when their evidence names the same running program (same `pid` and
//! the same `exe`: a pid alone can be reused, an executable alone is shared by unrelated
//! processes such as interpreters) or the same file content (`md5` or `sha256`).

fn field<'a>(evidence: &'a [(String, String)], name: &str) -> Option<&'a str> {
    evidence
        .iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// True when both alerts' evidence identifies the same process or the same file.
pub fn related(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let same =
        |name: &str| matches!((field(a, name), field(b, name)), (Some(x), Some(y)) if x == y);
    let process = same("pid") && same("exe") && field(a, "pid") != Some("0");
    process || same("md5") || same("sha256")
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
    fn same_process_or_same_file_relates() {
        let miner_port = ev(&[("pid", "4242"), ("exe", "/tmp/.x/xmrig"), ("port", "3333")]);
        let pool_conn = ev(&[
            ("pid", "4242"),
            ("exe", "/tmp/.x/xmrig"),
            ("dst_ip", "203.0.113.5"),
        ]);
        assert!(related(&miner_port, &pool_conn));
        let file = ev(&[("md5", "0123abcd"), ("path", "/var/www/x.php")]);
        let copy = ev(&[("md5", "0123abcd"), ("path", "/srv/y.php")]);
        assert!(related(&file, &copy));
    }

    #[test]
    fn shared_interpreters_reused_pids_and_blanks_do_not() {
        let a = ev(&[("pid", "100"), ("exe", "/usr/bin/python3")]);
        let b = ev(&[("pid", "200"), ("exe", "/usr/bin/python3")]);
        assert!(!related(&a, &b), "same interpreter, different processes");
        let reused = ev(&[("pid", "100"), ("exe", "/usr/sbin/nginx")]);
        assert!(!related(&a, &reused), "same pid, another program");
        let unknown = ev(&[("pid", "0"), ("exe", "")]);
        assert!(!related(&unknown, &unknown.clone()));
        assert!(!related(&ev(&[("md5", "")]), &ev(&[("md5", "")])));
    }
}
