//! A small W3C WebDriver client over reqwest, with polling helpers that wait for a state
//! instead of sleeping blindly, and the form helpers every page's steps use.

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);
/// The key under which WebDriver returns element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Standard base64 (with padding), as WebDriver sends screenshots.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let data = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(&bytes);
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

pub struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

pub type WdResult<T> = Result<T, String>;

pub async fn wd_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> WdResult<Value> {
    let mut req = http.request(method.clone(), url);
    if let Some(b) = body {
        req = req.json(&b);
    } else if method == reqwest::Method::POST {
        req = req.json(&json!({}));
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = res.status();
    let v: Value = res
        .json()
        .await
        .map_err(|e| format!("{method} {url}: bad JSON reply: {e}"))?;
    if !status.is_success() {
        let err = v["value"]["error"].as_str().unwrap_or("unknown error");
        let msg = v["value"]["message"].as_str().unwrap_or("");
        let msg = msg.lines().next().unwrap_or("");
        return Err(format!("{method} {url}: {status} {err}: {msg}"));
    }
    Ok(v["value"].clone())
}

impl WebDriver {
    pub async fn start(http: reqwest::Client, base: String, profile: &Path) -> WdResult<WebDriver> {
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "dismiss",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        format!("--user-data-dir={}", profile.display()), "--window-size=1280,900",
                    ],
                },
            }}
        });
        let v = wd_call(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(caps),
        )
        .await?;
        let session = v["sessionId"]
            .as_str()
            .ok_or("new session: no sessionId")?
            .to_string();
        Ok(WebDriver {
            http,
            base,
            session,
        })
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> WdResult<Value> {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        wd_call(&self.http, method, &url, body).await
    }

    pub async fn goto(&self, url: &str) -> WdResult<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    pub async fn find(&self, css: &str) -> WdResult<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        v[ELEMENT_KEY]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("find {css}: no element reference"))
    }

    pub async fn click(&self, el: &str) -> WdResult<()> {
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), None)
            .await
            .map(|_| ())
    }

    pub async fn clear(&self, el: &str) -> WdResult<()> {
        self.call(reqwest::Method::POST, &format!("/element/{el}/clear"), None)
            .await
            .map(|_| ())
    }

    pub async fn send_keys(&self, el: &str, text: &str) -> WdResult<()> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await
        .map(|_| ())
    }

    pub async fn text(&self, el: &str) -> WdResult<String> {
        let v = self
            .call(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    pub async fn property(&self, el: &str, name: &str) -> WdResult<Value> {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{el}/property/{name}"),
            None,
        )
        .await
    }

    pub async fn attribute(&self, el: &str, name: &str) -> WdResult<Option<String>> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{el}/attribute/{name}"),
                None,
            )
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    pub async fn exec(&self, script: &str, args: Value) -> WdResult<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    pub async fn screenshot(&self, path: &Path) -> WdResult<()> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64_decode(v.as_str().unwrap_or_default()).ok_or("screenshot: bad base64")?;
        std::fs::write(path, png).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    pub async fn quit(&self) -> WdResult<()> {
        wd_call(
            &self.http,
            reqwest::Method::DELETE,
            &format!("{}/session/{}", self.base, self.session),
            None,
        )
        .await
        .map(|_| ())
    }

    // ---- polling helpers: wait for a state instead of sleeping blindly

    /// Runs `script` until it returns something other than null/false/""; returns that value.
    pub async fn wait_js(
        &self,
        what: &str,
        script: &str,
        args: Value,
        timeout: Duration,
    ) -> WdResult<Value> {
        let deadline = Instant::now() + timeout;
        let mut last_err = String::new();
        loop {
            match self.exec(script, args.clone()).await {
                Ok(v) if !(v.is_null() || v == json!(false) || v == json!("")) => return Ok(v),
                Ok(_) => {}
                Err(e) => last_err = e,
            }
            if Instant::now() >= deadline {
                let banner = self.banner().await.unwrap_or_default();
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}{}{}",
                    if last_err.is_empty() {
                        String::new()
                    } else {
                        format!(" (last error: {last_err})")
                    },
                    if banner.is_empty() {
                        String::new()
                    } else {
                        format!(" (error banner: {banner:?})")
                    },
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits for a visible element matching `css` and returns its reference.
    pub async fn wait_visible(&self, css: &str) -> WdResult<String> {
        self.wait_js(
            &format!("a visible {css}"),
            "const e = document.querySelector(arguments[0]); return !!(e && e.getClientRects().length);",
            json!([css]),
            UI_TIMEOUT,
        )
        .await?;
        self.find(css).await
    }

    /// Waits until the text of `css` satisfies `pred`; returns the text.
    pub async fn wait_text(
        &self,
        css: &str,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> WdResult<String> {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.find(css).await {
                if let Ok(t) = self.text(&el).await {
                    if pred(&t) {
                        return Ok(t);
                    }
                    last = t;
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out waiting for {css} to show {what}; it shows {last:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The error banner's text when it is shown, else "".
    pub async fn banner(&self) -> WdResult<String> {
        let v = self
            .exec(
                "const b = document.getElementById('error-banner'); return b && !b.hidden ? b.textContent.trim() : '';",
                json!([]),
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Waits for a row of table `testid` whose column `col` (0-based) reads exactly `text`.
    pub async fn wait_cell(&self, testid: &str, col: usize, text: &str) -> WdResult<()> {
        self.wait_js(
            &format!("a row of {testid} with {text:?} in column {col}"),
            "return [...document.querySelectorAll(`[data-testid='${arguments[0]}'] tbody tr`)]
                 .some(tr => tr.cells[arguments[1]] && tr.cells[arguments[1]].textContent.trim() === arguments[2]);",
            json!([testid, col, text]),
            UI_TIMEOUT,
        )
        .await
        .map(|_| ())
    }
}

/// Sets a date input the way a picked date does: its value, then `change`.
pub async fn pick_date(wd: &WebDriver, css: &str, date: &str) -> WdResult<()> {
    wd.exec(
        "const d = document.querySelector(arguments[0]);
         d.value = arguments[1];
         d.dispatchEvent(new Event('input', { bubbles: true }));
         d.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([css, date]),
    )
    .await
    .map(|_| ())
}

/// Reloads the page and waits until `ready` (a script) is true in the new one.
pub async fn reload(wd: &WebDriver, what: &str, ready: &str) -> WdResult<()> {
    wd.exec(
        "window.__vigilBeforeReload = true; setTimeout(() => location.reload(), 0); return true;",
        json!([]),
    )
    .await?;
    wd.wait_js(
        what,
        &format!("if (window.__vigilBeforeReload) return false; {ready}"),
        json!([]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The value of form control `css`.
pub async fn value_of(wd: &WebDriver, css: &str) -> WdResult<String> {
    Ok(wd
        .property(&wd.find(css).await?, "value")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Replaces the value of input `css` with `text`.
pub async fn fill_input(wd: &WebDriver, css: &str, text: &str) -> WdResult<()> {
    let el = wd.find(css).await?;
    wd.clear(&el).await?;
    if !text.is_empty() {
        wd.send_keys(&el, text).await?;
    }
    Ok(())
}

/// Takes the stand-in `fetch` away again.
pub async fn unstub_fetch(wd: &WebDriver) -> WdResult<()> {
    wd.exec(
        "if (window.__vigilFetch) { window.fetch = window.__vigilFetch; delete window.__vigilFetch; } return true;",
        json!([]),
    )
    .await
    .map(|_| ())
}

/// The values of the options of select `css`, in order.
pub async fn option_values(wd: &WebDriver, css: &str) -> WdResult<Vec<String>> {
    let v = wd
        .exec(
            "return [...document.querySelectorAll(arguments[0] + ' option')].map((o) => o.value);",
            json!([css]),
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// The strings of `list` (a JSON array of strings, or of objects whose `field` is one).
pub fn strings(list: &Value, field: Option<&str>) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| field.map_or(x, |f| &x[f]).as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
