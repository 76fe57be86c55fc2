use std::time::Instant;
fn main() {
    let n = 20_000_000u64;
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
        "baton bounded st: {:.1} ns/msg",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}
