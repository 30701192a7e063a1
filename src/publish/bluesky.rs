//! Bluesky: `com.atproto.repo.createRecord` of an `app.bsky.feed.post` on the
//! account's PDS, with facets for links and hashtags and the post as a link card.
//!
//! Bluesky has no idempotency header, so the record key is a TID derived from the
//! publishing date and the publisher's name: every attempt at one publication
//! writes the same key, and a key that is already there is the success it is.
//! The session is kept in the state folder and renewed, not made anew each time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unicode_segmentation::UnicodeSegmentation;

use super::http::{self, json_str, mime_of};
use super::retry::{self, Attempt, Policy};
use super::{
    BoxFuture, Engagement, Environment, IdempotencyKey, Occasion, OnlineReport, Output,
    PublishError, Publisher, Receipt, RenderError, Rendered, Retry, SecretSource,
};
use crate::post::Post;
use crate::render::{self, Message};
use crate::settings::{Problem, Problems};

/// The most UTF-8 bytes a post's text may have, whatever its graphemes.
const MAX_BYTES: usize = 3000;
/// The most bytes a thumbnail blob may have.
const MAX_THUMB: usize = 1_000_000;
const COLLECTION: &str = "app.bsky.feed.post";

/// The template when none is set: the link is in the card, not the text.
pub const DEFAULT_TEMPLATE: &str = "{on_this_day}: {title}\n\n{summary}\n\n{hashtags}";

/// `[publishers.NAME]` with `type = "bluesky"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// The PDS, e.g. `https://bsky.social`.
    pub service: String,
    /// A handle or a DID.
    pub identifier: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_max_graphemes")]
    pub max_graphemes: usize,
    #[serde(default = "default_true")]
    pub link_card: bool,
    #[serde(default)]
    pub hashtags: Vec<String>,
    pub template: Option<String>,
    #[serde(default = "super::default_timeout")]
    pub timeout: String,
    /// Where `stats` reads the posts' counts (`app.bsky.feed.getPosts`): a public
    /// AppView such as `https://public.api.bsky.app`; unset, the PDS is asked (it
    /// proxies to its AppView).
    pub appview: Option<String>,
}

fn default_max_graphemes() -> usize {
    300
}
fn default_true() -> bool {
    true
}

/// `[publishers.NAME]` with `type = "bluesky"`, checked once at load.
#[derive(Debug, Clone)]
pub struct BlueskySettings {
    pub service: url::Url,
    pub identifier: String,
    pub password: SecretSource,
    pub max_graphemes: usize,
    pub link_card: bool,
    pub hashtags: Vec<String>,
    pub template: Option<String>,
    pub timeout: Duration,
    pub appview: Option<url::Url>,
}

impl BlueskyConfig {
    pub(super) fn check(self, base: &Path) -> Result<BlueskySettings, Vec<Problem>> {
        let mut problems = Problems::default();
        let service = problems.take("service", super::check_server_url(&self.service));
        let identifier = self.identifier.trim().to_string();
        problems.check(
            identifier.is_empty(),
            "identifier",
            "the account's handle or DID",
        );
        let password = problems.take(
            "password_env",
            SecretSource::from_keys(
                self.password_env.as_ref(),
                self.password_file.as_ref(),
                ("password_env", "password_file"),
                base,
            ),
        );
        if let Some(template) = &self.template {
            problems.take("template", render::check_template(template));
        }
        problems.check(
            self.max_graphemes == 0 || self.max_graphemes > 300,
            "max_graphemes",
            "Bluesky allows 1 to 300",
        );
        let timeout = problems.take("timeout", super::request_timeout(&self.timeout));
        let appview = match &self.appview {
            Some(a) => problems
                .take("appview", super::check_server_url(a))
                .map(Some),
            None => Some(None),
        };
        match (service, password, timeout, appview) {
            (Some(service), Some(password), Some(timeout), Some(appview))
                if problems.is_empty() =>
            {
                Ok(BlueskySettings {
                    appview,
                    service,
                    identifier,
                    password,
                    max_graphemes: self.max_graphemes,
                    link_card: self.link_card,
                    hashtags: self.hashtags,
                    template: self.template,
                    timeout,
                })
            }
            _ => Err(problems.0),
        }
    }
}

/// A Bluesky post as it will be written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skeet {
    pub text: String,
    /// Graphemes, as Bluesky counts them.
    pub length: usize,
    pub limit: usize,
    pub bytes: usize,
    pub langs: Vec<String>,
    pub facets: Vec<Facet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// The record key: the same for every attempt at this publication.
    pub rkey: String,
}

/// A rich-text facet: a link or a hashtag at a range of UTF-8 bytes (end exclusive).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facet {
    #[serde(rename = "byteStart")]
    pub byte_start: usize,
    #[serde(rename = "byteEnd")]
    pub byte_end: usize,
    #[serde(flatten)]
    pub feature: Feature,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Feature {
    Link { uri: String },
    Tag { tag: String },
}

/// An `app.bsky.embed.external` link card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    pub uri: String,
    pub title: String,
    pub description: String,
    /// The post's image, uploaded as the card's thumbnail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumb: Option<PathBuf>,
    /// The checked file inside the posts folder: the only one ever opened.
    #[serde(skip)]
    pub thumb_file: Option<PathBuf>,
}

/// A session kept between runs (in the state folder, readable by its owner only).
/// It is bound to the `service` and `identifier` it was made for: after either
/// changes it is dropped, never sent to another server or used as another account.
#[derive(Clone, Serialize, Deserialize)]
struct Session {
    #[serde(default)]
    service: String,
    #[serde(default)]
    identifier: String,
    did: String,
    handle: String,
    #[serde(rename = "accessJwt")]
    access: String,
    #[serde(rename = "refreshJwt")]
    refresh: String,
}

pub struct Bluesky {
    name: String,
    config: BlueskySettings,
    env: Environment,
    http: reqwest::Client,
    policy: Policy,
    timeout: Duration,
    session: tokio::sync::Mutex<Option<Session>>,
}

/// How Bluesky's refusals read (`{"error": "...", "message": "..."}`).
struct Reading {
    /// Whether the call carried a session token, so an expired one means renew it.
    auth: bool,
}

impl http::Dialect for Reading {
    type Done = Answer;

    fn ok(&self, body: Value) -> Answer {
        Answer::Ok(body)
    }

    fn message(&self, body: &Value, raw: &str) -> String {
        body.get("message")
            .or_else(|| body.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| http::excerpt(raw))
    }

    fn refused(
        &self,
        status: StatusCode,
        body: &Value,
        message: &str,
        what: &str,
    ) -> Attempt<Answer> {
        let error = http::excerpt(
            body.get("error")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let error = error.as_str();
        if self.auth && matches!(error, "ExpiredToken" | "InvalidToken") {
            return Attempt::Done(Answer::Reauthenticate);
        }
        Attempt::Fatal(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => format!(
                "{what}: the server refused the credentials (HTTP {}: {message}); check `identifier` and make a new app password (Settings > Privacy and security > App passwords) for `password_env` or `password_file`",
                status.as_u16()
            ),
            s => format!(
                "{what}: the server rejected it (HTTP {}: {error}: {message})",
                s.as_u16()
            ),
        })
    }
}

/// What a call answered, sorted.
enum Answer {
    Ok(Value),
    /// The access token is no good: refresh the session (or log in) and try again.
    Reauthenticate,
}

impl Bluesky {
    pub fn new(name: &str, config: &BlueskySettings, env: &Environment) -> Self {
        let timeout = config.timeout;
        Bluesky {
            name: name.to_string(),
            config: config.clone(),
            env: env.clone(),
            http: http::client(timeout),
            policy: Policy {
                budget: env.retry_budget,
                ..Policy::default()
            },
            timeout,
            session: tokio::sync::Mutex::new(None),
        }
    }

    fn fatal(&self, message: String) -> PublishError {
        PublishError::new(&self.name, Retry::Never, message)
    }

    fn xrpc(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", super::base_of(&self.config.service))
    }

    /// Where the session is kept.
    pub fn session_path(&self) -> PathBuf {
        self.env
            .state
            .join(format!("bluesky-{}.session.json", self.name))
    }

    fn save(&self, session: &Session) -> Result<(), PublishError> {
        let path = self.session_path();
        let bound = Session {
            service: self.bound_service(),
            identifier: self.config.identifier.as_str().to_string(),
            ..session.clone()
        };
        let bytes = serde_json::to_vec(&bound).map_err(|e| self.fatal(e.to_string()))?;
        // 0600 from the first byte: the tokens are never readable by others, even
        // for the moment between writing and renaming.
        crate::atomic::write_private(&path, &bytes).map_err(|e| {
            PublishError::new(
                &self.name,
                Retry::Later,
                format!("cannot keep the session in {}: {e}", path.display()),
            )
        })
    }

    fn load(&self) -> Option<Session> {
        let bytes = crate::files::read_bounded(&self.session_path(), 64 * 1024, false).ok()?;
        let session: Session = serde_json::from_slice(&bytes).ok()?;
        let same = session.service == self.bound_service()
            && session.identifier == self.config.identifier.as_str();
        if !same {
            tracing::info!(publisher = %self.name, "the kept session is for another server or account: logging in afresh");
        }
        same.then_some(session)
    }

    fn bound_service(&self) -> String {
        super::base_of(&self.config.service).to_string()
    }

    /// Sorts a response: done, log in again, retry, or a person must act. With
    /// `auth`, an expired or invalid token means "renew the session".
    async fn classify(
        &self,
        response: Result<reqwest::Response, reqwest::Error>,
        what: &str,
        auth: bool,
    ) -> Attempt<Answer> {
        let dialect = Reading { auth };
        http::classify(&dialect, response, what, self.env.clock.now()).await
    }

    /// Logs in with the app password (only when there is no usable session).
    async fn login(&self) -> Result<Session, PublishError> {
        let password = self
            .config
            .password
            .read(&self.env)
            .map_err(|e| self.fatal(format!("no app password: {e}")))?;
        let body = json!({"identifier": self.config.identifier, "password": password.expose()});
        let answer = retry::run(&self.name, self.policy, || async {
            let r = self
                .http
                .post(self.xrpc("com.atproto.server.createSession"))
                .json(&body)
                .send()
                .await;
            self.classify(r, "logging in", false).await
        })
        .await?;
        let session = self.session_from(answer)?;
        self.save(&session)?;
        tracing::info!(publisher = %self.name, handle = %session.handle, "logged in");
        Ok(session)
    }

    /// Renews the session with its refresh token; `None` if that token is refused.
    async fn refresh(&self, old: &Session) -> Result<Option<Session>, PublishError> {
        let answer = retry::run(&self.name, self.policy, || async {
            let r = self
                .http
                .post(self.xrpc("com.atproto.server.refreshSession"))
                .bearer_auth(&old.refresh)
                .send()
                .await;
            self.classify(r, "renewing the session", true).await
        })
        .await;
        match answer {
            Ok(Answer::Reauthenticate) => Ok(None),
            Err(e) if e.retry == Retry::Never => Ok(None),
            Err(e) => Err(e),
            Ok(a) => {
                let session = self.session_from(a)?;
                self.save(&session)?;
                tracing::info!(publisher = %self.name, "renewed the session");
                Ok(Some(session))
            }
        }
    }

    fn session_from(&self, answer: Answer) -> Result<Session, PublishError> {
        let Answer::Ok(v) = answer else {
            return Err(self.fatal("the server refused a fresh session".into()));
        };
        serde_json::from_value(v)
            .map_err(|_| self.fatal("the session the server sent is malformed".into()))
    }

    /// Runs `call` with a valid session: the kept one, else renewed, else a new login.
    async fn with_session<F, Fut>(
        &self,
        what: &str,
        call: F,
    ) -> Result<(Value, Session), PublishError>
    where
        F: Fn(Session) -> Fut,
        Fut: std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
    {
        let mut guard = self.session.lock().await;
        let mut session = match guard.clone().or_else(|| self.load()) {
            Some(s) => s,
            None => self.login().await?,
        };
        for round in 0..3 {
            let answer = retry::run(&self.name, self.policy, || async {
                self.classify(call(session.clone()).await, what, true).await
            })
            .await?;
            match answer {
                Answer::Ok(v) => {
                    *guard = Some(session.clone());
                    return Ok((v, session));
                }
                Answer::Reauthenticate if round == 0 => {
                    session = match self.refresh(&session).await? {
                        Some(s) => s,
                        None => self.login().await?,
                    };
                }
                Answer::Reauthenticate => session = self.login().await?,
            }
        }
        Err(self.fatal(format!("{what}: the server keeps refusing fresh sessions")))
    }

    async fn upload_thumb(&self, path: &Path, file: &Path) -> Result<Option<Value>, PublishError> {
        let bytes = crate::files::read_picture(file, crate::files::MAX_IMAGE_BYTES)
            .await
            .map_err(|e| self.fatal(format!("cannot read the image {}: {e}", path.display())))?;
        if bytes.len() > MAX_THUMB {
            tracing::warn!(publisher = %self.name, image = %path.display(), "the image is over 1,000,000 bytes: the card goes without a thumbnail");
            return Ok(None);
        }
        let mime = mime_of(path);
        let (answer, _) = self
            .with_session("uploading the thumbnail", |s| {
                self.http
                    .post(self.xrpc("com.atproto.repo.uploadBlob"))
                    .bearer_auth(s.access)
                    .header("content-type", mime)
                    .body(bytes.clone())
                    .send()
            })
            .await?;
        Ok(answer.get("blob").cloned())
    }

    /// The record as the lexicon wants it.
    fn record(skeet: &Skeet, thumb: Option<Value>) -> Value {
        let facets: Vec<Value> = skeet
            .facets
            .iter()
            .map(|f| {
                let feature = match &f.feature {
                    Feature::Link { uri } => json!({"$type": "app.bsky.richtext.facet#link", "uri": uri}),
                    Feature::Tag { tag } => json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag}),
                };
                json!({"index": {"byteStart": f.byte_start, "byteEnd": f.byte_end}, "features": [feature]})
            })
            .collect();
        let mut record = json!({
            "$type": COLLECTION,
            "text": skeet.text,
            "createdAt": skeet.created_at,
            "langs": skeet.langs,
        });
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        if let Some(card) = &skeet.card {
            let mut external =
                json!({"uri": card.uri, "title": card.title, "description": card.description});
            if let Some(blob) = thumb {
                external["thumb"] = blob;
            }
            record["embed"] = json!({"$type": "app.bsky.embed.external", "external": external});
        }
        record
    }
}

impl Publisher for Bluesky {
    fn name(&self) -> &str {
        &self.name
    }

    fn account(&self) -> String {
        format!(
            "bluesky {} {}",
            super::base_of(&self.config.service),
            self.config.identifier.as_str()
        )
    }

    fn unpublish<'a>(
        &'a self,
        out: &'a crate::journal::Record,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            let rkey = out
                .remote_id
                .as_deref()
                .and_then(|uri| uri.rsplit('/').next())
                .unwrap_or_default();
            if rkey.is_empty() {
                return Err(self.fatal("the journal has no record key for it".into()));
            }
            self.delete_record(rkey).await
        })
    }

    fn credentials(&self) -> Result<(), String> {
        self.config
            .password
            .read(&self.env)
            .map(|_| ())
            .map_err(|e| format!("no app password: {e}"))
    }

    fn settle(&self) -> Duration {
        self.timeout
    }

    fn reconcile<'a>(
        &'a self,
        marker: &'a str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Receipt>, PublishError>> {
        Box::pin(async move {
            if marker.is_empty() {
                return Ok(None);
            }
            let (_, session) = self.current_session().await?;
            Ok(self.existing(&session, marker).await?.map(|uri| Receipt {
                remote_id: uri,
                url: Some(format!(
                    "https://bsky.app/profile/{}/post/{marker}",
                    session.handle
                )),
                media: vec![],
                dropped: vec![],
            }))
        })
    }

    fn render(&self, post: &Post, occasion: &Occasion) -> Result<Rendered, RenderError> {
        let tags = render::hashtags(&self.config.hashtags, &post.tags);
        let default = if self.config.link_card {
            DEFAULT_TEMPLATE
        } else {
            render::DEFAULT_TEMPLATE
        };
        let message = Message {
            post,
            date: occasion.date,
            template: self.config.template.as_deref().unwrap_or(default),
            hashtags: &tags,
        };
        let limit = self.config.max_graphemes;
        // Bluesky counts a URL at its full length; the byte cap is a second limit.
        let measure = |t: &str| {
            if t.len() > MAX_BYTES {
                usize::MAX / 2
            } else {
                t.graphemes(true).count()
            }
        };
        let (text, length) =
            message
                .fitted(limit, measure)
                .map_err(|source| RenderError::TooLong {
                    publisher: self.name.clone(),
                    source,
                })?;
        let lang = post
            .lang
            .clone()
            .unwrap_or_else(|| self.env.language.clone());
        let created_at = occasion
            .at
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        Ok(Rendered {
            publisher: self.name.clone(),
            output: Output::Bluesky(Skeet {
                facets: facets(&text),
                bytes: text.len(),
                text,
                length,
                limit,
                langs: vec![lang],
                card: self.config.link_card.then(|| Card {
                    uri: post.url.clone(),
                    title: post.title.clone(),
                    description: render::summary_of(post),
                    thumb: post.image.as_ref().map(|i| i.path.clone()),
                    thumb_file: post.image.as_ref().map(|i| i.file.clone()),
                }),
                created_at,
                rkey: record_key(&self.account(), occasion.date, 0),
            }),
        })
    }

    fn publish<'a>(
        &'a self,
        rendered: &'a Rendered,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let Output::Bluesky(skeet) = &rendered.output else {
                return Err(
                    self.fatal("internal: asked to send another backend's rendering".into())
                );
            };
            self.write_record(skeet, &rkey_for(skeet, key)).await
        })
    }

    fn correct<'a>(
        &'a self,
        out: &'a crate::journal::Record,
        before: &'a crate::journal::Sent,
        now: &'a Rendered,
        _new_picture: bool,
        repost: bool,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let Output::Bluesky(skeet) = &now.output else {
                return Err(
                    self.fatal("internal: asked to send another backend's rendering".into())
                );
            };
            if !repost {
                return Err(self.fatal(
                    "Bluesky has no edit: the post cannot be corrected in place, and nothing was changed; `todayis correct --repost` deletes it and posts the corrected one (its likes and reposts are lost)".into(),
                ));
            }
            // The corrected record first, then the old one goes: never no post at all.
            // Its key comes from the new content, so a rerun finds it and goes on.
            let new_digest = crate::runner::digest_of(
                &serde_json::to_value(&now.output).unwrap_or_default(),
                None,
            );
            let rkey = record_key(&format!("{} {new_digest}", self.account()), out.date, 1);
            let receipt = self.write_record(skeet, &rkey).await?;
            let old = out
                .remote_id
                .as_deref()
                .and_then(|uri| uri.rsplit('/').next())
                .unwrap_or_default();
            if !old.is_empty() && old != rkey && before.digest != new_digest {
                self.delete_record(old).await?;
            }
            Ok(receipt)
        })
    }

    fn edits_in_place(&self) -> bool {
        false
    }

    fn engagement<'a>(
        &'a self,
        remote_ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, Engagement)>, PublishError>> {
        Box::pin(async move {
            let what = "reading the posts' counts";
            let mut found = Vec::with_capacity(remote_ids.len());
            let uris: Vec<&String> = remote_ids
                .iter()
                .filter(|u| u.starts_with("at://"))
                .collect();
            // `app.bsky.feed.getPosts` takes up to 25 URIs a request.
            for batch in uris.chunks(POSTS_PER_REQUEST) {
                let query: Vec<(&str, &str)> = batch.iter().map(|u| ("uris", u.as_str())).collect();
                let answer = match &self.config.appview {
                    Some(appview) => {
                        let url =
                            format!("{}/xrpc/app.bsky.feed.getPosts", super::base_of(appview));
                        let answer = retry::run(&self.name, self.policy, || async {
                            let r = self.http.get(&url).query(&query).send().await;
                            self.classify(r, what, false).await
                        })
                        .await?;
                        match answer {
                            Answer::Ok(v) => v,
                            Answer::Reauthenticate => {
                                return Err(
                                    self.fatal(format!("{what}: the AppView asked for a session"))
                                );
                            }
                        }
                    }
                    None => {
                        self.with_session(what, |s| {
                            self.http
                                .get(self.xrpc("app.bsky.feed.getPosts"))
                                .query(&query)
                                .bearer_auth(s.access)
                                .send()
                        })
                        .await?
                        .0
                    }
                };
                found.extend(counts_of(&answer));
            }
            Ok(found)
        })
    }

    fn check_online(&self) -> BoxFuture<'_, Result<OnlineReport, PublishError>> {
        Box::pin(async move {
            let (v, _) = self.current_session().await?;
            let handle = json_str(&v, "handle").unwrap_or_default();
            Ok(OnlineReport {
                findings: vec![format!("posts as @{handle}")],
                problems: vec![],
            })
        })
    }
}

impl Bluesky {
    /// Writes `skeet` under `rkey`, unless a record is there already (a retry, a
    /// crash before the journal): then that one is the success.
    async fn write_record(&self, skeet: &Skeet, rkey: &str) -> Result<Receipt, PublishError> {
        let (_, session) = self.current_session().await?;
        let receipt = |uri: String, handle: &str| Receipt {
            url: Some(format!("https://bsky.app/profile/{handle}/post/{rkey}")),
            remote_id: uri,
            media: vec![],
            dropped: vec![],
        };
        if let Some(uri) = self.existing(&session, rkey).await? {
            return Ok(receipt(uri, &session.handle));
        }
        let thumb = match skeet
            .card
            .as_ref()
            .and_then(|c| c.thumb.as_deref().zip(c.thumb_file.as_deref()))
        {
            Some((path, file)) => self.upload_thumb(path, file).await?,
            None => None,
        };
        let record = Self::record(skeet, thumb);
        let created = self
            .with_session("posting", |s| {
                let body = json!({"repo": s.did, "collection": COLLECTION, "rkey": rkey, "record": record});
                self.http.post(self.xrpc("com.atproto.repo.createRecord")).bearer_auth(s.access).json(&body).send()
            })
            .await;
        match created {
            Ok((v, s)) => Ok(receipt(json_str(&v, "uri").unwrap_or_default(), &s.handle)),
            // A create that failed may still have landed (the server answered late):
            // if the record is there, it is done.
            Err(e) => match self.existing(&session, rkey).await {
                Ok(Some(uri)) => Ok(receipt(uri, &session.handle)),
                _ => Err(e),
            },
        }
    }

    /// Deletes the record `rkey`.
    async fn delete_record(&self, rkey: &str) -> Result<(), PublishError> {
        self.with_session("deleting the old post", |s| {
            let body = json!({"repo": s.did, "collection": COLLECTION, "rkey": rkey});
            self.http
                .post(self.xrpc("com.atproto.repo.deleteRecord"))
                .bearer_auth(s.access)
                .json(&body)
                .send()
        })
        .await
        .map(|_| ())
    }

    /// A working session (kept, renewed or new) and what the server says of it.
    async fn current_session(&self) -> Result<(Value, Session), PublishError> {
        self.with_session("checking the session", |s| {
            self.http
                .get(self.xrpc("com.atproto.server.getSession"))
                .bearer_auth(s.access)
                .send()
        })
        .await
    }

    /// The URI of the record at `rkey`, if it exists.
    async fn existing(
        &self,
        session: &Session,
        rkey: &str,
    ) -> Result<Option<String>, PublishError> {
        let url = format!(
            "{}?repo={}&collection={COLLECTION}&rkey={rkey}",
            self.xrpc("com.atproto.repo.getRecord"),
            session.did
        );
        let answer = retry::run(&self.name, self.policy, || async {
            match self.http.get(&url).send().await {
                Ok(r)
                    if r.status() == StatusCode::BAD_REQUEST
                        || r.status() == StatusCode::NOT_FOUND =>
                {
                    Attempt::Done(None)
                }
                other => match self.classify(other, "looking for the record", false).await {
                    Attempt::Done(Answer::Ok(v)) => {
                        Attempt::Done(Some(json_str(&v, "uri").unwrap_or_default()))
                    }
                    Attempt::Done(Answer::Reauthenticate) => Attempt::Done(None),
                    Attempt::Again { why, wait } => Attempt::Again { why, wait },
                    Attempt::Fatal(m) => Attempt::Fatal(m),
                },
            }
        })
        .await?;
        Ok(answer)
    }
}

/// The most URIs one `app.bsky.feed.getPosts` asks for (the lexicon's maximum).
const POSTS_PER_REQUEST: usize = 25;

/// The counts in a `app.bsky.feed.getPosts` answer (`posts[]` of `postView`s).
fn counts_of(answer: &Value) -> Vec<(String, Engagement)> {
    answer
        .get("posts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|post| {
            let uri = json_str(post, "uri")?;
            let count = |key: &str| post.get(key).and_then(Value::as_u64).unwrap_or(0);
            Some((
                uri,
                Engagement {
                    likes: count("likeCount"),
                    reposts: count("repostCount"),
                    replies: count("replyCount"),
                },
            ))
        })
        .collect()
}

/// Link and hashtag facets of `text`, at UTF-8 byte offsets.
pub fn facets(text: &str) -> Vec<Facet> {
    let mut out = Vec::new();
    for (start, end) in crate::text::url_ranges(text) {
        out.push(Facet {
            byte_start: start,
            byte_end: end,
            feature: Feature::Link {
                uri: text[start..end].to_string(),
            },
        });
    }
    let mut i = 0;
    while let Some(p) = text[i..].find('#') {
        let start = i + p;
        i = start + 1;
        let boundary = start == 0
            || text[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
        if !boundary
            || out
                .iter()
                .any(|f| start >= f.byte_start && start < f.byte_end)
        {
            continue;
        }
        let len = text[start + 1..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len() - start - 1);
        let tag = &text[start + 1..start + 1 + len];
        if tag.chars().any(char::is_alphabetic) && len <= 640 {
            out.push(Facet {
                byte_start: start,
                byte_end: start + 1 + len,
                feature: Feature::Tag {
                    tag: tag.to_string(),
                },
            });
        }
    }
    out.sort_by_key(|f| f.byte_start);
    out
}

/// A TID (13 characters of base32-sortable) from the publishing date and the
/// publisher: microseconds of the date's midnight UTC, and a clock id from the name.
/// The record key of a publication: the rendering's for the first one of a date,
/// a new one (from the key) for a publication forced on top of it.
pub fn rkey_for(skeet: &Skeet, key: &IdempotencyKey) -> String {
    if key.generation == 0 {
        skeet.rkey.clone()
    } else {
        record_key(key.as_str(), key.date, key.generation)
    }
}

pub fn record_key(seed: &str, date: NaiveDate, generation: u32) -> String {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_micros())
        .unwrap_or(0)
        .max(0) as u64
        + u64::from(generation);
    let digest = Sha256::digest(seed.as_bytes());
    let clock_id = u64::from(u16::from_be_bytes([digest[0], digest[1]]) & 0x3ff);
    // Top bit zero, 53 bits of microseconds, 10 bits of clock id.
    let value = ((midnight & ((1 << 53) - 1)) << 10) | clock_id;
    (0..13)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bluesky(state: &Path, service: &str, identifier: &str) -> Bluesky {
        let config: BlueskyConfig = toml::from_str(&format!(
            "service = \"{service}\"\nidentifier = \"{identifier}\"\npassword_env = \"P\""
        ))
        .unwrap();
        let env = Environment {
            clock: std::sync::Arc::new(crate::clock::FixedClock(chrono::DateTime::UNIX_EPOCH)),
            language: "en".into(),
            timezone: chrono_tz::UTC,
            state: state.to_path_buf(),
            env_var: std::sync::Arc::new(|_| None),
            journal_fault: None,
            retry_budget: std::time::Duration::from_secs(300),
        };
        Bluesky::new("bluesky", &config.check(Path::new(".")).unwrap(), &env)
    }

    #[test]
    fn a_kept_session_is_used_only_by_its_own_server_and_account() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let session = Session {
            service: String::new(),
            identifier: String::new(),
            did: "did:plc:old".into(),
            handle: "old.example".into(),
            access: "access-token".into(),
            refresh: "refresh-token".into(),
        };
        let old = bluesky(dir.path(), "https://pds.example/", "old.example");
        old.save(&session).unwrap();
        let mode = std::fs::metadata(old.session_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(old.load().is_some(), "the same server and account use it");
        // Another account on the same server, or the same account elsewhere: never.
        assert!(
            bluesky(dir.path(), "https://pds.example", "new.example")
                .load()
                .is_none()
        );
        assert!(
            bluesky(dir.path(), "https://other.example", "old.example")
                .load()
                .is_none()
        );
    }

    #[test]
    fn record_keys_are_valid_tids_and_deterministic() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 25).unwrap();
        let k = record_key("bluesky", d, 0);
        assert_eq!(k.len(), 13);
        assert!(
            k.chars()
                .next()
                .is_some_and(|c| "234567abcdefghij".contains(c)),
            "{k}"
        );
        assert!(
            k.chars()
                .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c))
        );
        assert_eq!(k, record_key("bluesky", d, 0));
        assert_ne!(k, record_key("other", d, 0));
        assert!(
            record_key("bluesky", d.succ_opt().unwrap(), 0) > k,
            "later dates sort later"
        );
    }

    #[test]
    fn facets_are_at_utf8_byte_offsets() {
        let text = "Ça a eu lieu 🎉 https://todayis.example/x.html\n\n#OnThisDay #ColdWar";
        let f = facets(text);
        assert_eq!(f.len(), 3);
        for facet in &f {
            let slice = &text.as_bytes()[facet.byte_start..facet.byte_end];
            let s = std::str::from_utf8(slice).unwrap();
            match &facet.feature {
                Feature::Link { uri } => assert_eq!(s, uri),
                Feature::Tag { tag } => assert_eq!(s, format!("#{tag}")),
            }
        }
    }
}
