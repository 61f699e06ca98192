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
