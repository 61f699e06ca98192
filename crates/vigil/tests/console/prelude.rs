//! What every page's steps use: the WebDriver client and its helpers, the scenario's context,
//! JSON and time.

pub use crate::fixture::{api_get, css_str, step, Ctx};
pub use crate::webdriver::{
    fill_input, option_values, pick_date, reload, strings, unstub_fetch, value_of, WdResult,
    WebDriver, UI_TIMEOUT,
};
pub use serde_json::{json, Value};
pub use std::time::{Duration, Instant};
