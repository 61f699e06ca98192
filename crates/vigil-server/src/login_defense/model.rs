//! The abnormal-login model on the server (SPEC R-LG2–R-LG6): the fleet's login policy and
//! malicious-IP list (settings, `GET/PUT /api/v1/login-policy`), each host's learned state (a
//! setting per host), and the alerts the successful logins of an event batch raise.
//!
//! The model is a stage of ingest: a batch is judged under its host's lock and what the model
//! learned commits with the batch, so a resent batch is judged again from the same state.

use crate::login_defense::geo::MmdbGeo;
use crate::pipeline::{Batch, IngestStage, Judged, Raised};
use crate::scoped::{self, Scoped};
use crate::state::SharedState;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use vigil_detect::bruteforce::SUCCESS_AFTER_SECS;
use vigil_detect::ip::{self, Cidr};
use vigil_detect::login_model::{
    Geo, HostLoginState, Inputs, LoginAlert, LoginModel, LoginPolicy, NoGeo, Place, TimeRange,
    TimeWindows,
};
use vigil_model::{AlertKind, AlertStatus, Event, EventBody, LoginEvent, LoginOutcome};
use vigil_store::{LoginFailureRow, StoreError, TxWrite, Txn};

/// The approved locations, IPs, times and accounts (vigil-detect's `LoginPolicy` as JSON).
pub const SETTING_POLICY: &str = "login_policy";
/// Threat-intelligence networks: a JSON array of CIDRs.
pub const SETTING_MALICIOUS: &str = "malicious_ips";
/// Followed by the host id: the host's learned `HostLoginState` as JSON.
const STATE_PREFIX: &str = "login_state:";
/// Entries at most in each list of the policy document.
pub const MAX_ENTRIES: usize = 10_000;
const MAX_NAME_LEN: usize = 64;
const MAX_REGION_LEN: usize = 100;
/// Local time may be 14 hours from UTC at most (UTC-12:00 to UTC+14:00 exist).
const MAX_UTC_OFFSET_MINS: i32 = 14 * 60;

/// What the server keeps for the model: the geolocation database.
pub struct Logins {
    geo: Option<MmdbGeo>,
}

impl Logins {
    pub fn new(geo: Option<MmdbGeo>) -> Logins {
        Logins { geo }
    }
}

/// The policy in force: what the model is configured with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub policy: LoginPolicy,
    pub malicious: Vec<Cidr>,
}

pub use vigil_proto::api::{PolicyDoc, TimesDoc};

fn check_len<T>(field: &str, list: &[T]) -> Result<(), String> {
    if list.len() > MAX_ENTRIES {
        return Err(format!(
            "{field}: {} entries, at most {MAX_ENTRIES}",
            list.len()
        ));
    }
    Ok(())
}

fn parse_place(s: &str) -> Result<Place, String> {
    let (country, region) = match s.trim().split_once('/') {
        Some((c, r)) => (c.trim(), Some(r.trim())),
        None => (s.trim(), None),
    };
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "{s:?}: the country must be a two-letter ISO 3166 code, as in \"JP\" or \"CN/Zhejiang\""
        ));
    }
    let country = country.to_ascii_uppercase();
    match region {
        None => Ok(Place::country(&country)),
        Some(r) if r.is_empty() || r.len() > MAX_REGION_LEN || r.chars().any(char::is_control) => {
            Err(format!(
                "{s:?}: the region must be 1 to {MAX_REGION_LEN} printable characters"
            ))
        }
        Some(r) => Ok(Place::region(&country, r)),
    }
}

fn parse_cidrs(field: &str, list: &[String]) -> Result<Vec<Cidr>, String> {
    check_len(field, list)?;
    let mut out = BTreeSet::new();
    for s in list {
        let c = Cidr::parse(s).map_err(|e| format!("{field}: {e}"))?;
        out.insert(c);
    }
    Ok(out.into_iter().collect())
}

/// Checking a [`PolicyDoc`] into the [`Policy`] it describes.
pub trait ValidatePolicy {
    /// Checks every entry; the first bad one is the error, naming its field.
    fn validate(&self) -> Result<Policy, String>;
}

impl ValidatePolicy for PolicyDoc {
    fn validate(&self) -> Result<Policy, String> {
        let locations = match &self.locations {
            None => None,
            Some(list) => {
                check_len("locations", list)?;
                let mut places: Vec<Place> = Vec::new();
                for s in list {
                    let p = parse_place(s).map_err(|e| format!("locations: {e}"))?;
                    if !places.contains(&p) {
                        places.push(p);
                    }
                }
                Some(places)
            }
        };
        let ips = match &self.ips {
            None => None,
            Some(list) => Some(parse_cidrs("ips", list)?),
        };
        let times = match &self.times {
            None => None,
            Some(t) => {
                if t.utc_offset_mins.abs() > MAX_UTC_OFFSET_MINS {
                    return Err(format!(
                        "times: utc_offset_mins {} is more than 14 hours from UTC",
                        t.utc_offset_mins
                    ));
                }
                check_len("times.ranges", &t.ranges)?;
                let ranges = t
                    .ranges
                    .iter()
                    .map(|r| TimeRange::parse(r).map_err(|e| format!("times: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(TimeWindows {
                    utc_offset_mins: t.utc_offset_mins,
                    ranges,
                })
            }
        };
        let accounts = match &self.accounts {
            None => None,
            Some(list) => {
                check_len("accounts", list)?;
                let mut set = BTreeSet::new();
                for a in list {
                    let name = a.trim();
                    if name.is_empty()
                        || name.len() > MAX_NAME_LEN
                        || name.chars().any(|c| c.is_whitespace() || c.is_control())
                    {
                        return Err(format!(
                            "accounts: {a:?} is not an account name (1 to {MAX_NAME_LEN} characters, no spaces)"
                        ));
                    }
                    set.insert(name.to_string());
                }
                Some(set)
            }
        };
        let malicious = parse_cidrs("malicious_ips", &self.malicious_ips)?;
        if let Some(all) = malicious.iter().find(|c| c.prefix() == 0) {
            return Err(format!(
                "malicious_ips: {all} covers every address, so every login would be malicious"
            ));
        }
        Ok(Policy {
            policy: LoginPolicy {
                locations,
                ips,
                times,
                accounts,
                location_alerts: self.location_alerts,
            },
            malicious,
        })
    }
}

impl Policy {
    pub fn to_doc(&self) -> PolicyDoc {
        let p = &self.policy;
        PolicyDoc {
            locations: p
                .locations
                .as_ref()
                .map(|l| l.iter().map(ToString::to_string).collect()),
            ips: p
                .ips
                .as_ref()
                .map(|l| l.iter().map(ToString::to_string).collect()),
            times: p.times.as_ref().map(|t| TimesDoc {
                utc_offset_mins: t.utc_offset_mins,
                ranges: t.ranges.iter().map(ToString::to_string).collect(),
            }),
            accounts: p.accounts.as_ref().map(|a| a.iter().cloned().collect()),
            location_alerts: p.location_alerts,
            malicious_ips: self.malicious.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A stored JSON setting; an unreadable one is logged and read as absent.
async fn json_setting<T: serde::de::DeserializeOwned>(
    st: &SharedState,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let Some(text) = st.store.setting(key).await? else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            tracing::error!(setting = key, error = %e, "stored login setting unreadable; ignored");
            Ok(None)
        }
    }
}

pub async fn load_policy(st: &SharedState) -> Result<Policy, StoreError> {
    Ok(Policy {
        policy: json_setting(st, SETTING_POLICY).await?.unwrap_or_default(),
        malicious: json_setting(st, SETTING_MALICIOUS)
            .await?
            .unwrap_or_default(),
    })
}

impl Scoped for LoginPolicy {
    const SETTING: &'static str = SETTING_POLICY;
    const WHAT: &'static str = "login policy";
}

/// The policy in force on a host: its own factors over its group's over the fleet's.
async fn effective_policy(st: &SharedState, host: &str) -> Result<Policy, StoreError> {
    let mut fleet = load_policy(st).await?;
    let group = st
        .store
        .host(host)
        .await?
        .map(|h| h.group)
        .unwrap_or_default();
    let [own, group, _] = scoped::chain::<LoginPolicy>(st, host, &group).await?;
    fleet.policy = LoginPolicy::merged(
        &own.unwrap_or_default(),
        &group.unwrap_or_default(),
        &fleet.policy,
    );
    Ok(fleet)
}

pub async fn save_policy(st: &SharedState, p: &Policy) -> Result<(), StoreError> {
    let policy = serde_json::to_string(&p.policy).expect("login policy serializes");
    let malicious = serde_json::to_string(&p.malicious).expect("CIDRs serialize");
    st.store.put_setting(SETTING_POLICY, &policy).await?;
    st.store.put_setting(SETTING_MALICIOUS, &malicious).await
}

/// The abnormal-login model (SPEC R-LG2–R-LG6) as a stage of ingest: judges the batch's
/// successful logins against the host's learned state and the policy in force, and saves what it
/// learned with the batch.
pub struct LoginModelStage;

#[async_trait::async_trait]
impl IngestStage for LoginModelStage {
    fn name(&self) -> &'static str {
        "abnormal logins"
    }

    async fn judge(&self, st: &SharedState, batch: &Batch<'_>) -> Result<Judged, StoreError> {
        let (host, events) = (batch.host, batch.events);
        let logins: Vec<&LoginEvent> = events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Login { login } if login.outcome == LoginOutcome::Success => Some(login),
                _ => None,
            })
            .collect();
        if logins.is_empty() {
            return Ok(Judged::default());
        }
        let policy = effective_policy(st, host).await?;
        let state: HostLoginState = json_setting(st, &format!("{STATE_PREFIX}{host}"))
            .await?
            .unwrap_or_default();
        let mut after_bruteforce = Vec::with_capacity(logins.len());
        let mut known = HashMap::new();
        for ev in &logins {
            after_bruteforce.push(brute_forced(st, host, events, ev, &mut known).await?);
        }
        let (state, alerts) = observe(
            st.logins.geo.as_ref(),
            &policy,
            state,
            &logins,
            &after_bruteforce,
            batch.now,
        );
        Ok(Judged {
            alerts: alerts
                .into_iter()
                .map(|a| Raised {
                    alert: a.alert,
                    notify: a.notify,
                })
                .collect(),
            writes: vec![Box::new(SaveLearned {
                key: format!("{STATE_PREFIX}{host}"),
                json: serde_json::to_string(&state).expect("login state serializes"),
            })],
        })
    }
}

/// What the model learned from a batch.
struct SaveLearned {
    key: String,
    json: String,
}

#[async_trait::async_trait]
impl TxWrite for SaveLearned {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        tx.put_setting(&self.key, &self.json).await
    }
}

/// Failed-login counts per UTC day, source and service, for the attack analysis.
pub struct FailureCountStage;

#[async_trait::async_trait]
impl IngestStage for FailureCountStage {
    fn name(&self) -> &'static str {
        "failed-login counts"
    }

    async fn judge(&self, _st: &SharedState, batch: &Batch<'_>) -> Result<Judged, StoreError> {
        let rows = login_failure_rows(batch.events);
        let mut judged = Judged::default();
        if !rows.is_empty() {
            judged.writes.push(Box::new(AddFailures {
                host: batch.host.to_string(),
                rows,
            }));
        }
        Ok(judged)
    }
}

struct AddFailures {
    host: String,
    rows: Vec<LoginFailureRow>,
}

#[async_trait::async_trait]
impl TxWrite for AddFailures {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        tx.add_login_failures(&self.host, &self.rows).await
    }
}

/// Failed-login counts per UTC day, source and service.
fn login_failure_rows(events: &[Event]) -> Vec<LoginFailureRow> {
    let mut sums: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    for e in events {
        if let EventBody::LoginFailures {
            source,
            service,
            failures,
            last,
            ..
        } = &e.body
        {
            let day = last - last.rem_euclid(86_400);
            let source = source.clone().unwrap_or_else(|| "local".into());
            *sums.entry((day, source, service.clone())).or_default() += i64::from(*failures);
        }
    }
    sums.into_iter()
        .map(|((day, source, service), failures)| LoginFailureRow {
            day,
            source,
            service,
            failures,
        })
        .collect()
}

/// The model over a batch's logins. Synchronous: `&dyn Geo` is not `Send`, so it must not be
/// held across an `.await` of the request handler.
fn observe(
    geo: Option<&MmdbGeo>,
    policy: &Policy,
    mut state: HostLoginState,
    logins: &[&LoginEvent],
    after_bruteforce: &[bool],
    now: i64,
) -> (HostLoginState, Vec<LoginAlert>) {
    let geo: &dyn Geo = match geo {
        Some(g) => g,
        None => &NoGeo,
    };
    let mut alerts = Vec::new();
    for (ev, after_bruteforce) in logins.iter().zip(after_bruteforce) {
        let inputs = Inputs {
            after_bruteforce: *after_bruteforce,
            malicious: &policy.malicious,
            ..Inputs::new(geo)
        };
        alerts.extend(LoginModel::observe(
            &mut state,
            &policy.policy,
            &inputs,
            ev,
            now,
        ));
    }
    (state, alerts)
}

/// True when the login's source brute-forced this host in the 24 hours before it: its fast-rule
/// alert (`brute_force:<ip>`) is in this batch, or is stored and was seen in that span (first
/// seen before the login, last seen less than 24 hours before it), and no operator ignored or
/// whitelisted it (the owner mistyping a password is not an attack).
async fn brute_forced(
    st: &SharedState,
    host: &str,
    batch: &[Event],
    ev: &LoginEvent,
    known: &mut HashMap<IpAddr, Option<(i64, i64)>>,
) -> Result<bool, StoreError> {
    let Some(ip) = ev.source.as_deref().and_then(ip::parse_source) else {
        return Ok(false);
    };
    let key = format!("brute_force:{ip}");
    let in_batch = batch.iter().any(|e| {
        matches!(&e.body, EventBody::AgentAlert { alert, .. }
            if alert.kind == AlertKind::BruteForce && alert.key == key)
    });
    if in_batch {
        return Ok(true);
    }
    let seen = match known.get(&ip) {
        Some(t) => *t,
        None => {
            let t = st
                .store
                .alert_by_key(host, AlertKind::BruteForce, &key)
                .await?
                .filter(|a| !matches!(a.status, AlertStatus::Ignored | AlertStatus::Whitelisted))
                .map(|a| (a.first_seen, a.last_seen));
            known.insert(ip, t);
            t
        }
    };
    Ok(seen.is_some_and(|(first, last)| {
        first <= ev.time && ev.time.saturating_sub(last) < SUCCESS_AFTER_SECS
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: serde_json::Value) -> Result<PolicyDoc, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn a_policy_round_trips_normalized() {
        let d = doc(serde_json::json!({
            "locations": ["us", "CN/Zhejiang", "US"],
            "ips": ["10.1.2.3/8", "192.0.2.7"],
            "times": {"utc_offset_mins": 480, "ranges": ["8:00-18:00", "22:00-06:00"]},
            "accounts": [" deploy", "root"],
            "location_alerts": true,
            "malicious_ips": ["198.51.100.0/24"]
        }))
        .unwrap();
        let p = d.validate().unwrap();
        let back = p.to_doc();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::json!({
                "locations": ["US", "CN/Zhejiang"],
                "ips": ["10.0.0.0/8", "192.0.2.7/32"],
                "times": {"utc_offset_mins": 480, "ranges": ["08:00-18:00", "22:00-06:00"]},
                "accounts": ["deploy", "root"],
                "location_alerts": true,
                "malicious_ips": ["198.51.100.0/24"]
            })
        );
        assert_eq!(back.validate().unwrap(), p, "the normal form is stable");
        // Stored forms read back.
        let stored: LoginPolicy =
            serde_json::from_str(&serde_json::to_string(&p.policy).unwrap()).unwrap();
        assert_eq!(stored, p.policy);
        // Nothing configured: everything is learned.
        let empty = doc(serde_json::json!({})).unwrap().validate().unwrap();
        assert_eq!(empty, Policy::default());
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        let cases = [
            (serde_json::json!({"locations": ["USA"]}), "two-letter"),
            (serde_json::json!({"locations": ["US/"]}), "region"),
            (serde_json::json!({"ips": ["10.0.0.0/33"]}), "ips"),
            (
                serde_json::json!({"times": {"ranges": ["25:00-26:00"]}}),
                "times",
            ),
            (
                serde_json::json!({"times": {"utc_offset_mins": 900, "ranges": []}}),
                "14 hours",
            ),
            (serde_json::json!({"accounts": ["two words"]}), "accounts"),
            (
                serde_json::json!({"malicious_ips": ["0.0.0.0/0"]}),
                "every address",
            ),
            (
                serde_json::json!({"malicious_ips": ["evil"]}),
                "malicious_ips",
            ),
        ];
        for (v, want) in cases {
            let err = doc(v.clone()).unwrap().validate().unwrap_err();
            assert!(err.contains(want), "{v}: {err}");
        }
        assert!(
            doc(serde_json::json!({"location": ["US"]})).is_err(),
            "a misspelt field is refused, not ignored"
        );
        let many: Vec<String> = (0..=MAX_ENTRIES)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        let err = doc(serde_json::json!({ "ips": many }))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("at most"), "{err}");
    }
}
