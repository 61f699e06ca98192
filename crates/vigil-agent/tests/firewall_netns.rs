//! Real nftables blocks between two network namespaces: a source in one namespace is cut off
//! from a port in the other, and let through again after an unblock or when the timeout runs out.
//!
//! Needs root, `ip` (iproute2), `nft` (nftables, installed by scripts/setup.sh) and python3 for
//! the listener; the machine's own ruleset is never touched.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vigil_agent::firewall::{Direction, Firewall, Protected};
use vigil_detect::ip::Cidr;

/// Two namespaces joined by a veth pair: `a` (10.231.N.1, the client) and `b` (10.231.N.2, the
/// protected host, where Vigil's table lives). Removed on drop.
struct Pair {
    a: String,
    b: String,
    a_ip: String,
    b_ip: String,
    listener: Option<Child>,
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pair {
    fn new(tag: &str, subnet: u8) -> Pair {
        let id = std::process::id() % 100_000;
        let a = format!("vg{tag}a{id}");
        let b = format!("vg{tag}b{id}");
        let (va, vb) = (format!("va{tag}{id}"), format!("vb{tag}{id}"));
        let a_ip = format!("10.231.{subnet}.1");
        let b_ip = format!("10.231.{subnet}.2");
        let pair = Pair {
            a: a.clone(),
            b: b.clone(),
            a_ip: a_ip.clone(),
            b_ip: b_ip.clone(),
            listener: None,
        };
        run(&["ip", "netns", "add", &a]);
        run(&["ip", "netns", "add", &b]);
        run(&[
            "ip", "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b,
        ]);
        for (ns, dev, ip) in [(&a, &va, &a_ip), (&b, &vb, &b_ip)] {
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                dev,
            ]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// A TCP listener on `b_ip:port` in namespace b that accepts and closes connections.
    fn listen(&mut self, port: u16) {
        let script = format!(
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('{}',{port}))\ns.listen(64)\nprint('ready',flush=True)\n\
             while True:\n    c,_=s.accept()\n    c.close()\n",
            self.b_ip
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.b, "python3", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 listener");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        self.listener = Some(child);
    }

    /// Whether a TCP connection from namespace a to b's port succeeds within 700 ms.
    fn connects(&self, port: u16) -> bool {
        let script = format!(
            "import socket,sys\ns=socket.socket()\ns.settimeout(0.7)\n\
             try:\n    s.connect(('{}',{port}))\nexcept Exception:\n    sys.exit(1)\n",
            self.b_ip
        );
        Command::new("ip")
            .args(["netns", "exec", &self.a, "python3", "-c", &script])
            .status()
            .expect("python3 client")
            .success()
    }

    /// Whether namespace b reaches a's address at all, for the outbound direction: a refused
    /// connection (nothing listens on a's port 9) proves the packets got there; a timeout, not.
    fn b_reaches_a(&self) -> bool {
        let script = format!(
            "import socket,sys\ns=socket.socket()\ns.settimeout(0.7)\n\
             try:\n    s.connect(('{}',9))\nexcept ConnectionRefusedError:\n    sys.exit(0)\n\
             except Exception:\n    sys.exit(1)\n",
            self.a_ip
        );
        Command::new("ip")
            .args(["netns", "exec", &self.b, "python3", "-c", &script])
            .status()
            .expect("python3 client")
            .success()
    }

    fn firewall(&self) -> Firewall {
        Firewall::new(vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.b.clone(),
            "nft".into(),
        ])
    }

    fn nft_b(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.b, "nft"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        if let Some(mut c) = self.listener.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn block_unblock_and_expiry_between_namespaces() {
    let mut p = Pair::new("f", 1);
    p.listen(8022);
    assert!(p.connects(8022), "the path works before any block");

    // Someone else's table in the same namespace must come through untouched.
    p.nft_b(&["add", "table", "inet", "theirs"]);
    p.nft_b(&[
        "add", "chain", "inet", "theirs", "c", "{", "type", "filter", "hook", "input", "priority",
        "0", ";", "}",
    ]);
    p.nft_b(&[
        "add", "rule", "inet", "theirs", "c", "tcp", "dport", "9999", "accept",
    ]);
    let theirs_before = p.nft_b(&["list", "table", "inet", "theirs"]);

    let fw = p.firewall();
    fw.ensure().unwrap();
    fw.ensure().unwrap(); // idempotent: no duplicate rules
    let table = p.nft_b(&["list", "table", "inet", "vigil"]);
    assert_eq!(table.matches("ip saddr @in4 drop").count(), 2, "{table}");

    // A permanent block cuts the source off; the element is listed back.
    fw.block(&p.a_ip, Direction::In, None).unwrap();
    assert!(!p.connects(8022), "blocked source still connects");
    let listed = fw.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target, format!("{}/32", p.a_ip));
    assert_eq!(listed[0].expires_in, None);

    // Restarting the agent rebuilds the chains but keeps the blocks in force.
    fw.ensure().unwrap();
    assert!(!p.connects(8022), "a restart lifted the block");

    // Unblock lets it through at once; a second unblock is not an error.
    assert!(fw.unblock(&p.a_ip, Direction::In).unwrap());
    assert!(p.connects(8022), "unblocked source still cut off");
    assert!(!fw.unblock(&p.a_ip, Direction::In).unwrap());

    // A timed block ends by itself, with no agent involved: nftables expires the element.
    fw.block(&format!("{}/30", p.a_ip), Direction::In, Some(2))
        .unwrap();
    assert!(!p.connects(8022));
    let listed = fw.list().unwrap();
    assert_eq!(listed[0].target, "10.231.1.0/30");
    assert!(listed[0].expires_in.is_some_and(|s| s <= 2));
    wait_until("the 2 s block expires", Duration::from_secs(6), || {
        p.connects(8022)
    });
    assert!(fw.list().unwrap().is_empty());

    // Re-blocking an address already blocked replaces its timeout instead of failing.
    fw.block(&p.a_ip, Direction::In, Some(1)).unwrap();
    fw.block(&p.a_ip, Direction::In, Some(3600)).unwrap();
    let listed = fw.list().unwrap();
    assert!(listed[0].expires_in.is_some_and(|s| s > 3000), "{listed:?}");
    assert!(fw.unblock(&p.a_ip, Direction::In).unwrap());

    // Outbound: b can no longer reach a.
    assert!(p.b_reaches_a());
    fw.block(&p.a_ip, Direction::Out, Some(60)).unwrap();
    assert!(!p.b_reaches_a(), "outbound block did not drop");
    fw.unblock(&p.a_ip, Direction::Out).unwrap();
    assert!(p.b_reaches_a());

    // Protected addresses are refused and nothing is added.
    let mut guarded = p.firewall();
    guarded.set_protected(vec![Protected {
        net: Cidr::parse(&p.a_ip).unwrap(),
        why: "the management server".into(),
    }]);
    let err = guarded
        .block("10.231.1.0/24", Direction::In, None)
        .unwrap_err();
    assert!(err.to_string().contains("management server"), "{err}");
    assert!(fw.list().unwrap().is_empty());
    assert!(p.connects(8022));

    // A failing nft is an error with nft's own words, not a silent no-op.
    let err = fw.block("10.231.1.7/33", Direction::In, None).unwrap_err();
    assert!(
        err.to_string().contains("not an IP address or CIDR"),
        "{err}"
    );

    // Removing Vigil's table leaves the other one exactly as it was.
    fw.block(&p.a_ip, Direction::In, None).unwrap();
    fw.remove_table().unwrap();
    fw.remove_table().unwrap();
    assert!(p.connects(8022));
    assert_eq!(p.nft_b(&["list", "table", "inet", "theirs"]), theirs_before);
}

#[test]
fn missing_nft_is_a_clear_error() {
    let fw = Firewall::new(vec!["/nonexistent/nft".into()]);
    let err = fw.ensure().unwrap_err().to_string();
    assert!(err.contains("nftables package"), "{err}");
}

/// The IP policy library end to end: an operator blocks an address through the API, the real
/// agent applies it with nft inside namespace b, the rule shows `applied`; disabling it lifts the
/// block at once and the rule shows `removed` on the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_library_blocks_through_the_agent() {
    use serde_json::{json, Value};
    use std::sync::Arc;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut p = Pair::new("e", 2);
    p.listen(8023);
    assert!(p.connects(8023));

    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let store = vigil_store::open(&format!("sqlite://{}", server_dir.join("v.db").display()))
        .await
        .unwrap();
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &server_dir, 0)
        .await
        .unwrap()
        .unwrap();
    let mut cfg = vigil_server::ServerConfig::new(server_dir.clone());
    cfg.api_listen = "127.0.0.1:0".parse().unwrap();
    cfg.agent_listen = "127.0.0.1:0".parse().unwrap();
    cfg.heartbeat_secs = 1;
    let server = vigil_server::start(cfg, store.clone(), Arc::new(vigil_server::SystemClock))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.api_addr);
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let (http, base, token) = (http.clone(), base.clone(), creds.api_token.clone());
        async move {
            let mut req = if method == "GET" {
                http.get(format!("{base}{path}"))
            } else {
                http.post(format!("{base}{path}"))
            }
            .bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, code) = call("POST", "/api/v1/install-codes".into(), Some(json!({}))).await;
    let agent_dir = dir.path().join("agent");
    let url = format!("https://127.0.0.1:{}", server.agent_addr.port());
    let id = vigil_agent::enroll(
        &url,
        code["code"].as_str().unwrap(),
        &server.ca_fingerprint,
        &agent_dir,
    )
    .await
    .unwrap();
    let mut acfg = vigil_agent::AgentConfig::new(agent_dir.clone());
    acfg.nft = vec![
        "ip".into(),
        "netns".into(),
        "exec".into(),
        p.b.clone(),
        "nft".into(),
    ];
    let (stop, rx) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(vigil_agent::run(acfg, rx));

    let state_on_host = |rule: i64, want: &'static str| async move {
        let start = Instant::now();
        loop {
            let (_, v) = call("GET", "/api/v1/ip-rules".into(), None).await;
            let rule = v["rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == rule)
                .cloned()
                .unwrap();
            if rule["on_hosts"][0]["state"] == want {
                return rule;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "rule never became {want}: {rule}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    let (s, made) = call(
        "POST",
        "/api/v1/ip-rules".into(),
        Some(json!({"target": p.a_ip, "hosts": [id.host_id], "duration": "12h", "reason": "scanner"})),
    )
    .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(made["sent_to_hosts"], 1);
    let rule_id = made["id"].as_i64().unwrap();
    let rule = state_on_host(rule_id, "applied").await;
    assert!(
        rule["on_hosts"][0]["message"]
            .as_str()
            .unwrap()
            .contains("blocked (in) until"),
        "{rule}"
    );
    assert!(!p.connects(8023), "the block reached nftables");
    let listed = p.firewall().list().unwrap();
    assert!(
        listed[0].expires_in.is_some_and(|s| s > 43_000),
        "{listed:?}"
    );

    let (s, v) = call("POST", format!("/api/v1/ip-rules/{rule_id}/disable"), None).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("disabled")), "{v}");
    state_on_host(rule_id, "removed").await;
    assert!(p.connects(8023), "disabling the rule lifted the block");
    let (s, _) = call("POST", format!("/api/v1/ip-rules/{rule_id}/disable"), None).await;
    assert_eq!(s, 409);

    // nft failing on the host is reported on the rule with nft's words (an overlapping
    // interval is refused by nftables itself).
    p.firewall()
        .block("10.231.2.0/24", Direction::In, Some(600))
        .unwrap();
    let (_, made) = call(
        "POST",
        "/api/v1/ip-rules".into(),
        Some(json!({"target": "10.231.2.0/25", "hosts": [id.host_id], "duration": "1h"})),
    )
    .await;
    let rule = state_on_host(made["id"].as_i64().unwrap(), "failed").await;
    assert!(
        rule["on_hosts"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("nft failed:"),
        "{rule}"
    );

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    server.stop().await;
}

/// Brute force end to end: failed SSH logins appended to a followed log make the agent block
/// the source in nftables by itself, within a poll; the server shows the alert as blocked and
/// the block as a system rule applied on the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_in_a_followed_log_is_blocked() {
    use serde_json::Value;
    use std::io::Write;
    use std::sync::Arc;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut p = Pair::new("b", 3);
    p.listen(8024);
    assert!(p.connects(8024));

    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let store = vigil_store::open(&format!("sqlite://{}", server_dir.join("v.db").display()))
        .await
        .unwrap();
    let creds = vigil_server::bootstrap_admin(store.as_ref(), &server_dir, 0)
        .await
        .unwrap()
        .unwrap();
    let mut cfg = vigil_server::ServerConfig::new(server_dir.clone());
    cfg.api_listen = "127.0.0.1:0".parse().unwrap();
    cfg.agent_listen = "127.0.0.1:0".parse().unwrap();
    cfg.heartbeat_secs = 1;
    let server = vigil_server::start(cfg, store.clone(), Arc::new(vigil_server::SystemClock))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, base, token) = (
            http.clone(),
            format!("http://{}", server.api_addr),
            creds.api_token.clone(),
        );
        async move {
            http.get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let code = http
        .post(format!("http://{}/api/v1/install-codes", server.api_addr))
        .bearer_auth(&creds.api_token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let agent_dir = dir.path().join("agent");
    let url = format!("https://127.0.0.1:{}", server.agent_addr.port());
    vigil_agent::enroll(
        &url,
        code["code"].as_str().unwrap(),
        &server.ca_fingerprint,
        &agent_dir,
    )
    .await
    .unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let mut acfg = vigil_agent::AgentConfig::new(agent_dir.clone());
    acfg.nft = vec![
        "ip".into(),
        "netns".into(),
        "exec".into(),
        p.b.clone(),
        "nft".into(),
    ];
    acfg.login_logs = vec![log.clone()];
    acfg.login_poll_ms = 100;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(vigil_agent::run(acfg, rx));
    tokio::time::sleep(Duration::from_millis(500)).await; // the follower has seen the file

    let put = |body: Value| {
        let (http, base, token) = (
            http.clone(),
            format!("http://{}", server.api_addr),
            creds.api_token.clone(),
        );
        async move {
            let r = http
                .put(format!("{base}/api/v1/login-settings"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = put(serde_json::json!({"max_failures": 7})).await;
    assert_eq!(s, 400, "{v}");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let now = chrono_like_now();
    let mut fail = |n: usize| {
        for i in 0..n {
            writeln!(
                f,
                "{now} web1 sshd[4242]: Failed password for root from {} port {} ssh2",
                p.a_ip,
                40_000 + i
            )
            .unwrap();
        }
        f.flush().unwrap();
    };

    // An access-whitelisted source is never blocked, however often it fails.
    let (s, v) = put(
        serde_json::json!({"max_failures": 10, "span_mins": 1, "block_mins": 30,
        "access_whitelist": [format!("{}/30", p.a_ip)]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["access_whitelist"][0], "10.231.3.0/30");
    tokio::time::sleep(Duration::from_millis(2500)).await; // a heartbeat brings the settings
    fail(11);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(p.connects(8024), "a whitelisted source was blocked");

    // Without the whitelist: 10 failures are not more than 10; the 11th blocks within a poll.
    let (s, _) =
        put(serde_json::json!({"max_failures": 10, "span_mins": 1, "block_mins": 30})).await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    fail(10);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        p.connects(8024),
        "blocked at 10 failures; the rule is more than 10"
    );
    let appended = Instant::now();
    fail(1);
    wait_until(
        "the 11th failure blocks the source",
        Duration::from_secs(10),
        || !p.connects(8024),
    );
    let took = appended.elapsed();
    assert!(took < Duration::from_secs(5), "block took {took:?}");
    let listed = p.firewall().list().unwrap();
    assert_eq!(listed[0].target, format!("{}/32", p.a_ip));
    assert!(
        listed[0].expires_in.is_some_and(|s| s > 1700 && s <= 1800),
        "{listed:?}"
    );

    let start = Instant::now();
    loop {
        let alerts = get("/api/v1/alerts?kind=brute_force".into()).await;
        let rules = get("/api/v1/ip-rules".into()).await;
        let blocked = alerts["alerts"][0]["status"] == "blocked";
        let applied = rules["rules"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["origin"] == "system" && r["on_hosts"][0]["state"] == "applied")
        });
        if blocked && applied {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{alerts} {rules}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let attacks = get("/api/v1/attacks".into()).await;
    // Failures are summed up once a minute; the block is counted at once.
    assert_eq!(attacks["days"][0]["blocks"], 1, "{attacks}");

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    server.stop().await;
}

/// The current time as RFC 3339 syslog (rsyslog's default on Debian 12) writes it.
fn chrono_like_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}
