//! todayis: the "Today Is..." blog's social-media bot.
//!
//! # Layout
//! - [`config`]: the config file, checked into [`config::Config`]; collects every problem.
//! - [`post`]: one post file: parse (pure) and load (the file system shell).
//! - [`library`]: the posts folder; picking the day's post (pure).
//! - [`text`]: Markdown to plain text, sentences, Mastodon's way of counting, fitting.
//! - [`render`]: templates, hashtags and the fitted message (pure).
//! - [`schedule`]: cron in an IANA zone: the next fire instant, DST-safe; no clock.
//! - [`scheduler`]: the daemon's decisions (what is due, retries, catch-up); no IO, no clock.
//! - [`calendar`]: which post goes out on each day of a year; coverage.
//! - [`daemon`]: `todayis run`: the loop that sleeps, publishes and handles signals.
//! - [`status`] and [`server`]: health, metrics and the feed over HTTP.
//! - [`publish`]: the publisher seam and one file per backend; the only network code.
//! - [`import`]: Blogger exports and feeds into post files (pure).
//! - [`journal`]: what was published when; durable before success is reported.
//! - [`clock`]: time as a dependency.
//! - [`atomic`]: whole-file writes that a crash cannot tear.
//! - [`position`]: byte offsets to `line:column` for error messages.
pub(crate) mod atomic;
pub(crate) mod calendar;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub(crate) mod editor;
pub(crate) mod fetch;
pub(crate) mod files;
pub mod import;
pub mod journal;
pub(crate) mod library;
pub(crate) mod lock;
pub(crate) mod position;
pub mod post;
pub mod publish;
pub mod render;
pub mod runner;
pub(crate) mod schedule;
pub(crate) mod scheduler;
pub mod server;
pub(crate) mod settings;
pub mod status;
pub mod text;
