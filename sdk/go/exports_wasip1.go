//go:build wasip1

package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

// The guest interface's functions, exported under their component names. Arguments the
// host wrote into guest memory are lifted first, then the arena is reset; results are laid
// out in the arena for the host to read after the return.

//go:wasmexport loadwright:scenario/guest@0.1.0#options
func exportOptions() uint32 {
	abi.Reset()
	list, doc := options()
	return abi.PutOptions(mem, list, doc)
}

func unitResult(err error) uint32 {
	if err != nil {
		message := err.Error()
		return abi.PutResult(mem, nil, &message)
	}
	return abi.PutResult(mem, nil, nil)
}

//go:wasmexport loadwright:scenario/guest@0.1.0#run-task
func exportRunTask(index uint32) uint32 {
	abi.Reset()
	return unitResult(runTask(index))
}

//go:wasmexport loadwright:scenario/guest@0.1.0#on-test-start
func exportOnTestStart() uint32 {
	abi.Reset()
	data, err := onTestStart()
	if err != nil {
		return unitResult(err)
	}
	return abi.PutResult(mem, data, nil)
}

//go:wasmexport loadwright:scenario/guest@0.1.0#on-test-stop
func exportOnTestStop(snapshot uint32) {
	s := abi.GetSnapshot(mem, mem.Load(snapshot, abi.SnapshotSize))
	abi.Reset()
	onTestStop(s)
}

//go:wasmexport loadwright:scenario/guest@0.1.0#on-vu-start
func exportOnVUStart() uint32 {
	abi.Reset()
	return unitResult(onVUStart())
}

//go:wasmexport loadwright:scenario/guest@0.1.0#on-vu-stop
func exportOnVUStop() {
	abi.Reset()
	onVUStop()
}

//go:wasmexport loadwright:scenario/guest@0.1.0#on-stats
func exportOnStats(snapshot uint32) {
	s := abi.GetSnapshot(mem, mem.Load(snapshot, abi.SnapshotSize))
	abi.Reset()
	onStats(s)
}
