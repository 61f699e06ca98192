//! The web console: static files (HTML, CSS and plain ES modules, no build step) compiled into
//! the binary, served by the server itself.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// A console file: where the page asks for it, its content type and its text.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! js {
    ($file:literal) => {
        Asset {
            path: concat!("/", $file),
            content_type: JS,
            body: include_str!(concat!("../console/", $file)),
        }
    };
}

/// Every file of the console. Modules import each other by these paths, so a file missing here
/// is a page that does not start: the tests below check the table against the folder and the
/// imports.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../console/index.html"),
    },
    Asset {
        path: "/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../console/app.css"),
    },
    js!("main.js"),
    js!("routes.js"),
    js!("lib/api.js"),
    js!("lib/dom.js"),
    js!("lib/drawer.js"),
    js!("lib/errors.js"),
    js!("lib/form.js"),
    js!("lib/format.js"),
    js!("lib/meta.js"),
    js!("lib/router.js"),
    js!("lib/table.js"),
    js!("views/alert-drawer.js"),
    js!("views/alert-handling.js"),
    js!("views/alerts.js"),
    js!("views/attacks.js"),
    js!("views/baseline.js"),
    js!("views/host.js"),
    js!("views/hosts.js"),
    js!("views/inbox.js"),
    js!("views/install.js"),
    js!("views/ip-policy.js"),
    js!("views/login-settings.js"),
    js!("views/notifications.js"),
    js!("views/notify-settings.js"),
    js!("views/overview.js"),
    js!("views/quarantine.js"),
    js!("views/score.js"),
    js!("views/vuln-drawer.js"),
    js!("views/vulns.js"),
    js!("views/whitelist.js"),
];

/// The console needs nothing from other origins: these headers make injected markup inert and
/// keep the console out of other sites' frames.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

pub fn router() -> Router {
    ASSETS.iter().fold(Router::new(), |r, a| {
        let (content_type, body) = (a.content_type, a.body);
        r.route(
            a.path,
            get(move || async move { asset(content_type, body) }),
        )
    })
}

#[cfg(test)]
mod tests;
