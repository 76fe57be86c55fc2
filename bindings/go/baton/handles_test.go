package baton

import (
	"errors"
	"sync"
	"testing"
	"unsafe"

	"baton/bindings/go/internal/cmem"
)

func cLong(v int64) unsafe.Pointer { return cmem.Int64(v) }

func mustHandles(t testing.TB, free bool) *Handles {
	t.Helper()
	var h *Handles
	var err error
	if free {
		h, err = NewHandlesFree()
	} else {
		h, err = NewHandles()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestHandlesInsertGetRemove(t *testing.T) {
	h := mustHandles(t, true)
	p := cLong(42)
	id, err := h.Insert(p)
	if err != nil || id == 0 {
		t.Fatalf("Insert = %#x, %v", id, err)
	}
	if got, err := h.Get(id); err != nil || got != p || *(*int64)(got) != 42 {
		t.Fatalf("Get = %p, %v; want %p", got, err, p)
	}
	if h.Len() != 1 {
		t.Fatalf("Len = %d, want 1", h.Len())
	}
	back, err := h.Remove(id)
	if err != nil || back != p {
		t.Fatalf("Remove = %p, %v; want %p", back, err, p)
	}
	cmem.Free(back) // Remove hands ownership back
	if _, err := h.Get(id); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("Get after Remove: %v, want ErrStaleHandle", err)
	}
	if _, err := h.Remove(id); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("Remove twice: %v, want ErrStaleHandle", err)
	}
	if err := h.Delete(id); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("Delete of a stale handle: %v, want ErrStaleHandle", err)
	}
	id2, _ := h.Insert(cLong(7))
	if err := h.Delete(id2); err != nil { // frees with C.free
		t.Fatal(err)
	}
	if h.Len() != 0 {
		t.Fatalf("Len = %d, want 0", h.Len())
	}
	h.Insert(cLong(8)) // left for Close to free
}

func TestHandlesForgedAndForeign(t *testing.T) {
	a := mustHandles(t, true)
	b := mustHandles(t, false)
	id, _ := a.Insert(cLong(1))
	if _, err := b.Get(id); !errors.Is(err, ErrWrongMap) {
		t.Fatalf("foreign Get: %v, want ErrWrongMap", err)
	}
	if err := b.Delete(id); !errors.Is(err, ErrWrongMap) {
		t.Fatalf("foreign Delete: %v, want ErrWrongMap", err)
	}
	for _, forged := range []uint64{0, id + 1<<31, ^uint64(0) >> 12} {
		if _, err := a.Get(forged); !errors.Is(err, ErrInvalidHandle) {
			t.Errorf("Get(%#x): %v, want ErrInvalidHandle", forged, err)
		}
	}
	if a.Len() != 1 {
		t.Fatalf("failed calls changed the registry: Len = %d", a.Len())
	}
	if _, err := a.Insert(nil); !errors.Is(err, ErrNilValue) {
		t.Fatalf("Insert(nil): %v, want ErrNilValue", err)
	}
}

func TestHandlesAfterClose(t *testing.T) {
	h, err := NewHandles()
	if err != nil {
		t.Fatal(err)
	}
	x := cLong(5)
	defer cmem.Free(x)
	id, _ := h.Insert(x) // a registry that borrows: never frees
	_ = h.Close()
	_ = h.Close() // harmless
	if _, err := h.Get(id); !errors.Is(err, ErrFreed) {
		t.Fatalf("Get after Close: %v, want ErrFreed", err)
	}
	if _, err := h.Insert(x); !errors.Is(err, ErrFreed) {
		t.Fatalf("Insert after Close: %v, want ErrFreed", err)
	}
	if h.Len() != 0 {
		t.Fatal("Len after Close")
	}
	// A closed registry's handles never resolve in a new one.
	h2 := mustHandles(t, false)
	if _, err := h2.Get(id); err == nil {
		t.Fatal("a closed registry's handle resolved in a new registry")
	}
}

func TestHandlesConcurrent(t *testing.T) {
	h := mustHandles(t, true)
	const goroutines, ops = 8, 2000
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < ops; i++ {
				v := int64(g*ops + i)
				id, err := h.Insert(cLong(v))
				if err != nil {
					t.Error(err)
					return
				}
				p, err := h.Get(id)
				if err != nil || *(*int64)(p) != v {
					t.Errorf("Get(%#x) = %v, %v; want %d", id, p, err, v)
					return
				}
				if err := h.Delete(id); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if h.Len() != 0 {
		t.Fatalf("Len = %d after every value was deleted", h.Len())
	}
}
