//! Regression (issue 10, item 3): `HandleMap` tags came from a counter
//! cycling through 4095 values, so with map A alive, the 4095th map
//! created after it had A's tag and answered `get(handle_of_A)` with
//! `Ok(its own value)`. Tags are now unique among live maps; a new map
//! past 4095 live ones is an error (`try_new`) or a panic naming the cause
//! (`new`), and a dropped map's handles never resolve in the map that
//! reuses its tag.
//!
//! The tests take turns (`SERIAL`): one of them holds every tag.

#![cfg(not(loom))] // under loom the tag table is a loom mutex, usable only inside a model

mod common;

use std::sync::Mutex;

use baton::collections::{Handle, HandleError, HandleMap, TooManyMaps};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Old code: the 4095th map made (and dropped) after A answered A's handle
/// with its own value.
#[test]
fn a_live_maps_handle_is_wrong_map_everywhere_else() {
    let _turn = serial();
    common::within("tag wrap, maps dropped", 120, || {
        let a = HandleMap::new();
        let h = a.insert("A's value");
        for i in 0..3 * 4095 {
            let other = HandleMap::with_shards(1);
            let mine = other.insert("another map's value");
            assert_eq!(
                other.get(h),
                Err(HandleError::WrongMap),
                "map #{i} created after A resolved A's handle {h:?} (its own handle: {mine:?})"
            );
        }
        assert_eq!(a.get(h), Ok("A's value"));
    });
}

/// With A alive, 4094 more live maps fit; the next one is refused with a
/// clear error (and `new` panics naming it), and dropping one frees a tag.
#[test]
fn all_tags_in_use_is_an_error_not_a_wrong_answer() {
    let _turn = serial();
    common::within("tag exhaustion", 120, || {
        let a = HandleMap::with_shards(1);
        let h = a.insert(0u32);
        let mut maps = Vec::new();
        let err = loop {
            match HandleMap::<u32>::try_with_shards(1) {
                Ok(m) => {
                    let mine = m.insert(1);
                    assert_eq!(m.get(h), Err(HandleError::WrongMap));
                    assert_eq!(a.get(mine), Err(HandleError::WrongMap));
                    maps.push((m, mine));
                    assert!(maps.len() < 4095, "more than 4095 live maps got tags");
                }
                Err(e) => break e,
            }
        };
        assert_eq!(err, TooManyMaps);
        assert_eq!(maps.len(), 4094, "A and 4094 others hold every tag");
        let msg = std::panic::catch_unwind(HandleMap::<u32>::new)
            .expect_err("new() with every tag in use must panic");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("HandleMap") && msg.contains("tags are held by live maps"),
            "unclear message: {msg:?}"
        );
        // Every live map still answers only its own handles.
        for (m, mine) in &maps {
            assert_eq!(m.get(*mine), Ok(1));
            assert_eq!(m.get(h), Err(HandleError::WrongMap));
        }
        // Dropping one frees its tag; its handle never resolves in the
        // map that takes the tag over.
        let (gone, gone_handle) = maps.pop().unwrap();
        drop(gone);
        let next = HandleMap::try_with_shards(1).expect("a tag was freed");
        let fresh = next.insert(2);
        assert!(matches!(
            next.get(gone_handle),
            Err(HandleError::Stale | HandleError::Invalid)
        ));
        assert_ne!(fresh, gone_handle, "a handle is never issued twice");
        assert_eq!(next.get(fresh), Ok(2));
        assert_eq!(a.get(h), Ok(0));
    });
}

/// Handles of dropped maps, fed to the maps created after them (which
/// reuse their tags), never resolve.
#[test]
fn dropped_maps_handles_never_resolve() {
    let _turn = serial();
    common::within("dropped maps' handles", 120, || {
        let mut old: Vec<Handle> = Vec::new();
        for round in 0..3 * 4095u32 {
            let m = HandleMap::with_shards(1);
            let h = m.insert(round);
            for o in &old {
                assert!(
                    m.get(*o).is_err(),
                    "dropped map's {o:?} resolved in map #{round}"
                );
            }
            if round % 64 == 0 {
                old.push(h);
            }
        }
    });
}
