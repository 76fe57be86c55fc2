//! baton-lab: placeholder while the lab frame is built.
fn main() {}
