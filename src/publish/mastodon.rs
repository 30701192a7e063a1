//! Mastodon: `POST /api/v1/statuses`, with the post's image uploaded first.
//!
//! Every attempt at one publication carries the same `Idempotency-Key`, so the
//! server returns the status it already made instead of making a second one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::http::{self, json_str, mime_of};
use super::retry::{self, Attempt, Policy};
use super::{
    BoxFuture, Engagement, Environment, IdempotencyKey, Occasion, OnlineReport, Output,
    PublishError, Publisher, Receipt, RenderError, Rendered, Retry, SecretSource,
};
use crate::post::Post;
use crate::render::{self, Message};
use crate::settings::{Problem, Problems};
use crate::text::mastodon_length;

/// `[publishers.NAME]` with `type = "mastodon"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    pub instance: String,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub visibility: Visibility,
    #[serde(default = "default_max_characters")]
    pub max_characters: usize,
    #[serde(default)]
    pub hashtags: Vec<String>,
    pub template: Option<String>,
    /// How long one request may take before it is abandoned and retried.
    #[serde(default = "super::default_timeout")]
    pub timeout: String,
}

fn default_max_characters() -> usize {
    500
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
        }
    }
}

/// `[publishers.NAME]` with `type = "mastodon"`, checked once at load.
#[derive(Debug, Clone)]
pub struct MastodonSettings {
    pub instance: url::Url,
    pub token: SecretSource,
    pub visibility: Visibility,
    pub max_characters: usize,
    pub hashtags: Vec<String>,
    pub template: Option<String>,
    pub timeout: Duration,
}

impl MastodonConfig {
    pub(super) fn check(self, base: &Path) -> Result<MastodonSettings, Vec<Problem>> {
        let mut problems = Problems::default();
        let instance = problems.take("instance", super::check_server_url(&self.instance));
        let token = problems.take(
            "token_env",
            SecretSource::from_keys(
                self.token_env.as_ref(),
                self.token_file.as_ref(),
                ("token_env", "token_file"),
                base,
            ),
        );
        if let Some(template) = &self.template {
            problems.take("template", render::check_template(template));
        }
        problems.check(
            self.max_characters == 0,
            "max_characters",
            "must be above 0",
        );
        let timeout = problems.take("timeout", super::request_timeout(&self.timeout));
        match (instance, token, timeout) {
            (Some(instance), Some(token), Some(timeout)) if problems.is_empty() => {
                Ok(MastodonSettings {
                    instance,
                    token,
                    visibility: self.visibility,
                    max_characters: self.max_characters,
                    hashtags: self.hashtags,
                    template: self.template,
                    timeout,
                })
            }
            _ => Err(problems.0),
        }
    }
}

/// A status as it will be sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Toot {
    pub text: String,
    /// Counted as the server counts, spoiler text included.
    pub length: usize,
    pub limit: usize,
    pub visibility: Visibility,
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spoiler_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    pub path: PathBuf,
    pub alt: String,
    /// The checked file inside the posts folder: the only one ever opened.
    #[serde(skip)]
    pub file: PathBuf,
}

pub struct Mastodon {
    name: String,
    config: MastodonSettings,
    env: Environment,
    http: reqwest::Client,
    policy: Policy,
    timeout: Duration,
}

impl Mastodon {
    pub fn new(name: &str, config: &MastodonSettings, env: &Environment) -> Self {
        let timeout = config.timeout;
        Mastodon {
            name: name.to_string(),
            config: config.clone(),
            env: env.clone(),
            http: http::client(timeout),
            policy: Policy {
                budget: env.retry_budget,
                ..Policy::default()
            },
            timeout,
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", super::base_of(&self.config.instance))
    }

    fn token(&self) -> Result<String, PublishError> {
        let secret = self.config.token.read(&self.env).map_err(|e| {
            self.fatal(format!("no access token: {e}; give it an access token with the write:statuses and write:media scopes"))
        })?;
        Ok(secret.expose().to_string())
    }

    fn fatal(&self, message: String) -> PublishError {
        PublishError::new(&self.name, Retry::Never, message)
    }

    /// Sorts a response into done, fatal, or worth another try (the shared
    /// classifier, with Mastodon's reading of a refusal).
    async fn classify(
        &self,
        response: Result<Response, reqwest::Error>,
        what: &str,
    ) -> Attempt<serde_json::Value> {
        http::classify(self, response, what, self.env.clock.now()).await
    }

    async fn upload(&self, token: &str, image: &Attachment) -> Result<String, PublishError> {
        let bytes = crate::files::read_picture(&image.file, crate::files::MAX_IMAGE_BYTES)
            .await
            .map_err(|e| {
                self.fatal(format!(
                    "cannot read the image {}: {e}",
                    image.path.display()
                ))
            })?;
        let file_name = image
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let mime = mime_of(&image.path);
        let media = retry::run(&self.name, self.policy, || async {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.clone())
                .mime_str(mime);
            let part = match part {
                Ok(p) => p,
                Err(e) => return Attempt::Fatal(format!("image type: {e}")),
            };
            let form = reqwest::multipart::Form::new()
                .part("file", part)
                .text("description", image.alt.clone());
            let response = self
                .http
                .post(self.endpoint("/api/v2/media"))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await;
            self.classify(response, "uploading the image").await
        })
        .await?;
        let id = json_str(&media, "id")
            .ok_or_else(|| self.fatal("uploading the image: the answer has no id".into()))?;
        // 202 with `url: null` means the server is still processing: wait until done.
        let mut ready = media.get("url").is_some_and(|u| !u.is_null());
        let mut polls = 0;
        while !ready {
            polls += 1;
            if polls > 60 {
                return Err(PublishError::new(
                    &self.name,
                    Retry::Later,
                    "the image is still being processed after a minute",
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let response = self
                .http
                .get(self.endpoint(&format!("/api/v1/media/{id}")))
                .bearer_auth(token)
                .send()
                .await;
            match response {
                Ok(r) if r.status() == StatusCode::PARTIAL_CONTENT => continue,
                Ok(r) if r.status().is_success() => ready = true,
                Ok(r) => {
                    let code = r.status().as_u16();
                    return Err(self.fatal(format!(
                        "the server could not process the image (HTTP {code})"
                    )));
                }
                Err(_) => continue,
            }
        }
        Ok(id)
    }

    /// The account's id (verify_credentials), for the account's own statuses.
    async fn account(
        &self,
        token: &str,
        what: &str,
        policy: Policy,
    ) -> Result<serde_json::Value, PublishError> {
        retry::run(&self.name, policy, || async {
            let r = self
                .http
                .get(self.endpoint("/api/v1/accounts/verify_credentials"))
                .bearer_auth(token)
                .send()
                .await;
            self.classify(r, what).await
        })
        .await
    }

    /// Looks among the account's newest statuses for one made since `since` (less
    /// ten minutes of clock skew) that carries `marker`. Bounded: a few pages.
    async fn find_status(
        &self,
        token: &str,
        marker: &str,
        since: chrono::DateTime<chrono::Utc>,
        policy: Policy,
    ) -> Result<Option<serde_json::Value>, PublishError> {
        let what = "looking for an earlier status";
        let account = self.account(token, what, policy).await?;
        let id =
            json_str(&account, "id").ok_or_else(|| self.fatal("the account has no id".into()))?;
        // `since` comes from the journal: checked, so no date can overflow it.
        let earliest = since
            .checked_sub_signed(chrono::Duration::minutes(10))
            .unwrap_or(since);
        let mut max_id: Option<String> = None;
        for _page in 0..RECONCILE_PAGES {
            let mut url = self.endpoint(&format!("/api/v1/accounts/{id}/statuses?limit=40"));
            if let Some(m) = &max_id {
                url.push_str(&format!("&max_id={m}"));
            }
            let page = retry::run(&self.name, policy, || async {
                let r = self.http.get(&url).bearer_auth(token).send().await;
                self.classify(r, what).await
            })
            .await?;
            let Some(statuses) = page.as_array().filter(|a| !a.is_empty()) else {
                return Ok(None);
            };
            for status in statuses {
                let created = status
                    .get("created_at")
                    .and_then(|c| c.as_str())
                    .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                    .map(|c| c.with_timezone(&chrono::Utc));
                // Newest first: once past `earliest`, nothing older can match.
                if created.is_some_and(|c| c < earliest) {
                    return Ok(None);
                }
                let content = status.get("content").and_then(|c| c.as_str()).unwrap_or("");
                if carries(content, marker) {
                    return Ok(Some(status.clone()));
                }
            }
            max_id = statuses.last().and_then(|s| json_str(s, "id"));
        }
        Ok(None)
    }

    async fn post_status(
        &self,
        token: &str,
        toot: &Toot,
        media: Option<&str>,
        key: &IdempotencyKey,
    ) -> Result<Receipt, PublishError> {
        let started = self.env.clock.now();
        let marker = marker(toot);
        // After an answer that may hide a success (a timeout, a dropped connection,
        // a 5xx, a body that is not JSON), look before posting again: the key alone
        // is not enough if the server has forgotten it (Mastodon keeps it an hour).
        let ambiguous = std::sync::atomic::AtomicBool::new(false);
        let mut form: Vec<(&str, &str)> = vec![
            ("status", &toot.text),
            ("visibility", toot.visibility.as_str()),
            ("language", &toot.language),
        ];
        if let Some(cw) = &toot.spoiler_text {
            form.push(("spoiler_text", cw));
        }
        if let Some(id) = media {
            form.push(("media_ids[]", id));
        }
        let status = retry::run(&self.name, self.policy, || async {
            if ambiguous.load(std::sync::atomic::Ordering::Relaxed) {
                // One look per round: this loop's own backoff paces it.
                let once = Policy {
                    budget: Duration::ZERO,
                    ..self.policy
                };
                match self.find_status(token, &marker, started, once).await {
                    Ok(Some(status)) => return Attempt::Done(status),
                    Ok(None) => {}
                    Err(e) => {
                        return Attempt::Again {
                            why: e.message,
                            wait: None,
                        };
                    }
                }
            }
            let response = self
                .http
                .post(self.endpoint("/api/v1/statuses"))
                .bearer_auth(token)
                .header("Idempotency-Key", key.as_str())
                .form(&form)
                .send()
                .await;
            // A refused connection never reached the server, and a 429 was refused
            // before anything was made; anything else that asks for another try
            // (a timeout, a dropped answer, a 5xx) may have made the status.
            let unreached = response.as_ref().err().is_some_and(|e| e.is_connect());
            let attempt = self.classify(response, "posting the status").await;
            if let Attempt::Again { wait: None, .. } = &attempt
                && !unreached
            {
                ambiguous.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            attempt
        })
        .await?;
        let mut receipt = receipt_of(&status)
            .ok_or_else(|| self.fatal("posting the status: the answer has no id".into()))?;
        receipt.dropped = dropped(toot, media.is_some(), &status);
        for what in &receipt.dropped {
            tracing::warn!(publisher = %self.name, "the server dropped {what}");
        }
        Ok(receipt)
    }
}

impl http::Dialect for Mastodon {
    type Done = serde_json::Value;

    fn ok(&self, body: serde_json::Value) -> serde_json::Value {
        body
    }

    fn message(&self, body: &serde_json::Value, raw: &str) -> String {
        body.get("error")
            .and_then(|e| e.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| http::excerpt(raw))
    }

    fn refused(
        &self,
        status: StatusCode,
        _body: &serde_json::Value,
        message: &str,
        what: &str,
    ) -> Attempt<serde_json::Value> {
        Attempt::Fatal(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => format!(
                "{what}: the server refused the access token (HTTP {}: {message}); make a new token with the write:statuses and write:media scopes at {}/settings/applications and put it where `token_env` or `token_file` points",
                status.as_u16(),
                super::base_of(&self.config.instance)
            ),
            StatusCode::UNPROCESSABLE_ENTITY => {
                format!("{what}: the server rejected it (HTTP 422: {message})")
            }
            s => format!("{what}: HTTP {} ({message})", s.as_u16()),
        })
    }
}

impl Publisher for Mastodon {
    fn name(&self) -> &str {
        &self.name
    }

    fn account(&self) -> String {
        format!("mastodon {}", super::base_of(&self.config.instance))
    }

    fn correct<'a>(
        &'a self,
        out: &'a crate::journal::Record,
        before: &'a crate::journal::Sent,
        now: &'a Rendered,
        new_picture: bool,
        _repost: bool,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let Output::Mastodon(toot) = &now.output else {
                return Err(
                    self.fatal("internal: asked to send another backend's rendering".into())
                );
            };
            let id = out.remote_id.as_deref().unwrap_or_default();
            let token = self.token()?;
            // A changed (or new) picture is uploaded first; an unchanged one is kept
            // by its id, with its description brought up to date.
            let media: Vec<String> = match &toot.image {
                None => vec![],
                Some(image) if new_picture || before.media.is_empty() => {
                    vec![self.upload(&token, image).await?]
                }
                Some(_) => before.media.clone(),
            };
            let mut form: Vec<(&str, &str)> = vec![
                ("status", &toot.text),
                ("language", &toot.language),
                // An empty one takes a content warning away.
                ("spoiler_text", toot.spoiler_text.as_deref().unwrap_or("")),
            ];
            let alt = toot.image.as_ref().map(|i| i.alt.as_str()).unwrap_or("");
            for m in &media {
                form.push(("media_ids[]", m));
                form.push(("media_attributes[][id]", m));
                form.push(("media_attributes[][description]", alt));
            }
            let url = self.endpoint(&format!("/api/v1/statuses/{id}"));
            let status = retry::run(&self.name, self.policy, || async {
                let r = self
                    .http
                    .put(&url)
                    .bearer_auth(&token)
                    .form(&form)
                    .send()
                    .await;
                self.classify(r, "editing the status").await
            })
            .await?;
            let mut receipt = receipt_of(&status)
                .ok_or_else(|| self.fatal("editing the status: the answer has no id".into()))?;
            if receipt.media.is_empty() {
                receipt.media = media;
            }
            Ok(receipt)
        })
    }

    fn unpublish<'a>(
        &'a self,
        out: &'a crate::journal::Record,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            let id = out.remote_id.as_deref().unwrap_or_default();
            let token = self.token()?;
            let url = self.endpoint(&format!("/api/v1/statuses/{id}"));
            retry::run(&self.name, self.policy, || async {
                let r = self.http.delete(&url).bearer_auth(&token).send().await;
                // Gone already (deleted by hand): what was asked for is true.
                if r.as_ref()
                    .is_ok_and(|r| r.status() == StatusCode::NOT_FOUND)
                {
                    return Attempt::Done(serde_json::Value::Null);
                }
                self.classify(r, "deleting the status").await
            })
            .await
            .map(|_| ())
        })
    }

    fn credentials(&self) -> Result<(), String> {
        self.config
            .token
            .read(&self.env)
            .map(|_| ())
            .map_err(|e| format!("no access token: {e}"))
    }

    fn settle(&self) -> Duration {
        self.timeout
    }

    fn reconcile<'a>(
        &'a self,
        marker: &'a str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Receipt>, PublishError>> {
        Box::pin(async move {
            if marker.is_empty() {
                return Ok(None);
            }
            let token = self.token()?;
            Ok(self
                .find_status(&token, marker, since, self.policy)
                .await?
                .and_then(|status| receipt_of(&status)))
        })
    }

    fn render(&self, post: &Post, occasion: &Occasion) -> Result<Rendered, RenderError> {
        let tags = render::hashtags(&self.config.hashtags, &post.tags);
        let message = Message {
            post,
            date: occasion.date,
            template: self
                .config
                .template
                .as_deref()
                .unwrap_or(render::DEFAULT_TEMPLATE),
            hashtags: &tags,
        };
        let spoiler = post.content_warning.clone();
        let spoiler_length = spoiler.as_deref().map_or(0, mastodon_length);
        let limit = self.config.max_characters;
        let (text, length) = message
            .fitted(limit, |t| spoiler_length + mastodon_length(t))
            .map_err(|source| RenderError::TooLong {
                publisher: self.name.clone(),
                source,
            })?;
        let language = post
            .lang
            .clone()
            .unwrap_or_else(|| self.env.language.clone());
        // Mastodon takes ISO 639-1: the language part of a BCP 47 tag.
        let language = language.split('-').next().unwrap_or("en").to_lowercase();
        Ok(Rendered {
            publisher: self.name.clone(),
            output: Output::Mastodon(Toot {
                text,
                length,
                limit,
                visibility: self.config.visibility,
                language,
                spoiler_text: spoiler,
                image: post.image.as_ref().map(|i| Attachment {
                    path: i.path.clone(),
                    alt: i.alt.clone(),
                    file: i.file.clone(),
                }),
            }),
        })
    }

    fn publish<'a>(
        &'a self,
        rendered: &'a Rendered,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let Output::Mastodon(toot) = &rendered.output else {
                return Err(
                    self.fatal("internal: asked to send another backend's rendering".into())
                );
            };
            let token = self.token()?;
            let media = match &toot.image {
                Some(image) => Some(self.upload(&token, image).await?),
                None => None,
            };
            self.post_status(&token, toot, media.as_deref(), key).await
        })
    }

    fn engagement<'a>(
        &'a self,
        remote_ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, Engagement)>, PublishError>> {
        Box::pin(async move {
            let token = self.token()?;
            let mut found = Vec::with_capacity(remote_ids.len());
            // `GET /api/v1/statuses?id[]=...` (Mastodon 4.3): up to 40 a request.
            for batch in remote_ids.chunks(STATUSES_PER_REQUEST) {
                let query: Vec<(&str, &str)> =
                    batch.iter().map(|id| ("id[]", id.as_str())).collect();
                let url = self.endpoint("/api/v1/statuses");
                let answer = retry::run(&self.name, self.policy, || async {
                    let r = self
                        .http
                        .get(&url)
                        .query(&query)
                        .bearer_auth(&token)
                        .send()
                        .await;
                    self.classify(r, "reading the statuses' counts").await
                })
                .await?;
                for status in answer.as_array().into_iter().flatten() {
                    let Some(id) = json_str(status, "id") else {
                        continue;
                    };
                    let count = |key: &str| status.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
                    found.push((
                        id,
                        Engagement {
                            likes: count("favourites_count"),
                            reposts: count("reblogs_count"),
                            replies: count("replies_count"),
                        },
                    ));
                }
            }
            Ok(found)
        })
    }

    fn check_online(&self) -> BoxFuture<'_, Result<OnlineReport, PublishError>> {
        Box::pin(async move {
            let token = self.token()?;
            let policy = Policy {
                budget: Duration::from_secs(10),
                ..self.policy
            };
            let account = self
                .account(&token, "checking the access token", policy)
                .await?;
            let instance = retry::run(&self.name, policy, || async {
                let r = self
                    .http
                    .get(self.endpoint("/api/v2/instance"))
                    .send()
                    .await;
                self.classify(r, "reading the instance's limits").await
            })
            .await?;
            let mut report = OnlineReport {
                findings: vec![],
                problems: vec![],
            };
            let acct = json_str(&account, "acct").unwrap_or_else(|| "?".into());
            let bot = account
                .get("bot")
                .and_then(|b| b.as_bool())
                .unwrap_or(false);
            report.findings.push(format!(
                "posts as @{acct}{}",
                if bot { " (marked as a bot)" } else { "" }
            ));
            if !bot {
                report.findings.push("the account is not marked as a bot: tick \"This is an automated account\" in its profile settings".into());
            }
            let server_max = instance
                .pointer("/configuration/statuses/max_characters")
                .and_then(|v| v.as_u64());
            match server_max {
                Some(max) if max as usize == self.config.max_characters => {
                    report.findings.push(format!("max_characters {max} matches the server"))
                }
                // A lower limit is safe, and may be the operator's choice: a note.
                Some(max) if (max as usize) > self.config.max_characters => {
                    report.findings.push(format!(
                        "note: max_characters is {}, below the server's {max}: toots stay shorter than they could be (set `max_characters = {max}` to use it all)",
                        self.config.max_characters
                    ))
                }
                Some(max) => report.problems.push(format!(
                    "max_characters is {} but the server allows only {max}: set `max_characters = {max}`, or longer toots will be refused",
                    self.config.max_characters
                )),
                None => report.findings.push("the server does not advertise its character limit".into()),
            }
            Ok(report)
        })
    }
}

/// The most statuses one `GET /api/v1/statuses` asks for.
const STATUSES_PER_REQUEST: usize = 40;

/// Pages of the account's statuses read when reconciling (40 each).
const RECONCILE_PAGES: usize = 5;

/// What reconciliation looks for in a status: the first link of the text (the
/// post's, with the shipped templates), else its first line.
pub fn marker(toot: &Toot) -> String {
    match crate::text::url_ranges(&toot.text).into_iter().next() {
        Some((start, end)) => toot.text[start..end].to_string(),
        None => toot
            .text
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Whether a status's HTML `content` carries `marker`: in a link's `href` (the
/// server splits a link's visible text into spans), or in its text.
fn carries(content: &str, marker: &str) -> bool {
    let escaped = marker.replace('&', "&amp;");
    if content.contains(&escaped) || content.contains(marker) {
        return true;
    }
    let mut text = String::with_capacity(content.len());
    let mut in_tag = false;
    for c in content.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.contains(marker)
}

/// What the server's answer shows it did not keep of what was sent (some servers
/// ignore `spoiler_text` or `unlisted`): to be said, not lost quietly.
fn dropped(toot: &Toot, sent_media: bool, status: &serde_json::Value) -> Vec<String> {
    let mut dropped = Vec::new();
    let field = |k: &str| status.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    if toot.spoiler_text.is_some() && field("spoiler_text").is_empty() {
        dropped.push("the content warning".to_string());
    }
    let visibility = field("visibility");
    if !visibility.is_empty() && visibility != toot.visibility.as_str() {
        dropped.push(format!(
            "the visibility: sent {}, it says {visibility}",
            toot.visibility.as_str()
        ));
    }
    let attached = status
        .get("media_attachments")
        .and_then(|m| m.as_array())
        .is_some_and(|m| !m.is_empty());
    if sent_media && !attached {
        dropped.push("the picture".to_string());
    }
    dropped
}

/// The id and address of a status.
fn receipt_of(status: &serde_json::Value) -> Option<Receipt> {
    Some(Receipt {
        remote_id: json_str(status, "id")?,
        url: json_str(status, "url").or_else(|| json_str(status, "uri")),
        media: status
            .get("media_attachments")
            .and_then(|m| m.as_array())
            .map(|all| all.iter().filter_map(|m| json_str(m, "id")).collect())
            .unwrap_or_default(),
        dropped: vec![],
    })
}
