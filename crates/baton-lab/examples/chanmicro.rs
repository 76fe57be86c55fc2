use std::time::Instant;
fn main() {
    let n = 2_000_000u64;
    for round in 0..3 {
        {
            let (tx, rx) = baton::chan::bounded::<u64>(1024);
            let t = Instant::now();
            for i in 0..n / 1000 {
                for j in 0..1000 {
                    tx.send(i + j).unwrap();
                }
                for _ in 0..1000 {
                    std::hint::black_box(rx.recv().unwrap());
                }
            }
            println!(
                "{round} baton bounded st: {:.1} ns/msg",
                t.elapsed().as_nanos() as f64 / n as f64
            );
        }
        {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(1024);
            let t = Instant::now();
            for i in 0..n / 1000 {
                for j in 0..1000 {
                    tx.send(i + j).unwrap();
                }
                for _ in 0..1000 {
                    std::hint::black_box(rx.recv().unwrap());
                }
            }
            println!(
                "{round} xbeam bounded st: {:.1} ns/msg",
                t.elapsed().as_nanos() as f64 / n as f64
            );
        }
        {
            let (tx, rx) = kanal::bounded::<u64>(1024);
            let t = Instant::now();
            for i in 0..n / 1000 {
                for j in 0..1000 {
                    tx.send(i + j).unwrap();
                }
                for _ in 0..1000 {
                    std::hint::black_box(rx.recv().unwrap());
                }
            }
            println!(
                "{round} kanal bounded st: {:.1} ns/msg",
                t.elapsed().as_nanos() as f64 / n as f64
            );
        }
        {
            let (tx, rx) = baton::chan::unbounded::<u64>();
            let t = Instant::now();
            for i in 0..n / 1000 {
                for j in 0..1000 {
                    tx.send(i + j).unwrap();
                }
                for _ in 0..1000 {
                    std::hint::black_box(rx.recv().unwrap());
                }
            }
            println!(
                "{round} baton unbounded st: {:.1} ns/msg",
                t.elapsed().as_nanos() as f64 / n as f64
            );
        }
        {
            let (tx, rx) = kanal::unbounded::<u64>();
            let t = Instant::now();
            for i in 0..n / 1000 {
                for j in 0..1000 {
                    tx.send(i + j).unwrap();
                }
                for _ in 0..1000 {
                    std::hint::black_box(rx.recv().unwrap());
                }
            }
            println!(
                "{round} kanal unbounded st: {:.1} ns/msg",
                t.elapsed().as_nanos() as f64 / n as f64
            );
        }
    }
}
