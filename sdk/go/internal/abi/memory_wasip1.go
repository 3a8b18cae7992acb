//go:build wasip1

package abi

import "unsafe"

// base is address 0 of linear memory: guest addresses are offsets from it.
var base unsafe.Pointer

// boot serves allocations made before the Go runtime is initialized (the WASI adapter's
// stack and state, asked for while the runtime starts). They are never freed.
var boot [1 << 20]byte

// arena serves the canonical ABI's allocations: bump allocation in a chunk, reset once a
// call's values are lifted into Go values.
var arena struct {
	chunk []byte
	next  uint32
	// Earlier chunks of the current call, kept alive until the reset.
	kept  [][]byte
	ready bool
}

func addrOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func alloc(size, align uint32) (uint32, []byte) {
	if align == 0 {
		align = 1
	}
	if arena.chunk == nil {
		arena.chunk = boot[:]
	}
	for {
		start := addrOf(arena.chunk)
		at := (start+arena.next+align-1)/align*align - start
		if at+size <= uint32(len(arena.chunk)) {
			arena.next = at + size
			buf := arena.chunk[at : at+size : at+size]
			// The arena is reused call after call: layouts expect zeroed memory.
			clear(buf)
			return start + at, buf
		}
		if !arena.ready {
			// Out of boot memory before the runtime runs: nothing safe is left to do.
			panic("loadwright: the boot arena is exhausted")
		}
		grown := max(2*len(arena.chunk), int(size+align), 64<<10)
		// Values in the full chunk stay readable until the reset.
		arena.kept = append(arena.kept, arena.chunk)
		arena.chunk, arena.next = make([]byte, grown), 0
	}
}

// Ready switches allocation from the boot arena to the Go heap; the SDK calls it from its
// package initialization, once the runtime runs.
func Ready() {
	arena.ready = true
	arena.chunk, arena.next = make([]byte, 64<<10), 0
}

// Reset frees the current call's allocations (their values have been lifted).
func Reset() {
	if !arena.ready {
		return
	}
	arena.kept = nil
	arena.next = 0
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

// Addr is the guest address of b's first byte.
func Addr(b []byte) uint32 { return addrOf(b) }
