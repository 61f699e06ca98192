//! The IP policy library (SPEC R-LG8): blocks of an address or network on chosen hosts, sent to
//! each agent as a signed command, with the outcome recorded per host. Disabling a rule unblocks
//! at once; a rule whose time is up is marked expired (nftables already dropped the element).

pub(crate) mod routes;

use crate::state::SharedState;
use vigil_detect::ip::Cidr;
use vigil_model::{IpRuleHostState, IpRuleStatus, RuleOrigin, Timestamp};
use vigil_proto::agent::{CommandAction, Direction};
use vigil_store::{CommandRecord, IpRuleRecord, NewIpRule, StoreError, TxWrite, Txn};

/// A block command waits at most this long for an offline host (a shorter rule waits less).
pub const BLOCK_COMMAND_TTL_SECS: i64 = 7 * 86_400;

/// Why a block request cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an operator or a defense rule asks for.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub target: String,
    pub direction: Direction,
    /// Host ids; empty means every host.
    pub hosts: Vec<String>,
    pub origin: RuleOrigin,
    pub reason: String,
    pub alert_id: Option<i64>,
    /// `None`: until disabled.
    pub expires_at: Option<Timestamp>,
    /// The operator confirmed a network wider than the configured prefix limit.
    pub confirm_wide: bool,
}

/// Parses and vets a target: a single address or a network, never loopback, unspecified or
/// the whole address space.
pub fn parse_target(target: &str) -> Result<Cidr, PolicyError> {
    let net = Cidr::parse(target).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    if net.prefix() == 0 || net.addr().is_loopback() || net.addr().is_unspecified() {
        return Err(PolicyError::Invalid(format!(
            "{net} cannot be blocked: loopback, unspecified and whole-internet targets are refused"
        )));
    }
    Ok(net)
}

/// The longest timed block (a longer one is `permanent`, said so explicitly).
pub const MAX_BLOCK_SECS: i64 = 366 * 86_400;

/// The addresses no rule may cover: the management server's own (the host in its public URL and
/// the addresses it listens on) and the configured ones (proxies).
fn never_blocked(st: &SharedState) -> Vec<std::net::IpAddr> {
    let mut out = st.config.never_block.clone();
    if let Some(ip) = crate::url_host(&st.public_url).and_then(|h| h.parse().ok()) {
        out.push(ip);
    }
    for a in [st.config.agent_listen, st.config.api_listen] {
        if !a.ip().is_unspecified() {
            out.push(a.ip());
        }
    }
    out
}

/// The policy checks beyond the target's form: not wider than the prefix limit unless confirmed,
/// and not the server's or a proxy's address.
pub fn vet(st: &SharedState, net: &Cidr, confirm_wide: bool) -> Result<(), PolicyError> {
    let limit = if net.addr().is_ipv4() {
        st.config.max_block_prefix_v4
    } else {
        st.config.max_block_prefix_v6
    };
    if net.prefix() < limit && !confirm_wide {
        return Err(PolicyError::Invalid(format!(
            "{net} is wider than /{limit}: confirm a block this wide explicitly \
             (confirm_wide in the API, --confirm-wide on the command line)"
        )));
    }
    if let Some(ip) = never_blocked(st).into_iter().find(|ip| net.contains(*ip)) {
        return Err(PolicyError::Invalid(format!(
            "{net} cannot be blocked: it covers {ip}, an address of the management server or a \
             proxy, and agents would lose their way to it"
        )));
    }
    Ok(())
}

/// Records the rule and queues the block on each of its hosts. Returns the rule and the number
/// of hosts it was sent to.
pub async fn create(
    st: &SharedState,
    req: BlockRequest,
    by: &str,
) -> Result<(IpRuleRecord, usize), PolicyError> {
    let net = parse_target(&req.target)?;
    vet(st, &net, req.confirm_wide)?;
    let now = st.now();
    if req.expires_at.is_some_and(|t| t <= now) {
        return Err(PolicyError::Invalid(
            "the block would end before it starts".into(),
        ));
    }
    if req.expires_at.is_some_and(|t| t - now > MAX_BLOCK_SECS) {
        return Err(PolicyError::Invalid(format!(
            "a timed block lasts at most {} days; use permanent for longer",
            MAX_BLOCK_SECS / 86_400
        )));
    }
    let live: Vec<String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .filter(|h| h.uninstalled_at.is_none())
        .map(|h| h.id)
        .collect();
    for h in &req.hosts {
        if !live.contains(h) {
            return Err(PolicyError::NotFound(format!(
                "host {h} is not an enrolled, installed host"
            )));
        }
    }
    let targets = if req.hosts.is_empty() {
        live
    } else {
        req.hosts.clone()
    };
    let id = st
        .store
        .add_ip_rule(&NewIpRule {
            target: net.to_string(),
            direction: req.direction,
            hosts: req.hosts.clone(),
            origin: req.origin,
            reason: req.reason.clone(),
            alert_id: req.alert_id,
            created_at: now,
            created_by: by.into(),
            expires_at: req.expires_at,
        })
        .await?;
    let rule = st
        .store
        .ip_rule(id)
        .await?
        .ok_or_else(|| PolicyError::Invalid("rule vanished".into()))?;
    for host in &targets {
        send_block(st, &rule, host, by).await?;
    }
    tracing::info!(rule = id, target = %rule.rule.target, hosts = targets.len(), "IP block rule created");
    Ok((rule, targets.len()))
}

async fn send_block(
    st: &SharedState,
    rule: &IpRuleRecord,
    host: &str,
    by: &str,
) -> Result<(), StoreError> {
    let now = st.now();
    let action = CommandAction::BlockIp {
        rule_id: rule.id,
        target: rule.rule.target.clone(),
        direction: rule.rule.direction,
        until: rule.rule.expires_at,
    };
    let ttl = rule.rule.expires_at.map_or(BLOCK_COMMAND_TTL_SECS, |t| {
        (t - now).min(BLOCK_COMMAND_TTL_SECS)
    });
    let cmd =
        crate::commands::queue_for(st, host, rule.rule.alert_id, &action, by, ttl.max(1)).await?;
    st.store
        .set_ip_rule_host(
            rule.id,
            host,
            IpRuleHostState::Pending,
            &format!("command {cmd} queued"),
            now,
        )
        .await
}

/// Disables an active rule and queues the unblock on every host it reached or may reach.
pub async fn disable(st: &SharedState, id: i64, by: &str) -> Result<IpRuleRecord, PolicyError> {
    let now = st.now();
    let Some(rule) = st
        .store
        .end_ip_rule(id, IpRuleStatus::Disabled, now, by)
        .await?
    else {
        return Err(match st.store.ip_rule(id).await? {
            Some(r) => PolicyError::Conflict(format!("rule {id} is already {}", r.status)),
            None => PolicyError::NotFound(format!("IP rule {id} not found")),
        });
    };
    let direction = rule.rule.direction;
    for h in st.store.ip_rule_hosts(Some(id)).await? {
        if !matches!(
            h.state,
            IpRuleHostState::Pending | IpRuleHostState::Applied | IpRuleHostState::Failed
        ) {
            continue;
        }
        let action = CommandAction::UnblockIp {
            rule_id: id,
            target: rule.rule.target.clone(),
            direction,
        };
        let cmd =
            crate::commands::queue_for(st, &h.host_id, None, &action, by, BLOCK_COMMAND_TTL_SECS)
                .await?;
        st.store
            .set_ip_rule_host(
                id,
                &h.host_id,
                IpRuleHostState::Removing,
                &format!("command {cmd} queued"),
                now,
            )
            .await?;
    }
    Ok(rule)
}

/// Sends every active all-hosts rule to a host that just enrolled.
pub async fn on_enroll(st: &SharedState, host_id: &str) -> Result<(), StoreError> {
    for rule in st.store.ip_rules(Some(IpRuleStatus::Active)).await? {
        if rule.rule.hosts.is_empty() {
            send_block(st, &rule, host_id, "system").await?;
        }
    }
    Ok(())
}

/// Records a block or unblock command's outcome on its rule.
pub struct BlockListener;

#[async_trait::async_trait]
impl crate::commands::CommandListener for BlockListener {
    fn actions(&self) -> Option<&'static [&'static str]> {
        Some(&["block_ip", "unblock_ip"])
    }

    async fn finished(
        &self,
        st: &SharedState,
        cmd: &CommandRecord,
        outcome: &crate::commands::Outcome<'_>,
    ) -> Result<(), StoreError> {
        let (ok, message) = (outcome.ok, outcome.message);
        let (rule_id, unblock) = match serde_json::from_str::<CommandAction>(&cmd.params) {
            Ok(CommandAction::BlockIp { rule_id, .. }) => (rule_id, false),
            Ok(CommandAction::UnblockIp { rule_id, .. }) => (rule_id, true),
            _ => return Ok(()),
        };
        let state = match (unblock, ok) {
            (false, true) => IpRuleHostState::Applied,
            (true, true) => IpRuleHostState::Removed,
            (_, false) => IpRuleHostState::Failed,
        };
        // A block reported after its rule was disabled must not overwrite the removal in flight.
        if !unblock {
            let current = st.store.ip_rule_hosts(Some(rule_id)).await?;
            if current
                .iter()
                .any(|h| h.host_id == cmd.host_id && h.state == IpRuleHostState::Removing)
            {
                return Ok(());
            }
        }
        st.store
            .set_ip_rule_host(rule_id, &cmd.host_id, state, message, st.now())
            .await
    }
}

/// Marks rules whose time is up as expired, on every host too.
pub async fn expire(st: &SharedState) -> Result<usize, StoreError> {
    let now = st.now();
    let expired = st.store.expire_ip_rules(now).await?;
    for rule in &expired {
        for h in st.store.ip_rule_hosts(Some(rule.id)).await? {
            if matches!(h.state, IpRuleHostState::Applied | IpRuleHostState::Pending) {
                st.store
                    .set_ip_rule_host(rule.id, &h.host_id, IpRuleHostState::Expired, "", now)
                    .await?;
            }
        }
    }
    Ok(expired.len())
}

/// The blocks an agent applied on its own (brute-force rule), written with the batch that
/// reports them: the alert becomes `blocked`, and the block joins the library as a system rule
/// already applied on that host.
pub struct AgentBlocks {
    pub host: String,
    /// (alert key, alert name, what the agent did).
    pub blocks: Vec<(String, String, vigil_model::Response)>,
    pub now: Timestamp,
}

#[async_trait::async_trait]
impl TxWrite for AgentBlocks {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        let (host, now) = (self.host.as_str(), self.now);
        let active = tx.ip_rules(Some(IpRuleStatus::Active)).await?;
        for (key, name, r) in &self.blocks {
            let alert = tx
                .alert_by_key(host, vigil_model::AlertKind::BruteForce, key)
                .await?;
            if let Some(a) = &alert {
                tx.transition_alerts(
                    &[a.id],
                    &[
                        vigil_model::AlertStatus::Unhandled,
                        vigil_model::AlertStatus::Expired,
                    ],
                    vigil_model::AlertStatus::Blocked,
                    "agent",
                    &r.message,
                    now,
                )
                .await?;
            }
            let known = active.iter().any(|x| {
                x.rule.origin == RuleOrigin::System
                    && x.rule.target == r.target
                    && x.rule.hosts == [host]
            });
            if known || r.until.is_some_and(|u| u <= now) {
                continue;
            }
            // What the agent says it blocked becomes a rule only if it is an address to block.
            if let Err(e) = parse_target(&r.target) {
                tracing::warn!(%host, target = %r.target.chars().take(64).collect::<String>(), error = %e, "an agent reported a block of something that is not an address; no rule recorded");
                continue;
            }
            let id = tx
                .add_ip_rule(&NewIpRule {
                    target: r.target.clone(),
                    direction: Direction::In,
                    hosts: vec![host.to_string()],
                    origin: RuleOrigin::System,
                    reason: name.clone(),
                    alert_id: alert.map(|a| a.id),
                    created_at: now,
                    created_by: "agent".into(),
                    expires_at: r.until,
                })
                .await?;
            tx.set_ip_rule_host(id, host, IpRuleHostState::Applied, &r.message, now)
                .await?;
        }
        Ok(())
    }
}
