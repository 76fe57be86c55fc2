//! A `Select` with more operations than it keeps inline (8) moves them to
//! the heap; removing every one of them left the old code looking at the
//! stale inline copies again, so `try_select` chose an operation that had
//! been removed (and `SelectedOperation::recv` took a value the caller had
//! taken out of the select).

use baton::chan::{unbounded, Select};

#[test]
fn removed_operations_of_a_spilled_select_are_never_chosen() {
    let chans: Vec<_> = (0..9).map(|_| unbounded::<usize>()).collect();
    for (i, (tx, _)) in chans.iter().enumerate() {
        tx.send(i).unwrap();
    }
    let mut sel = Select::new();
    let idx: Vec<usize> = chans.iter().map(|(_, rx)| sel.recv(rx)).collect();
    for &i in &idx {
        sel.remove(i);
    }
    assert!(
        sel.try_select().is_err(),
        "an operation removed from the select was chosen"
    );
    // Adding one back after the removals works, and is the only choice.
    let i = sel.recv(&chans[4].1);
    let op = sel.try_select().expect("the re-added operation is ready");
    assert_eq!(op.index(), i);
    assert_eq!(op.recv(&chans[4].1), Ok(4));
}

#[test]
fn a_spilled_select_keeps_the_operations_not_removed() {
    let chans: Vec<_> = (0..12).map(|_| unbounded::<usize>()).collect();
    let mut sel = Select::new();
    let idx: Vec<usize> = chans.iter().map(|(_, rx)| sel.recv(rx)).collect();
    for &i in &idx[..11] {
        sel.remove(i);
    }
    chans[11].0.send(11).unwrap();
    for (tx, _) in &chans[..11] {
        tx.send(0).unwrap();
    }
    for _ in 0..20 {
        let op = sel.try_select().expect("the kept operation is ready");
        assert_eq!(op.index(), idx[11]);
        assert_eq!(op.recv(&chans[11].1), Ok(11));
        chans[11].0.send(11).unwrap();
    }
}
