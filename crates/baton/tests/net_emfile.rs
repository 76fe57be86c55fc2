//! `accept` under `EMFILE`: in a child process whose descriptor limit is
//! lowered (`setrlimit`), with connections waiting in the backlog, a
//! server's `accept` fails with `EMFILE`, the server backs off and retries
//! (as Go's `http.Server` does), and once descriptors are freed it accepts
//! every waiting connection: nothing is lost and the listener keeps
//! working.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::time::Duration;

use baton::chan;
use baton::net::{TcpListener, TcpStream};
use common::child::{child, say, Child};

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

fn set_nofile(n: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r.rlim_cur = n;
    // SAFETY: valid in-pointer.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
}

/// Waiting connections beyond the descriptors the server may open.
const CLIENTS: usize = 6;
/// Descriptors the server may open once the limit is lowered.
const ROOM: u64 = 2;

fn emfile_child() {
    let rt = baton::runtime::Builder::new().workers(1).build();
    rt.run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // The clients connect first (the kernel completes their handshakes
        // into the backlog); then the limit leaves room for ROOM accepts.
        let clients: Vec<TcpStream> = (0..CLIENTS)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        set_nofile(open_fds() + ROOM);
        let (accepted_tx, accepted_rx) = chan::unbounded();
        let (emfile_tx, emfile_rx) = chan::unbounded();
        let server = baton::go(move || {
            let mut n = 0;
            while n < CLIENTS {
                match l.accept() {
                    Ok((s, _)) => {
                        n += 1;
                        accepted_tx.send(s).unwrap();
                    }
                    Err(e) => {
                        assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                        let _ = emfile_tx.try_send(());
                        // Back off, then retry (Go's http.Server: 5 ms
                        // doubling to 1 s; a fixed pause is enough here).
                        baton::time::sleep(Duration::from_millis(5));
                    }
                }
            }
            l
        });
        // The server fills its room, then hits EMFILE.
        let mut held: Vec<TcpStream> = (0..ROOM).map(|_| accepted_rx.recv().unwrap()).collect();
        emfile_rx.recv().unwrap();
        say("EMFILE SEEN");
        // Free descriptors: each accepted connection dropped makes room
        // for the next accept.
        let mut total = held.len();
        held.clear();
        while total < CLIENTS {
            drop(accepted_rx.recv().unwrap());
            total += 1;
        }
        let l = server.join().unwrap();
        // The listener still works after the storm.
        let late = TcpStream::connect(addr).unwrap();
        let (s, _) = l.accept().unwrap();
        assert_eq!(s.peer_addr().unwrap(), late.local_addr().unwrap());
        drop(clients);
        say(&format!("RECOVERED {total}"));
    });
}

#[test]
fn emfile_child_entry() {
    child("emfile_child_entry", emfile_child);
}

#[test]
fn accept_under_emfile_errors_and_the_server_recovers() {
    common::within("net accept EMFILE", 120, || {
        let mut c = Child::start("emfile_child_entry");
        c.expect("EMFILE SEEN");
        let line = c.expect("RECOVERED");
        assert_eq!(line, format!("RECOVERED {CLIENTS}"));
        let (st, stderr) = c.finish();
        assert!(st.success(), "{st:?}; stderr: {stderr}");
    });
}
