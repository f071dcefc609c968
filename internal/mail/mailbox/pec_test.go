package mailbox

import (
	"testing"
)

// fakePEC stands for the store's transaction: it implements PECTx (the
// methods are never called here).
type fakePEC struct{ PECTx }

// cachedTx wraps a Tx as a per-batch cache does: by embedding it.
type cachedTx struct {
	Tx
	hits int
}

// unwrapping wraps a Tx without embedding it in an exported field.
type unwrapping struct {
	Tx    // nil: only Unwrap leads to the store
	inner Tx
}

func (u unwrapping) Unwrap() Tx { return u.inner }

func TestPECOfLooksThroughWrappers(t *testing.T) {
	store := fakePEC{}
	if PECOf(store) != PECTx(store) {
		t.Error("the store transaction itself")
	}
	if PECOf(cachedTx{Tx: store}) != PECTx(store) {
		t.Error("a struct embedding the Tx")
	}
	if PECOf(&cachedTx{Tx: cachedTx{Tx: store}}) != PECTx(store) {
		t.Error("a pointer to nested wrappers")
	}
	if PECOf(unwrapping{inner: store}) != PECTx(store) {
		t.Error("a wrapper with Unwrap")
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a transaction without PECTx")
		}
	}()
	PECOf(cachedTx{})
}
