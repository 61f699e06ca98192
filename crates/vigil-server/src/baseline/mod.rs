//! The baseline on the server: the ingest stage that records each run an agent sends (in the
//! batch's transaction), and the views that join a host's results with the checks of the
//! content in force (title, level, remediation, references).

pub(crate) mod routes;
pub(crate) mod schedule;

use crate::pipeline::{Batch, IngestStage, Judged};
use crate::state::SharedState;
use vigil_model::{BaselineOutcome, EventBody};
use vigil_store::{StoreError, TxWrite, Txn};

/// Results kept per run at most, and the length of what an agent may say about one.
const MAX_RESULTS: usize = 2_000;
const MAX_ID: usize = 128;
const MAX_EVIDENCE: usize = 2_000;
const MAX_FILE: usize = 512;

/// Failed, not ignored baseline checks per host and level, for the security score.
pub(crate) async fn counts(
    st: &SharedState,
) -> Result<std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>, StoreError>
{
    let content = st.content.current();
    let level: std::collections::BTreeMap<&str, &'static str> = content
        .baseline
        .iter()
        .map(|c| (c.id.as_str(), c.level.as_str()))
        .collect();
    let mut out: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>> =
        Default::default();
    for r in st.store.baseline_results(None).await? {
        if r.status != vigil_model::CheckStatus::Failed || !r.ignored_reason.is_empty() {
            continue;
        }
        let l = level.get(r.check_id.as_str()).copied().unwrap_or("low");
        *out.entry(r.host_id)
            .or_default()
            .entry(l.to_string())
            .or_default() += 1;
    }
    Ok(out)
}

/// Records the last baseline run of a batch.
pub(crate) struct BaselineStage;

#[async_trait::async_trait]
impl IngestStage for BaselineStage {
    fn name(&self) -> &'static str {
        "baseline"
    }

    async fn judge(&self, _st: &SharedState, batch: &Batch<'_>) -> Result<Judged, StoreError> {
        let mut judged = Judged::default();
        let last = batch.events.iter().rev().find_map(|e| match &e.body {
            EventBody::BaselineRun { results } => Some(results),
            _ => None,
        });
        if let Some(results) = last {
            judged.writes.push(Box::new(PutRun {
                host: batch.host.to_string(),
                results: bounded(results),
                now: batch.now,
            }));
        }
        Ok(judged)
    }
}

/// What an agent sent, bounded: ids of the checks' shape only, text cut at its bound.
fn bounded(results: &[BaselineOutcome]) -> Vec<BaselineOutcome> {
    let cut = |s: &str, max: usize| -> String {
        if s.len() <= max {
            return s.to_string();
        }
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    };
    results
        .iter()
        .filter(|r| {
            !r.id.is_empty()
                && r.id.len() <= MAX_ID
                && r.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        })
        .take(MAX_RESULTS)
        .map(|r| BaselineOutcome {
            id: r.id.clone(),
            status: r.status,
            evidence: cut(&r.evidence, MAX_EVIDENCE),
            file: cut(&r.file, MAX_FILE),
        })
        .collect()
}

struct PutRun {
    host: String,
    results: Vec<BaselineOutcome>,
    now: i64,
}

#[async_trait::async_trait]
impl TxWrite for PutRun {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        tx.put_baseline_run(&self.host, &self.results, self.now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::CheckStatus;

    #[test]
    fn agent_input_is_bounded() {
        let r = |id: &str, evidence: &str| BaselineOutcome {
            id: id.into(),
            status: CheckStatus::Failed,
            evidence: evidence.into(),
            file: String::new(),
        };
        let long = "é".repeat(3_000);
        let out = bounded(&[
            r("ssh.permit-root-login", "ok"),
            r("../etc", "x"),
            r("", "x"),
            r(&"a".repeat(200), "x"),
            r("misc.aide", &long),
        ]);
        let ids: Vec<&str> = out.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["ssh.permit-root-login", "misc.aide"]);
        assert!(out[1].evidence.len() <= MAX_EVIDENCE + 3);
        assert!(out[1].evidence.ends_with('…'));
    }
}
