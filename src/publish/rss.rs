//! RSS 2.0: the feed file at `path`, newest item first, at most `max_items`.
//!
//! The items live in a JSON file in the state folder; the XML is generated from
//! them every time, deterministically, so a feed with no news is byte-identical
//! when rewritten and a publication already in the feed is never added twice.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pulldown_cmark::{CowStr, Event, Parser, Tag, TagEnd};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event as XmlEvent};
use serde::{Deserialize, Serialize};

use super::{
    BoxFuture, Environment, IdempotencyKey, Occasion, OnlineReport, Output, PublishError,
    Publisher, Receipt, RenderError, Rendered, Retry,
};
use crate::atomic;
use crate::post::Post;
use crate::render;
use crate::settings::{Problem, Problems};

/// `[publishers.NAME]` with `type = "rss"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssConfig {
    pub path: PathBuf,
    pub feed_url: String,
    pub title: String,
    pub link: String,
    pub description: String,
    #[serde(default = "default_max_items")]
    pub max_items: usize,
}

fn default_max_items() -> usize {
    30
}

/// `[publishers.NAME]` with `type = "rss"`, checked once at load.
#[derive(Debug, Clone)]
pub struct RssSettings {
    pub path: PathBuf,
    /// As written (it is the feed's identity in every item's guid).
    pub feed_url: String,
    pub title: String,
    pub link: String,
    pub description: String,
    pub max_items: usize,
}

impl RssConfig {
    pub(super) fn check(self, base: &Path) -> Result<RssSettings, Vec<Problem>> {
        let mut problems = Problems::default();
        for (key, value) in [("feed_url", &self.feed_url), ("link", &self.link)] {
            let web = url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
            problems.check(
                !web,
                key,
                &format!("`{value}` must be an absolute http(s) URL"),
            );
        }
        for (key, value) in [("title", &self.title), ("description", &self.description)] {
            problems.check(value.trim().is_empty(), key, "must not be empty");
        }
        problems.check(self.max_items == 0, "max_items", "must be above 0");
        if !problems.is_empty() {
            return Err(problems.0);
        }
        Ok(RssSettings {
            path: crate::settings::clean(&base.join(&self.path)),
            feed_url: self.feed_url,
            title: self.title,
            link: self.link,
            description: self.description,
            max_items: self.max_items,
        })
    }
}

/// One feed item, as it will be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub title: String,
    pub link: String,
    /// Unique per publication (post and date), not a permalink.
    pub guid: String,
    /// The summary, as plain text.
    pub description: String,
    /// The whole post as HTML, with absolute links only.
    #[serde(rename = "content_encoded")]
    pub content_html: String,
    #[serde(rename = "pubDate")]
    pub pub_date: String,
    /// The same instant, for ordering and for keeping items out of the future.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// When it was last corrected: the feed's `lastBuildDate` moves to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

pub struct Rss {
    name: String,
    config: RssSettings,
    env: Environment,
}

impl Rss {
    pub fn new(name: &str, config: &RssSettings, env: &Environment) -> Self {
        Rss {
            name: name.to_string(),
            config: config.clone(),
            env: env.clone(),
        }
    }

    /// Where the items are kept between runs.
    fn items_path(&self) -> PathBuf {
        let mut p = self.config.path.clone().into_os_string();
        p.push(".items.json");
        PathBuf::from(p)
    }

    fn fail(&self, message: String) -> PublishError {
        PublishError::new(&self.name, Retry::Later, message)
    }

    /// The items kept between runs (read under the state folder's publish lock).
    fn items(&self) -> Result<Vec<Item>, PublishError> {
        let items_path = self.items_path();
        match crate::files::read_bounded(&items_path, 64 << 20, false) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                self.fail(format!("the feed's item store {} is damaged ({e}): restore it from a backup or delete it to start the feed afresh", items_path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.fail(format!("cannot read {}: {e}", items_path.display()))),
        }
    }

    /// Adds `item` (unless its guid is there already) and rewrites the feed.
    pub fn add(&self, mut item: Item) -> Result<Receipt, PublishError> {
        let mut items = self.items()?;
        let receipt = Receipt {
            remote_id: item.guid.clone(),
            url: Some(item.link.clone()),
            media: vec![],
            dropped: vec![],
        };
        if !items.iter().any(|i| i.guid == item.guid) {
            // An item is never dated in the future: a manual run before the day's
            // scheduled time is dated now.
            let now = self.env.clock.now();
            if item.at.is_none_or(|at| at > now) {
                item.at = Some(now);
                item.pub_date = rfc822(now.with_timezone(&self.env.timezone));
            }
            items.push(item);
            items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.guid.cmp(&a.guid)));
            items.truncate(self.config.max_items);
            self.store(&items)?;
            return Ok(receipt);
        }
        self.write_feed(&items)?;
        Ok(receipt)
    }

    /// Keeps `items` and rewrites the feed from them.
    fn store(&self, items: &[Item]) -> Result<(), PublishError> {
        let items_path = self.items_path();
        let json = serde_json::to_vec_pretty(items).map_err(|e| self.fail(e.to_string()))?;
        atomic::write(&items_path, &json)
            .map_err(|e| self.fail(format!("cannot write {}: {e}", items_path.display())))?;
        self.write_feed(items)
    }

    /// Writes the feed for `items`, unless it already says exactly that.
    fn write_feed(&self, items: &[Item]) -> Result<(), PublishError> {
        let xml = self.feed(items);
        let unchanged = std::fs::read(&self.config.path).is_ok_and(|old| old == xml.as_bytes());
        if !unchanged {
            atomic::write(&self.config.path, xml.as_bytes()).map_err(|e| {
                self.fail(format!(
                    "cannot write the feed {}: {e}",
                    self.config.path.display()
                ))
            })?;
        }
        Ok(())
    }

    /// The feed's XML for `items` (newest first). Deterministic.
    pub fn feed(&self, items: &[Item]) -> String {
        let c = &self.config;
        let mut w = Writer::new_with_indent(Vec::with_capacity(4096), b' ', 2);
        // Writing to a Vec cannot fail; the results are checked all the same.
        let written = (|| -> std::io::Result<()> {
            w.write_event(XmlEvent::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
            w.create_element("rss")
                .with_attributes([
                    ("version", "2.0"),
                    ("xmlns:atom", "http://www.w3.org/2005/Atom"),
                    ("xmlns:content", "http://purl.org/rss/1.0/modules/content/"),
                ])
                .write_inner_content(|w| {
                    w.create_element("channel").write_inner_content(|w| {
                        text_element(w, "title", &c.title)?;
                        text_element(w, "link", &c.link)?;
                        text_element(w, "description", &c.description)?;
                        text_element(w, "language", &self.env.language)?;
                        w.create_element("atom:link")
                            .with_attributes([
                                ("href", xml_chars(&c.feed_url).as_str()),
                                ("rel", "self"),
                                ("type", "application/rss+xml"),
                            ])
                            .write_empty()?;
                        text_element(w, "generator", "todayis")?;
                        if let Some(newest) = items.first() {
                            // The newest item's date, or a later correction's.
                            let corrected = items.iter().filter_map(|i| i.updated).max();
                            let built = match corrected {
                                Some(u) if newest.at.is_none_or(|at| u > at) => {
                                    rfc822(u.with_timezone(&self.env.timezone))
                                }
                                _ => newest.pub_date.clone(),
                            };
                            text_element(w, "lastBuildDate", &built)?;
                        }
                        for item in items {
                            w.create_element("item").write_inner_content(|w| {
                                text_element(w, "title", &item.title)?;
                                text_element(w, "link", &item.link)?;
                                w.create_element("guid")
                                    .with_attribute(("isPermaLink", "false"))
                                    .write_text_content(BytesText::new(&xml_chars(&item.guid)))?;
                                text_element(w, "description", &item.description)?;
                                text_element(w, "content:encoded", &item.content_html)?;
                                text_element(w, "pubDate", &item.pub_date)?;
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })();
        debug_assert!(written.is_ok());
        let mut xml = String::from_utf8(w.into_inner()).unwrap_or_default();
        xml.push('\n');
        xml
    }
}

/// `<name>text</name>`, the text escaped by the writer.
fn text_element<W: std::io::Write>(
    w: &mut Writer<W>,
    name: &str,
    text: &str,
) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_chars(text)))?;
    Ok(())
}

/// Drops the characters XML 1.0 forbids (control characters but tab and line
/// ends, U+FFFE, U+FFFF): escaping cannot make those valid.
fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !(((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                || c == '\u{fffe}'
                || c == '\u{ffff}')
        })
        .collect()
}

impl Publisher for Rss {
    fn name(&self) -> &str {
        &self.name
    }

    fn render(&self, post: &Post, occasion: &Occasion) -> Result<Rendered, RenderError> {
        let item = Item {
            title: post.title.clone(),
            link: post.url.clone(),
            // The feed and the date, never the post's URL: an edited post (or one a
            // retry picks instead) is the same item.
            guid: format!("{}#todayis-{}", self.config.feed_url, occasion.date),
            description: render::summary_of(post),
            content_html: body_html(post),
            pub_date: rfc822(occasion.at),
            at: Some(occasion.at.with_timezone(&Utc)),
            updated: None,
        };
        Ok(Rendered {
            publisher: self.name.clone(),
            output: Output::Rss(item),
        })
    }

    fn publish<'a>(
        &'a self,
        rendered: &'a Rendered,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let Output::Rss(item) = &rendered.output else {
                return Err(PublishError::new(
                    &self.name,
                    Retry::Never,
                    "internal: asked to write another backend's rendering",
                ));
            };
            let item = Item {
                guid: guid_for(item, key),
                ..item.clone()
            };
            // A few kilobytes written once a day: done in place, not on a blocking pool,
            // so the write is never cut off halfway by a caller's timeout.
            self.add(item)
        })
    }

    fn account(&self) -> String {
        format!("rss {}", self.config.path.display())
    }

    fn unpublish<'a>(
        &'a self,
        out: &'a crate::journal::Record,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            let guid = out.remote_id.as_deref().unwrap_or_default();
            let mut items = self.items()?;
            let before = items.len();
            items.retain(|i| i.guid != guid);
            if items.len() != before {
                self.store(&items)?;
            }
            Ok(())
        })
    }

    fn correct<'a>(
        &'a self,
        out: &'a crate::journal::Record,
        _before: &'a crate::journal::Sent,
        now: &'a Rendered,
        _new_picture: bool,
        _repost: bool,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let Output::Rss(new) = &now.output else {
                return Err(
                    self.fail("internal: asked to write another backend's rendering".into())
                );
            };
            let guid = out.remote_id.as_deref().unwrap_or_default();
            let mut items = self.items()?;
            let Some(item) = items.iter_mut().find(|i| i.guid == guid) else {
                return Err(PublishError::new(
                    &self.name,
                    Retry::Never,
                    format!(
                        "the item {guid} is no longer in the feed (only the newest {} are kept): nothing to correct",
                        self.config.max_items
                    ),
                ));
            };
            // The same guid, date and place: only what it says changes.
            let changed = item.title != new.title
                || item.link != new.link
                || item.description != new.description
                || item.content_html != new.content_html;
            if changed {
                item.title = new.title.clone();
                item.link = new.link.clone();
                item.description = new.description.clone();
                item.content_html = new.content_html.clone();
                item.updated = Some(self.env.clock.now());
                self.store(&items)?;
            }
            Ok(Receipt {
                remote_id: guid.to_string(),
                url: Some(new.link.clone()),
                media: vec![],
                dropped: vec![],
            })
        })
    }

    fn reconcile<'a>(
        &'a self,
        marker: &'a str,
        _since: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Option<Receipt>, PublishError>> {
        Box::pin(async move {
            let items = self.items()?;
            Ok(items
                .into_iter()
                .find(|i| i.guid == marker)
                .map(|i| Receipt {
                    remote_id: i.guid,
                    url: Some(i.link),
                    media: vec![],
                    dropped: vec![],
                }))
        })
    }

    fn check_online(&self) -> BoxFuture<'_, Result<OnlineReport, PublishError>> {
        Box::pin(async move {
            let folder = self.config.path.parent().unwrap_or(Path::new("."));
            let mut report = OnlineReport {
                findings: vec![],
                problems: vec![],
            };
            if folder.as_os_str().is_empty() || folder.is_dir() {
                report
                    .findings
                    .push(format!("writes {}", self.config.path.display()));
            } else {
                report
                    .findings
                    .push(format!("will create the folder {}", folder.display()));
            }
            Ok(report)
        })
    }
}

/// The guid of a publication: the rendering's for the first one of a date, a new
/// one for a publication forced on top of it.
pub fn guid_for(item: &Item, key: &IdempotencyKey) -> String {
    if key.generation == 0 {
        item.guid.clone()
    } else {
        format!("{}-{}", item.guid, key.generation)
    }
}

/// RFC 822 with a four-digit year, e.g. `Sun, 25 Feb 2024 09:00:00 +0000`.
pub fn rfc822<Tz: chrono::TimeZone>(at: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// The post's body as HTML: raw HTML in the Markdown is dropped (a feed reader must
/// never run a post's `<script>`), and relative links are made absolute against the
/// post's own URL.
pub fn body_html(post: &Post) -> String {
    let base = url::Url::parse(&post.url).ok();
    let absolute = |dest: CowStr<'static>| -> CowStr<'static> {
        match (&base, url::Url::parse(&dest)) {
            (_, Ok(_)) => dest,
            (Some(base), Err(_)) => base
                .join(&dest)
                .map(|u| CowStr::from(u.to_string()))
                .unwrap_or(dest),
            (None, Err(_)) => dest,
        }
    };
    // Links keep only http(s) and mailto targets, pictures only http(s): a
    // `javascript:` or `data:` URL never reaches a reader. A dropped link or
    // picture leaves its text; the stacks pair each end with its start.
    let mut links: Vec<bool> = Vec::new();
    let mut images: Vec<bool> = Vec::new();
    let events = Parser::new(&post.body).filter_map(move |event| match event {
        Event::Html(_) | Event::InlineHtml(_) => None,
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = absolute(dest_url.into_static());
            let keep = safe_url(&dest_url, &["http", "https", "mailto"]);
            links.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(event),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = absolute(dest_url.into_static());
            let keep = safe_url(&dest_url, &["http", "https"]);
            images.push(keep);
            keep.then_some(Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Image) => images.pop().unwrap_or(false).then_some(event),
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html.trim_end().to_string()
}

/// Whether `url` is absolute with one of `schemes`.
fn safe_url(url: &str, schemes: &[&str]) -> bool {
    url::Url::parse(url).is_ok_and(|u| schemes.contains(&u.scheme()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_what_xml_forbids() {
        assert_eq!(xml_chars("a\u{1}b\tc\u{ffff}"), "ab\tc");
    }

    #[test]
    fn only_web_and_mail_links_and_web_pictures_reach_the_feed() {
        let body = "[a](javascript:alert(1)) [b](data:text/html,x) [c](https://ok.example/) \
                    [d](mailto:ed@example.org) [e](/rel) ![p](data:image/png;base64,AA) \
                    ![q](https://ok.example/q.png) [f](JaVaScRiPt:alert(1))";
        let post = crate::post::parse(
            std::path::Path::new("02-25-k.md"),
            &format!("+++\ntitle = \"t\"\ndate = 1956-02-25\nurl = \"https://b.example/p/k.html\"\n+++\n{body}\n"),
        )
        .unwrap();
        let html = body_html(&post);
        assert!(!html.to_ascii_lowercase().contains("javascript"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        for kept in [
            "href=\"https://ok.example/\"",
            "href=\"mailto:ed@example.org\"",
            "href=\"https://b.example/rel\"",
            "src=\"https://ok.example/q.png\"",
        ] {
            assert!(html.contains(kept), "{kept} in {html}");
        }
        for text in ["a", "b", "p", "f"] {
            assert!(
                html.contains(&format!("{text} ")) || html.contains(&format!(" {text}")),
                "the text {text} stays: {html}"
            );
        }
    }

    #[test]
    fn dates_are_rfc822_with_the_right_weekday() {
        let at = DateTime::parse_from_rfc3339("2024-02-25T09:00:00+00:00").unwrap();
        assert_eq!(rfc822(at), "Sun, 25 Feb 2024 09:00:00 +0000");
    }
}
