//! A server-shaped program that drains its work on Ctrl-C.
//!
//! A generator goroutine accepts jobs (here: made up, one every 50 ms) onto
//! a queue; worker goroutines take them off and work on each (a sleep). All
//! of them are members of one `errgroup` under `signal::shutdown_context()`:
//!
//! - the first Ctrl-C (or `SIGTERM`) cancels the context: the generator
//!   stops accepting and closes the queue, the workers finish every job
//!   already accepted, and the program prints what it did and exits 0;
//! - a second Ctrl-C while it drains ends it at once, with status 130
//!   (143 for a second `SIGTERM`);
//! - a worker that fails (returns an error) cancels the group's context
//!   too: the same drain, then the error, and status 1.
//!
//! ```sh
//! cargo run -p baton --example drain            # then Ctrl-C, once or twice
//! DRAIN_JOB_MS=2000 cargo run -p baton --example drain
//! ```
//!
//! Settings (environment): `DRAIN_WORKERS` (default 4), `DRAIN_JOB_MS`
//! (how long a job takes, default 300), `DRAIN_FAIL_AT` (a job number that
//! fails, to see the error path; none by default).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use baton::chan::{self, SendCtxError};
use baton::context::{self, Context};
use baton::errgroup::Group;
use baton::{signal, time};

/// How often the generator accepts a job.
const EVERY: Duration = Duration::from_millis(50);

fn main() {
    std::process::exit(run(&signal::shutdown_context()));
}

/// The whole server under `shutdown`; returns the exit status.
pub fn run(shutdown: &Context) -> i32 {
    let workers = setting("DRAIN_WORKERS", 4);
    let job_time = Duration::from_millis(setting("DRAIN_JOB_MS", 300) as u64);
    let fail_at = std::env::var("DRAIN_FAIL_AT")
        .ok()
        .and_then(|v| v.parse().ok());
    println!("serving with {workers} workers; Ctrl-C to drain, twice to quit at once");

    let (g, ctx) = Group::with_context(shutdown);
    let (jobs, queue) = chan::bounded::<u64>(workers * 2);
    let accepted = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));

    // The generator: accepts jobs until the context is done, then closes the
    // queue (by dropping `jobs`) so that the workers end once it is empty.
    let counter = accepted.clone();
    g.go(move || {
        for id in 1.. {
            if time::sleep_ctx(&ctx, EVERY).is_err() {
                break;
            }
            match jobs.send_ctx(&ctx, id) {
                Ok(()) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(SendCtxError::Done(..)) => break, // not accepted: nothing lost
                Err(SendCtxError::Closed(_)) => unreachable!("the workers hold the queue"),
            }
        }
        let why = context::cause(&ctx).map_or("done".to_string(), |c| c.to_string());
        println!("shutting down ({why}): no new jobs, draining the queue");
        Ok(())
    });

    // The workers: every accepted job is finished, shutdown or not.
    for worker in 1..=workers {
        let (queue, finished) = (queue.clone(), finished.clone());
        g.go(move || {
            for id in &queue {
                println!("worker {worker}: job {id} started");
                time::sleep(job_time); // in-flight work is not cancelled
                if Some(id) == fail_at {
                    return Err(format!("job {id} failed").into());
                }
                finished.fetch_add(1, Ordering::Relaxed);
                println!("worker {worker}: job {id} done");
            }
            Ok(())
        });
    }
    drop(queue);

    let result = g.wait();
    let (accepted, finished) = (
        accepted.load(Ordering::Relaxed),
        finished.load(Ordering::Relaxed),
    );
    println!("drained: accepted {accepted} jobs, finished {finished}");
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// A number from the environment, or `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
