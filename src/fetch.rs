//! Fetching a blog's feed for `import blogger URL`, page by page, with every
//! bound a hostile or broken server needs: a page size cap, a page count cap,
//! redirects only within the blog's own host (or from http to https), and a stop
//! as soon as a page brings nothing new (a server that ignores `start-index` would
//! otherwise send the same page forever).

use std::collections::HashSet;

use crate::import::{self, Entry};

/// The most bytes one page may have.
pub const MAX_PAGE_BYTES: usize = 32 * 1024 * 1024;
/// The most pages asked for (100 entries each: 100,000 posts).
pub const MAX_PAGES: usize = 1_000;
const PAGE_SIZE: usize = 100;

/// What went wrong fetching, in words for the blog owner.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    #[error("cannot fetch {url}: {why}")]
    Transport { url: String, why: &'static str },
    #[error("fetching {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("fetching {url}: the page is larger than {MAX_PAGE_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url}: {message}")]
    Feed { url: String, message: String },
    #[error("stopped after {MAX_PAGES} pages of {url}: the feed keeps going")]
    TooManyPages { url: String },
}

/// A blog's address, or a feed's: the Atom feed of its posts.
pub fn feed_url(url: &str) -> Result<url::Url, FetchError> {
    let mut u = url::Url::parse(url).map_err(|_| FetchError::NotAUrl(url.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(FetchError::NotAUrl(url.to_string()));
    }
    if !u.path().contains("/feeds/") {
        u.set_path(&format!(
            "{}/feeds/posts/default",
            u.path().trim_end_matches('/')
        ));
    }
    // Keep the caller's other parameters (alt=rss, ...) but page ourselves.
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "start-index" && k != "max-results")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.set_query(None);
    if !pairs.is_empty() {
        u.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(u)
}

/// A client that follows at most five redirects, each to the same host (or from
/// http to https on it): an import never wanders off to another server.
fn client(host: String) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        let same = attempt.url().host_str() == Some(host.as_str())
            && matches!(attempt.url().scheme(), "https" | "http")
            && !(attempt.url().scheme() == "http"
                && attempt
                    .previous()
                    .last()
                    .is_some_and(|p| p.scheme() == "https"));
        if attempt.previous().len() >= 5 || !same {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("todayis/", env!("CARGO_PKG_VERSION")))
        .redirect(policy)
        .build()
        .unwrap_or_default()
}

/// Every entry of the feed at `url`, pages joined, each entry once. `on_page` is
/// told after each page (page number, entries so far, and the feed's total where it
/// says: `openSearch:totalResults`), for a progress line.
pub async fn fetch_all(
    url: &str,
    blog_url: Option<&str>,
    mut on_page: impl FnMut(usize, usize, Option<usize>),
) -> Result<Vec<Entry>, FetchError> {
    let feed = feed_url(url)?;
    let client = client(feed.host_str().unwrap_or_default().to_string());
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let mut start = 1;
    for page_number in 1..=MAX_PAGES {
        let mut page = feed.clone();
        page.query_pairs_mut()
            .append_pair("start-index", &start.to_string())
            .append_pair("max-results", &PAGE_SIZE.to_string());
        let text = fetch_page(&client, &page).await?;
        let feed_error = |message: String| FetchError::Feed {
            url: page.to_string(),
            message,
        };
        let root = import::parse_xml(&text).map_err(feed_error)?;
        let total = import::total_results(&root);
        let batch = import::entries(&root, blog_url).map_err(feed_error)?;
        let count = batch.len();
        let mut new = 0;
        for entry in batch {
            if seen.insert(identity(&entry)) {
                entries.push(entry);
                new += 1;
            }
        }
        on_page(page_number, entries.len(), total);
        // An empty page is the end; so is a page with nothing new on it (a server
        // that ignores `start-index` sends the first page again and again).
        if new == 0 {
            return Ok(entries);
        }
        start += count;
    }
    Err(FetchError::TooManyPages {
        url: feed.to_string(),
    })
}

/// What makes two entries the same: the address, else the title and date.
fn identity(entry: &Entry) -> String {
    match &entry.url {
        Some(url) => url.clone(),
        None => format!(
            "{}\0{}\0{}",
            entry.title,
            entry.published.as_deref().unwrap_or_default(),
            entry.html.len()
        ),
    }
}

/// One page as text, read in chunks up to [`MAX_PAGE_BYTES`].
async fn fetch_page(client: &reqwest::Client, page: &url::Url) -> Result<String, FetchError> {
    let transport = |e: reqwest::Error| FetchError::Transport {
        url: page.to_string(),
        why: if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else if e.is_redirect() {
            "too many redirects"
        } else {
            "the request failed"
        },
    };
    let mut response = client.get(page.clone()).send().await.map_err(transport)?;
    let status = response.status();
    if status.is_redirection() {
        return Err(FetchError::Feed {
            url: page.to_string(),
            message: format!(
                "redirected to another host ({}); give the blog's own address",
                response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("?")
            ),
        });
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: page.to_string(),
            status: status.as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PAGE_BYTES as u64)
    {
        return Err(FetchError::TooLarge {
            url: page.to_string(),
        });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(FetchError::TooLarge {
                url: page.to_string(),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| FetchError::Feed {
        url: page.to_string(),
        message: "not UTF-8 text".into(),
    })
}
