//! todayis: the "Today Is..." blog's social-media bot.
//!
//! # Layout
//! The code map with each module's invariant is ARCHITECTURE.md. In short:
//! - pure core: [`post`] (parse), [`text`], [`render`], `editor`, `schedule`,
//!   `scheduler`, `calendar`, [`import`], `settings`, [`page`] (the HTML);
//! - shells: `library`, `files`, `atomic`, [`journal`], `lock`, [`publish`] (one file
//!   per backend, `publish::http` shared), `fetch`, `takeout`;
//! - orchestration: [`runner`], [`daemon`] with [`status`] and [`server`],
//!   [`stats`] (engagement: the report, the cache, asking the servers),
//!   [`dashboard`] (what the daemon's page shows),
//!   [`commands`] (a report each, then printed);
//! - [`config`] checks the file into settings; [`clock`] is time as a dependency.
pub(crate) mod atomic;
pub(crate) mod calendar;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod dashboard;
pub(crate) mod editor;
pub(crate) mod fetch;
pub(crate) mod files;
pub mod import;
pub mod journal;
pub(crate) mod library;
pub(crate) mod lock;
pub mod page;
pub(crate) mod position;
pub mod post;
pub mod publish;
pub mod render;
pub mod runner;
pub(crate) mod schedule;
pub(crate) mod scheduler;
pub mod server;
pub mod settings;
pub mod stats;
pub mod status;
pub(crate) mod takeout;
pub mod text;
