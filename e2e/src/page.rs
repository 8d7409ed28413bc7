//! One participant: a Chromium session on the app, driven through the DOM contract.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::Error;
use crate::state::{State, Transport};
use crate::wait::{Check, wait_until};

/// How long the app may take to load (wasm) and show an element the test needs.
const LOAD: Duration = Duration::from_secs(30);

/// Which transport the page is told to use (`?transport=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportChoice {
    /// WebTransport first, WebSocket when it fails (the app's default).
    #[default]
    Auto,
    /// This transport only.
    Only(Transport),
}

/// The query of a meeting URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingOptions {
    /// `?transport=`.
    pub transport: TransportChoice,
    /// Start with the camera on (`?video=0` when false).
    pub video: bool,
    /// Start with the microphone on (`?audio=0` when false).
    pub audio: bool,
}

impl Default for MeetingOptions {
    fn default() -> Self {
        Self { transport: TransportChoice::Auto, video: true, audio: true }
    }
}

impl MeetingOptions {
    /// The defaults with `transport`.
    pub fn over(transport: TransportChoice) -> Self {
        Self { transport, ..Self::default() }
    }

    fn query(&self) -> String {
        let mut params = vec![format!(
            "transport={}",
            match self.transport {
                TransportChoice::Auto => "auto",
                TransportChoice::Only(t) => t.as_str(),
            }
        )];
        if !self.video {
            params.push("video=0".into());
        }
        if !self.audio {
            params.push("audio=0".into());
        }
        params.join("&")
    }
}

/// A Chromium session with its own profile, showing pages of one server.
pub struct Page {
    client: Client,
    base: String,
    _profile: tempfile::TempDir,
}

/// Whether the canvas `arguments[0]` shows an image: copied onto a fresh 2D canvas (so any
/// context type works), then its pixels compared with the first one. `null` if no element.
const CANVAS_NOT_BLANK_JS: &str = r#"
const source = document.querySelector(arguments[0]);
if (!source) return null;
if (!source.width || !source.height) return false;
const copy = document.createElement('canvas');
copy.width = source.width;
copy.height = source.height;
const ctx = copy.getContext('2d', { willReadFrequently: true });
ctx.drawImage(source, 0, 0);
const data = new Uint32Array(ctx.getImageData(0, 0, copy.width, copy.height).data.buffer);
return data.some((pixel) => pixel !== data[0]);
"#;

/// `window.videocallState()` when the app has defined it, else `null`.
/// The app's state as a JSON string, or, while the app has not started, what the page is
/// doing instead (an object), so a timeout says whether the page loaded at all.
const STATE_JS: &str = r#"
if (typeof window.videocallState === 'function') return window.videocallState();
const body = document.body ? document.body.innerText.slice(0, 200) : '';
return { readyState: document.readyState, url: location.href, body: body };
"#;

impl Page {
    pub(crate) fn new(client: Client, base: String, profile: tempfile::TempDir) -> Self {
        Self { client, base, _profile: profile }
    }

    /// The WebDriver client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `path` (starting with `/`) on the server.
    pub async fn goto(&self, path: &str) -> Result<(), Error> {
        Ok(self.client.goto(&format!("{}{path}", self.base)).await?)
    }

    /// Opens `/meeting/{user}/{meeting}` over `transport`, camera and microphone on.
    pub async fn open_meeting(
        &self,
        user: &str,
        meeting: &str,
        transport: TransportChoice,
    ) -> Result<(), Error> {
        self.open_meeting_with(user, meeting, MeetingOptions::over(transport)).await
    }

    /// Opens `/meeting/{user}/{meeting}` with `options`.
    pub async fn open_meeting_with(
        &self,
        user: &str,
        meeting: &str,
        options: MeetingOptions,
    ) -> Result<(), Error> {
        self.goto(&format!("/meeting/{user}/{meeting}?{}", options.query())).await
    }

    /// Clicks `#join-button` on the pre-join screen, once the app has shown it.
    pub async fn join(&self) -> Result<(), Error> {
        self.click(crate::dom::JOIN_BUTTON).await
    }

    /// Clicks the element `selector` once it is there and enabled (the app disables
    /// `#join-button` while it loads), waiting up to the load limit.
    pub async fn click(&self, selector: &str) -> Result<(), Error> {
        let desc = format!("{selector} is there and enabled");
        let element = wait_until(&desc, LOAD, async || {
            Ok(match self.client.find_all(Locator::Css(selector)).await?.into_iter().next() {
                Some(element) if element.is_enabled().await? => Check::Done(element),
                Some(_) => Check::NotYet("disabled".into()),
                None => Check::NotYet("not in the page".into()),
            })
        })
        .await?;
        Ok(element.click().await?)
    }

    /// Types `text` into the input `selector` the way a person does (the app sees an `input`
    /// event), once the input is there; any Unicode text works.
    pub async fn fill(&self, selector: &str, text: &str) -> Result<(), Error> {
        let desc = format!("{selector} is there");
        let script = "const el = document.querySelector(arguments[0]); if (!el) return false; \
            el.value = arguments[1]; el.dispatchEvent(new Event('input', { bubbles: true })); \
            return true;";
        let args = || vec![Value::from(selector), Value::from(text)];
        wait_until(&desc, LOAD, async || {
            Ok(match self.client.execute(script, args()).await?.as_bool() {
                Some(true) => Check::Done(()),
                _ => Check::NotYet("not in the page".into()),
            })
        })
        .await
    }

    /// The text of the first element matching `selector`, `None` when there is none.
    pub async fn text(&self, selector: &str) -> Result<Option<String>, Error> {
        let script = "const el = document.querySelector(arguments[0]); \
            return el ? el.textContent : null;";
        let value = self.client.execute(script, vec![Value::from(selector)]).await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// How many elements match `selector` now.
    pub async fn count(&self, selector: &str) -> Result<usize, Error> {
        Ok(self.client.find_all(Locator::Css(selector)).await?.len())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Result<Value, Error> {
        Ok(self.client.execute(script, args).await?)
    }

    /// The app's status, or `None` while `window.videocallState` is not defined yet or the app
    /// answers that it is busy.
    pub async fn state(&self) -> Result<Option<State>, Error> {
        Ok(self.snapshot().await?.ok())
    }

    /// The app's status, or why there is none yet.
    async fn snapshot(&self) -> Result<Result<State, String>, Error> {
        let json = match self.eval(STATE_JS, vec![]).await? {
            Value::Object(page) => {
                let page = Value::Object(page);
                return Ok(Err(format!("window.videocallState is not defined yet; page: {page}")));
            }
            Value::String(json) => json,
            other => {
                return Err(Error::Unexpected {
                    what: "window.videocallState() (a JSON string)".into(),
                    value: other.to_string(),
                });
            }
        };
        match State::parse(&json) {
            Ok(Some(state)) => Ok(Ok(state)),
            Ok(None) => Ok(Err("window.videocallState() answers busy".into())),
            Err(e) => Err(Error::Unexpected {
                what: format!("window.videocallState() ({e})"),
                value: json,
            }),
        }
    }

    /// Polls [`Page::state`] until `condition` holds; fails after `timeout` with `desc` and the
    /// last state seen.
    pub async fn wait_for(
        &self,
        desc: &str,
        timeout: Duration,
        mut condition: impl FnMut(&State) -> bool,
    ) -> Result<State, Error> {
        wait_until(desc, timeout, async || {
            Ok(match self.snapshot().await? {
                Ok(state) if condition(&state) => Check::Done(state),
                Ok(state) => Check::NotYet(format!("{state:#?}")),
                Err(why) => Check::NotYet(why),
            })
        })
        .await
    }

    /// Polls until exactly `n` elements match `selector`.
    pub async fn wait_for_count(
        &self,
        selector: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<(), Error> {
        let desc = format!("{n} element(s) match {selector}");
        wait_until(&desc, timeout, async || {
            let found = self.count(selector).await?;
            Ok(if found == n { Check::Done(()) } else { Check::NotYet(format!("{found} match")) })
        })
        .await
    }

    /// Whether the canvas `selector` shows an image (its pixels are not all one value).
    pub async fn canvas_is_not_blank(&self, selector: &str) -> Result<bool, Error> {
        match self.eval(CANVAS_NOT_BLANK_JS, vec![Value::from(selector)]).await? {
            Value::Bool(drawn) => Ok(drawn),
            Value::Null => Err(Error::Unexpected {
                what: format!("canvas {selector}"),
                value: "no such element".into(),
            }),
            other => Err(Error::Unexpected {
                what: format!("canvas {selector}"),
                value: other.to_string(),
            }),
        }
    }

    /// Polls until the canvas `selector` exists and shows an image.
    pub async fn wait_for_drawn_canvas(
        &self,
        selector: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let desc = format!("canvas {selector} shows an image");
        wait_until(&desc, timeout, async || {
            Ok(match self.canvas_is_not_blank(selector).await {
                Ok(true) => Check::Done(()),
                Ok(false) => Check::NotYet("every pixel has the same value".into()),
                Err(Error::Unexpected { value, .. }) => Check::NotYet(value),
                Err(other) => return Err(other),
            })
        })
        .await
    }

    /// Ends the browser session (Chromium exits).
    pub async fn close(self) -> Result<(), Error> {
        Ok(self.client.close().await?)
    }
}
