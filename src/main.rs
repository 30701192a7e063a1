//! The command line: parses flags, sets up logging, reads the clock, and maps
//! results to exit statuses (0 success, 1 the job failed, 2 usage or config error).
//! It is the only place that reads the system clock or exits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use todayis::clock::Clock;
use todayis::commands::{self, CalendarFormat, StatsFormat};
use todayis::config::{self, Config};
use todayis::{daemon, server};

#[derive(Parser)]
#[command(
    name = "todayis",
    version,
    about = "The \"Today Is...\" history blog's social-media bot"
)]
struct Cli {
    /// The config file [default: $TODAYIS_CONFIG, else config/todayis.toml]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Log lines as text or as one JSON object per line
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TODAYIS_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    /// How long a one-shot command (publish, check --online, correct, unpublish)
    /// keeps retrying a server that does not answer, e.g. 30s or 2m
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s")]
    retry_for: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon: publish on the schedule until SIGTERM/SIGINT; SIGHUP reloads the config
    #[command(after_help = "Example: todayis --log-format json run")]
    Run,
    /// Exit 0 if the running daemon's /healthz answers 200 (for container health checks)
    #[command(after_help = "Example: todayis healthcheck || echo unhealthy")]
    Healthcheck,
    /// Show what would go out, touching no network and no state
    #[command(
        after_help = "Examples:\n  todayis preview --date 2026-02-25\n  todayis preview --post posts/07/07-20-apollo-11-moon-landing.md --publisher mastodon --json"
    )]
    Preview {
        /// The publishing date [default: today in the bot's time zone; with --post, the post's own next day]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Preview this post file instead of the day's post
        #[arg(long, value_name = "FILE")]
        post: Option<PathBuf>,
        /// Only these publishers (repeatable)
        #[arg(long = "publisher", value_name = "NAME")]
        publishers: Vec<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Publish the day's post now, once per publisher (journaled)
    #[command(
        after_help = "Example: TODAYIS_MASTODON_TOKEN=... todayis publish --date 2026-02-25 --publisher mastodon"
    )]
    Publish {
        /// The publishing date [default: today in the bot's time zone]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Only these publishers (repeatable)
        #[arg(long = "publisher", value_name = "NAME")]
        publishers: Vec<String>,
        /// Publish again where the journal says it was done: a new status, record and feed item
        #[arg(long)]
        force: bool,
    },
    /// List what went out: date, publisher, post and where it is
    #[command(after_help = "Example: todayis journal --date 2026-02-25 --json")]
    Journal {
        /// Only this publishing date
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Take a date's publications back: delete the status and record, remove the feed item
    #[command(after_help = "Example: todayis unpublish --date 2026-02-25 --publisher mastodon")]
    Unpublish {
        /// The publishing date
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: NaiveDate,
        /// Only these publishers (repeatable)
        #[arg(long = "publisher", value_name = "NAME")]
        publishers: Vec<String>,
    },
    /// Carry a post fixed after it went out to everywhere it went (Mastodon edits in
    /// place, the feed item is rewritten; Bluesky only with --repost)
    #[command(after_help = "Example: todayis correct --date 2026-02-25 --dry-run")]
    Correct {
        /// The publishing date [default: today in the bot's time zone]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Only these publishers (repeatable)
        #[arg(long = "publisher", value_name = "NAME")]
        publishers: Vec<String>,
        /// Show what would change, per publisher, and send nothing
        #[arg(long)]
        dry_run: bool,
        /// Where a service has no edit (Bluesky): delete the post and post the corrected one (its likes and reposts are lost)
        #[arg(long)]
        repost: bool,
    },
    /// Validate the config and every post; show the calendar's coverage
    #[command(
        after_help = "Examples:\n  todayis check --strict --no-credentials   (an editor, before a release)\n  todayis check --online                    (an operator, with the secrets set)"
    )]
    Check {
        /// Also ask each publisher's server whether the credentials and limits are right
        #[arg(long)]
        online: bool,
        /// Fail on the editor's warnings too (no sources, a date lead-in, ...)
        #[arg(long)]
        strict: bool,
        /// Don't look for the publishers' secrets (an editor checking posts has none)
        #[arg(long)]
        no_credentials: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Turn a blog's posts into post files
    #[command(subcommand)]
    Import(ImportFrom),
    /// The engagement each publication got: likes, reposts and replies where it went
    #[command(after_help = "Example: todayis stats --since 2026-01-01 --format html > stats.html")]
    Stats {
        /// The first publishing date counted
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<NaiveDate>,
        /// The last publishing date counted
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: StatsFormat,
    },
    /// Which post goes out on each day of a year
    #[command(after_help = "Example: todayis calendar --year 2026 --format html > calendar.html")]
    Calendar {
        /// The year [default: this year in the bot's time zone]
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// text (a line a day), json, or html (a one-page year grid)
        #[arg(long, value_enum, default_value = "text")]
        format: CalendarFormat,
    },
}

#[derive(Subcommand)]
enum ImportFrom {
    /// A Blogger export (either format, or the Google Takeout zip or folder), a downloaded feed, or a blog's feed URL
    #[command(
        after_help = "Example: todayis import blogger takeout-20240601.zip --timezone America/New_York --out posts/"
    )]
    Blogger {
        /// The export file, the Takeout zip or its unzipped folder, or the blog's (or its feed's) URL
        source: String,
        /// Where the post files go [default: the config's posts folder]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The blog's address, for exports that carry only file names
        #[arg(long, value_name = "URL")]
        blog_url: Option<String>,
        /// Replace post files that exist already
        #[arg(long)]
        overwrite: bool,
        /// The blog's time zone, for times given in UTC (an IANA name like America/New_York); given, it applies to every time [default: the config's bot.timezone, else UTC]
        #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
        timezone: Option<chrono_tz::Tz>,
    },
}

fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse().map_err(|_| {
        format!(
            "`{name}` is not a time zone: use an IANA name like America/New_York or Europe/London"
        )
    })
}

/// A `--date`: `YYYY-MM-DD`, and a day that the month has ("2026 has no 30
/// February: February 2026 has 28 days").
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err("write the date as YYYY-MM-DD, e.g. 2026-02-25".into());
    };
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>())
    else {
        return Err("write the date as YYYY-MM-DD, e.g. 2026-02-25".into());
    };
    if !(1..=12).contains(&month) {
        return Err(format!("there is no month {month}: months run 01 to 12"));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        let first = NaiveDate::from_ymd_opt(year, month, 1);
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        };
        match first.zip(next) {
            Some((first, next)) => format!(
                "{year} has no {day} {}: {} {year} has {} days",
                first.format("%B"),
                first.format("%B"),
                (next - first).num_days()
            ),
            None => format!("{text} is not a date"),
        }
    })
}

/// The real clock; everything below asks it through [`Clock`].
struct SystemClock;

impl Clock for SystemClock {
    // The one place allowed to read the system clock (clippy.toml bans it elsewhere).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // The daemon tells what it does; one-shot commands speak only of trouble
    // (their results go to stdout).
    let default_level = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_format, default_level);
    let path = config::locate(
        cli.config.as_deref(),
        std::env::var("TODAYIS_CONFIG").ok().as_deref(),
    );
    // Import writes where --out says and needs no config then: the config only lends
    // its time zone, if there is one.
    if let Command::Import(ImportFrom::Blogger {
        source,
        out: Some(dir),
        blog_url,
        overwrite,
        timezone,
    }) = &cli.command
    {
        let (zone, from) = match timezone {
            Some(tz) => (explicit_zone(*tz), "--timezone".to_string()),
            None => match path.exists().then(|| Config::load(&path)) {
                Some(Ok(config)) => config_zone(&config),
                Some(Err(_)) => (
                    utc(),
                    format!(
                        "the config {} has problems (`todayis check` lists them); pass --timezone",
                        path.display()
                    ),
                ),
                None => (
                    utc(),
                    format!("no config at {}; pass --timezone to choose", path.display()),
                ),
            },
        };
        return finish(run_import(
            source,
            dir,
            blog_url.as_deref(),
            *overwrite,
            zone,
            &from,
        ));
    }
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            for problem in &e.problems {
                eprintln!("error: {}: {problem}", e.path.display());
            }
            // `check` reports a broken config as a failed check; everything else as a config error.
            return ExitCode::from(
                if matches!(cli.command, Command::Check { .. }) && !e.not_found {
                    1
                } else {
                    2
                },
            );
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut env = config.environment(
        Arc::clone(&clock),
        Arc::new(|name| std::env::var(name).ok()),
    );
    // Someone waits on a one-shot command: it gives up in seconds, not minutes.
    if !matches!(cli.command, Command::Run) {
        match todayis::settings::bounded_duration(
            &cli.retry_for,
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(3600),
        ) {
            Ok(d) => env.retry_budget = d,
            Err(e) => {
                eprintln!("error: --retry-for: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let today = clock.now().with_timezone(&config.timezone).date_naive();

    // Few blocking threads: file reads are short, and each thread that ever
    // allocated keeps its own malloc arena resident.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let result = match cli.command {
        Command::Run => runtime
            .block_on(daemon::serve(path, config, env))
            .map(|()| true),
        Command::Healthcheck => runtime.block_on(server::healthcheck(&config)),
        Command::Preview {
            date,
            post,
            publishers,
            json,
        } => commands::preview(
            &mut out,
            &mut err,
            &config,
            &env,
            // A draft goes out on its own day: the next one from today.
            match (date, &post) {
                (Some(d), _) => d,
                (None, Some(file)) => commands::draft_day(&config, file, today),
                (None, None) => today,
            },
            post.as_deref(),
            &publishers,
            json,
        ),
        Command::Publish {
            date,
            publishers,
            force,
        } => runtime.block_on(commands::publish(
            &mut out,
            &mut err,
            &config,
            &env,
            date.unwrap_or(today),
            &publishers,
            force,
        )),
        Command::Journal { date, json } => commands::journal(&mut out, &config, date, json),
        Command::Unpublish { date, publishers } => runtime.block_on(commands::unpublish(
            &mut out,
            &config,
            &env,
            date,
            &publishers,
        )),
        Command::Correct {
            date,
            publishers,
            dry_run,
            repost,
        } => runtime.block_on(commands::correct(
            &mut out,
            &config,
            &env,
            date.unwrap_or(today),
            &publishers,
            dry_run,
            repost,
        )),
        Command::Check {
            online,
            strict,
            no_credentials,
            json,
        } => runtime.block_on(commands::check(
            &mut out,
            &mut err,
            &config,
            &env,
            online,
            strict,
            !no_credentials,
            json,
        )),
        Command::Import(ImportFrom::Blogger {
            source,
            out,
            blog_url,
            overwrite,
            timezone,
        }) => {
            let dir = out.unwrap_or_else(|| config.posts.clone());
            let (zone, from) = match timezone {
                Some(tz) => (explicit_zone(tz), "--timezone".to_string()),
                None => config_zone(&config),
            };
            return finish(run_import(
                &source,
                &dir,
                blog_url.as_deref(),
                overwrite,
                zone,
                &from,
            ));
        }
        Command::Stats {
            since,
            until,
            format,
        } => runtime.block_on(commands::stats(
            &mut out,
            &mut err,
            &config,
            &env,
            (since, until),
            format,
        )),
        Command::Calendar { year, format } => commands::calendar(
            &mut out,
            &mut err,
            &config,
            &env,
            year.unwrap_or(today.year()),
            today,
            format,
        ),
    };
    finish(result)
}

fn explicit_zone(tz: chrono_tz::Tz) -> todayis::import::Zone {
    todayis::import::Zone { tz, explicit: true }
}

fn utc() -> todayis::import::Zone {
    todayis::import::Zone {
        tz: chrono_tz::UTC,
        explicit: false,
    }
}

fn config_zone(config: &Config) -> (todayis::import::Zone, String) {
    (
        todayis::import::Zone {
            tz: config.timezone,
            explicit: false,
        },
        format!("the config's bot.timezone, {}", config.path.display()),
    )
}

fn run_import(
    source: &str,
    dir: &std::path::Path,
    blog_url: Option<&str>,
    overwrite: bool,
    zone: todayis::import::Zone,
    zone_from: &str,
) -> anyhow::Result<bool> {
    let source = if source.starts_with("http://") || source.starts_with("https://") {
        commands::ImportSource::Url(source)
    } else {
        commands::ImportSource::File(std::path::Path::new(source))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(commands::import(
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        source,
        &commands::ImportOptions {
            dir,
            blog_url,
            overwrite,
            zone,
            zone_from,
        },
    ))
}

/// The exit status for a command's result.
fn finish(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // A reader that stops early (`todayis calendar | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(if e.downcast_ref::<config::UnknownPublisher>().is_some() {
                2
            } else {
                1
            })
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colours only for people at a terminal, never in files or container logs.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
