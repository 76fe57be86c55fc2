//! baton-lab: reproduces, on your machine, the claims behind each baton
//! structure, with the peers beside baton in the same run.
//!
//! `baton-lab` alone runs the quick tour; `baton-lab run EXPERIMENT...`
//! runs chosen experiments longer; `baton-lab list` says what each one
//! tests. See `lab.rs` for a session, `runner.rs` for the method,
//! `experiments/` for the experiments and `go/` for the Go peers.
#![deny(unsafe_op_in_unsafe_fn)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod child;
mod experiments;
mod go;
mod lab;
mod load;
mod machine;
mod mapmix;
mod report;
mod runner;
mod servers;
mod wrk;

/// Tour settings: every case, implementation and thread count, briefly.
const QUICK_SECONDS: f64 = 0.1;
const QUICK_ROUNDS: usize = 3;
/// `run` settings: longer measurements, more rounds, steadier medians.
const RUN_SECONDS: f64 = 0.5;
const RUN_ROUNDS: usize = 5;
/// Where the HTML report goes unless `--out` says otherwise.
const DEFAULT_OUT: &str = "lab-report";

#[derive(Debug, Parser)]
#[command(
    name = "baton-lab",
    version,
    about = "Measures baton against its peers on this machine. With no command: the quick tour.",
    after_help = "Figures are aggregate throughput over all worker threads; ns/op = 1e9 / (ops/s). \
                  Each figure is the median of interleaved rounds, so ratios (baton / peer) from \
                  one run are the headline."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run experiments (or `all`) and report them.
    Run {
        /// Experiments to run.
        #[arg(required = true, value_name = "EXPERIMENT", value_parser = experiment_names())]
        experiments: Vec<String>,
        #[command(flatten)]
        options: Options,
    },
    /// The quick tour of every experiment (what `baton-lab` alone runs); sweep rows
    /// such as `map`'s `baton-shards-N` are left to `run`.
    Tour {
        #[command(flatten)]
        options: Options,
    },
    /// Describe each experiment, its cases, implementations and claim.
    List,
    /// The `map` implementations on your own mix; says which won and which
    /// shard count suits baton's ShardedMap.
    Map {
        /// Percent of ops that are reads (the rest insert/update).
        #[arg(long, default_value_t = 90)]
        read: u64,
        /// Keys in the map, all inserted first.
        #[arg(long, default_value_t = 1 << 20)]
        keys: u64,
        /// Zipf exponent of key popularity (0: uniform).
        #[arg(long, default_value_t = 0.0)]
        zipf: f64,
        /// Worker threads.
        #[arg(long, default_value_t = 8)]
        threads: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 0.5, value_parser = parse_seconds)]
        seconds: f64,
        /// Measurements per implementation (the median is shown).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Internal: one measurement of a child-run implementation, printed as
    /// a JSON line (the lab runs this in a child process; see `child.rs`).
    #[command(hide = true)]
    Child {
        #[arg(long)]
        experiment: String,
        #[arg(long)]
        case: String,
        #[arg(long = "impl")]
        imp: String,
        #[arg(long, value_parser = parse_count)]
        threads: usize,
        #[arg(long, value_parser = parse_seconds)]
        seconds: f64,
        #[arg(long)]
        latency: bool,
    },
    /// Internal: one `--load` busy process (see `load.rs`); exits when the
    /// lab with process id `parent` is gone.
    #[command(hide = true)]
    Burn {
        #[arg(long)]
        parent: u32,
        #[arg(long, default_value_t = 0)]
        nice: i32,
    },
    /// Internal: an HTTP server of the `http` experiment, serving until
    /// killed (the lab runs it in a child process; see `servers.rs`).
    #[command(hide = true)]
    Serve {
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(servers::NAMES))]
        server: String,
        #[arg(long)]
        addr: String,
    },
}

#[derive(Debug, Default, Args)]
struct Options {
    /// Shorter measurements (the tour's), keeping every case, implementation
    /// and thread count, so ratios stay comparable.
    #[arg(long)]
    quick: bool,
    /// Worker thread counts for every case, e.g. 1,2,8 [default: each case's own].
    #[arg(long, value_delimiter = ',', value_parser = parse_threads)]
    threads: Option<Vec<usize>>,
    /// Seconds per measurement [default: 0.5, or 0.1 with --quick and in the tour].
    #[arg(long, value_parser = parse_seconds)]
    seconds: Option<f64>,
    /// Interleaved rounds per figure; each figure is their median [default: 5, or 3 with --quick].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: Option<u32>,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Folder for the HTML report [default: lab-report].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Leave out the Go peers (also: BATON_LAB_NO_GO=1).
    #[arg(long)]
    no_go: bool,
    /// Also the big rows (goroutines/idle-memory: 1M idle goroutines;
    /// conns/idle: 100k idle connections to one server; each measured once);
    /// they need vm.max_map_count raised, and are skipped, with the sysctl to
    /// run, when it is not.
    #[arg(long)]
    big: bool,
    /// Also measure every row beside N busy background processes (half of
    /// them niced, see --load-nice): each round runs every implementation
    /// quiet, then loaded, and the report gives each row's loaded/quiet ratio.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    load: Option<u32>,
    /// Which --load processes run niced (nice 10).
    #[arg(long, value_enum, default_value_t = load::Nice::Half, requires = "load")]
    load_nice: load::Nice,
}

impl Options {
    fn settings(self, quick: bool) -> lab::Settings {
        let quick = quick || self.quick;
        let no_go_env = std::env::var("BATON_LAB_NO_GO").is_ok_and(|v| !v.is_empty() && v != "0");
        lab::Settings {
            seconds: self
                .seconds
                .unwrap_or(if quick { QUICK_SECONDS } else { RUN_SECONDS }),
            rounds: self
                .rounds
                .map_or(if quick { QUICK_ROUNDS } else { RUN_ROUNDS }, |r| {
                    r as usize
                }),
            threads: self.threads,
            quick,
            go: !(self.no_go || no_go_env),
            big: self.big,
            load: self.load.map(|n| n as usize),
            load_nice: self.load_nice,
            json: self.json,
            out: self.out.unwrap_or_else(|| PathBuf::from(DEFAULT_OUT)),
        }
    }
}

fn experiment_names() -> clap::builder::PossibleValuesParser {
    let mut names = vec!["all"];
    names.extend(experiments::names());
    clap::builder::PossibleValuesParser::new(names)
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a thread count in 1..=1024")),
    }
}

/// A child's thread count, which some cases read as a goroutine count.
fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a positive count")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 3600.0 => Ok(x),
        _ => Err(format!("`{s}` is not a number of seconds in (0, 3600]")),
    }
}

/// The chosen experiments, in registry order, each once.
fn select(names: &[String]) -> Vec<experiments::Experiment> {
    let all = names.iter().any(|n| n == "all");
    experiments::all()
        .into_iter()
        .filter(|e| all || names.iter().any(|n| n == e.name))
        .collect()
}

fn list() {
    for e in experiments::all() {
        println!("{}: {}", e.name, e.claim);
        for c in &e.cases {
            let threads: Vec<String> = c.threads.iter().map(usize::to_string).collect();
            println!(
                "  case {} (threads {}): {}",
                c.name,
                threads.join(","),
                c.about
            );
            for i in &c.impls {
                println!("    {:<16} {}", i.name, i.about);
            }
        }
        println!();
    }
    println!(
        "Each figure is ops/s summed over all worker threads (goroutines for go rows), the median of\n\
         interleaved rounds; ns_per_op = 1e9 / ops_per_sec is the aggregate cost of one op, not one\n\
         thread's latency. Threads above the core count oversubscribe the machine on purpose.\n\
         Ratios baton / peer above 1 mean baton is faster. Cases with a latency also give p50/p99\n\
         of sampled single ops; `--load N` measures every row again beside N busy processes."
    );
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => lab::run(&experiments::tour(), &Options::default().settings(true)),
        Some(Command::Tour { options }) => lab::run(&experiments::tour(), &options.settings(true)),
        Some(Command::Run {
            experiments,
            options,
        }) => lab::run(&select(&experiments), &options.settings(false)),
        Some(Command::Map {
            read,
            keys,
            zipf,
            threads,
            seconds,
            rounds,
        }) => mapmix::run(&mapmix::Mix {
            read,
            keys,
            zipf,
            threads: threads.max(1),
            seconds,
            rounds: rounds.max(1),
        }),
        Some(Command::List) => {
            list();
            Ok(())
        }
        Some(Command::Child {
            experiment,
            case,
            imp,
            threads,
            seconds,
            latency,
        }) => {
            let spec = runner::Spec {
                threads,
                seconds,
                latency,
            };
            child::serve(&experiment, &case, &imp, &spec)
        }
        Some(Command::Burn { parent, nice }) => load::burn(parent, nice),
        Some(Command::Serve { server, addr }) => servers::serve(&server, &addr),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("baton-lab").chain(args.iter().copied()))
    }

    #[test]
    fn map_subcommand_parses_a_mix() {
        match parse(&[
            "map",
            "--read",
            "50",
            "--keys",
            "1000",
            "--zipf",
            "0.99",
            "--threads",
            "4",
        ])
        .unwrap()
        .command
        {
            Some(Command::Map {
                read,
                keys,
                zipf,
                threads,
                ..
            }) => assert_eq!((read, keys, zipf, threads), (50, 1000, 0.99, 4)),
            other => panic!("not a map command: {other:?}"),
        }
        assert!(parse(&["map", "--seconds", "0"]).is_err());
    }

    fn run_settings(args: &[&str]) -> (Vec<String>, lab::Settings) {
        match parse(args).unwrap().command {
            Some(Command::Run {
                experiments,
                options,
            }) => (experiments, options.settings(false)),
            other => panic!("expected run, got {other:?}"),
        }
    }

    #[test]
    fn no_arguments_is_the_tour() {
        assert!(parse(&[]).unwrap().command.is_none());
        let s = Options::default().settings(true);
        assert_eq!((s.seconds, s.rounds), (QUICK_SECONDS, QUICK_ROUNDS));
        assert_eq!(s.out, PathBuf::from("lab-report"));
    }

    #[test]
    fn run_parses_threads_and_options() {
        let (exps, s) = run_settings(&[
            "run",
            "idgen",
            "counter",
            "--threads",
            "1,2,8",
            "--seconds",
            "0.25",
            "--rounds",
            "2",
            "--json",
            "x.json",
            "--out",
            "r",
            "--no-go",
        ]);
        assert_eq!(exps, ["idgen", "counter"]);
        assert_eq!(s.threads, Some(vec![1, 2, 8]));
        assert_eq!((s.seconds, s.rounds, s.go, s.big), (0.25, 2, false, false));
        assert_eq!(s.json, Some(PathBuf::from("x.json")));
        assert_eq!(s.out, PathBuf::from("r"));
        let (_, big) = run_settings(&["run", "goroutines", "--big"]);
        assert!(big.big);
        assert_eq!((s.load, big.load), (None, None));
    }

    #[test]
    fn load_takes_a_count_and_a_nice_policy() {
        let (_, s) = run_settings(&["run", "mutex", "--load", "2"]);
        assert_eq!((s.load, s.load_nice), (Some(2), load::Nice::Half));
        let (_, s) = run_settings(&["run", "mutex", "--load", "3", "--load-nice", "all"]);
        assert_eq!((s.load, s.load_nice), (Some(3), load::Nice::All));
        assert!(parse(&["run", "mutex", "--load", "0"]).is_err());
        assert!(parse(&["run", "mutex", "--load", "x"]).is_err());
        assert!(
            parse(&["run", "mutex", "--load-nice", "none"]).is_err(),
            "--load-nice needs --load"
        );
    }

    #[test]
    fn run_defaults_and_quick() {
        let (_, s) = run_settings(&["run", "idgen"]);
        assert_eq!(
            (s.seconds, s.rounds, s.threads),
            (RUN_SECONDS, RUN_ROUNDS, None)
        );
        assert_eq!(s.out, PathBuf::from("lab-report"));
        let (_, s) = run_settings(&["run", "idgen", "--quick"]);
        assert_eq!((s.seconds, s.rounds), (QUICK_SECONDS, QUICK_ROUNDS));
        let (_, s) = run_settings(&["run", "idgen", "--quick", "--seconds", "1"]);
        assert_eq!(s.seconds, 1.0);
    }

    #[test]
    fn rejects_bad_input_with_the_valid_choices() {
        let err = parse(&["run", "nosuch"]).unwrap_err().to_string();
        assert!(err.contains("idgen") && err.contains("counter"), "{err}");
        assert!(parse(&["run"]).is_err(), "run needs an experiment");
        assert!(parse(&["run", "idgen", "--threads", "0"]).is_err());
        assert!(parse(&["run", "idgen", "--threads", "1,x"]).is_err());
        assert!(parse(&["run", "idgen", "--seconds", "-1"]).is_err());
        assert!(parse(&["run", "idgen", "--rounds", "0"]).is_err());
    }

    #[test]
    fn select_keeps_registry_order_and_all() {
        let names = |v: Vec<experiments::Experiment>| v.iter().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(
            names(select(&["counter".into(), "idgen".into(), "idgen".into()])),
            ["idgen", "counter"]
        );
        assert_eq!(names(select(&["all".into()])), experiments::names());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
