//go:build wasip1

package abi

import "unsafe"

// base is address 0 of linear memory: guest addresses are offsets from it.
var base unsafe.Pointer

// boot serves permanent allocations until the heap can: those made while the Go runtime
// starts (the WASI adapter's stack and state).
var boot [1 << 20]byte

// bump allocates by bumping an offset in a chunk, taking a new chunk when one is full.
type bump struct {
	chunk []byte
	next  uint32
	// Full chunks whose values must stay readable (until the next reset, for scratch).
	kept [][]byte
}

func addrOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func (a *bump) alloc(size, align uint32, canGrow bool) (uint32, []byte) {
	if align == 0 {
		align = 1
	}
	for {
		start := addrOf(a.chunk)
		at := (start+a.next+align-1)/align*align - start
		if a.chunk != nil && at+size <= uint32(len(a.chunk)) {
			a.next = at + size
			buf := a.chunk[at : at+size : at+size]
			// Chunks are reused: layouts expect zeroed memory.
			clear(buf)
			return start + at, buf
		}
		if !canGrow {
			// Out of boot memory before the runtime runs: nothing safe is left to do.
			panic("loadwright: the boot arena is exhausted")
		}
		if a.chunk != nil {
			a.kept = append(a.kept, a.chunk)
		}
		a.chunk, a.next = make([]byte, max(2*len(a.chunk), int(size+align), 64<<10)), 0
	}
}

func (a *bump) reset() {
	a.kept = nil
	a.next = 0
}

// Two arenas. Scratch holds the canonical ABI's values of one call (the arguments the host
// lowers into an export, the results it lowers from an import, the results an export lays
// out) and is reset once they are lifted. Permanent holds everything else: what the WASI
// adapter allocates for itself (its stack and state, on its first use, while guest code
// runs), which must never move or be reused.
var (
	// Its first chunk is boot, set on first use: package variables are initialized after
	// the runtime starts, and the adapter allocates before.
	permanent bump
	scratch   bump
	// inScratch is true except while the scenario's own code runs.
	inScratch bool
	ready     bool
)

func alloc(size, align uint32) (uint32, []byte) {
	if inScratch {
		return scratch.alloc(size, align, true)
	}
	if permanent.chunk == nil {
		permanent.chunk = boot[:]
	}
	return permanent.alloc(size, align, ready)
}

// Ready is called from the SDK's package initialization, once the runtime runs: the heap
// can serve allocations, and until an export runs, allocations are the host's scratch.
func Ready() {
	ready = true
	inScratch = true
}

// Enter starts an export's own code, once its arguments are lifted: the scratch values are
// dropped and allocations are permanent until Leave.
func Enter() {
	scratch.reset()
	inScratch = false
}

// Leave ends an export's own code: its results and the next call's arguments go to scratch.
func Leave() { inScratch = true }

// Call runs f, an import call and the lifting of its results, with allocations in scratch,
// then drops them.
func Call(f func()) {
	outer := inScratch
	inScratch = true
	f()
	if !outer {
		scratch.reset()
	}
	inScratch = outer
}

type linear struct{}

func (linear) Load(addr, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(base, uintptr(addr))), n)
}

func (linear) Alloc(size, align uint32) (uint32, []byte) { return alloc(size, align) }

// Mem is the instance's linear memory.
var Mem Memory = linear{}

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	addr, buf := alloc(newSize, align)
	if oldPtr != 0 && oldSize > 0 {
		copy(buf, Mem.Load(oldPtr, min(oldSize, newSize)))
	}
	return addr
}
