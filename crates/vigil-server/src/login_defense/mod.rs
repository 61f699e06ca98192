//! Login defense: the brute-force rule's settings and the access whitelist (`settings`), the
//! abnormal-login model and its policy (`model`, a stage of ingest), IP geolocation (`geo`),
//! and their routes with the attack analysis.

pub(crate) mod geo;
pub(crate) mod model;
pub(crate) mod routes;
pub(crate) mod settings;
