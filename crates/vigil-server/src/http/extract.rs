//! Request pieces shared by every domain's routes: ids from paths, JSON bodies, query values, names.

use crate::http::*;
use serde::de::DeserializeOwned;
use vigil_store::HostRecord;

/// A numeric id from a path segment.
pub(crate) fn parse_id(what: &str, raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("{what} id {raw:?} is not a number")))
}

pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("request body: {e}")))
}

pub(crate) fn valid_name(what: &str, s: &str) -> ApiResult<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{what} {s:?} must be 1 to 64 letters, digits, spaces, '-', '_' or '.'"
        )))
    }
}

pub(crate) fn parse_opt<T>(
    what: &str,
    v: Option<&str>,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
) -> ApiResult<Option<T>> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!("{what} {s:?} is not one of: {}", names.join(", ")))
        }),
    }
}

/// The host a path names; 404 when it is not enrolled here.
pub(crate) async fn find_host(st: &SharedState, id: &str) -> ApiResult<HostRecord> {
    st.store
        .host(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("host {id} not found")))
}
