//go:build wasip1

package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

// The guest interface's functions, exported under their component names. Arguments the
// host lowered into guest memory are lifted first; the scenario's code runs between
// abi.Enter and abi.Leave; results are laid out in the scratch arena for the host to read
// after the return.

//go:wasmexport loadwright:scenario/guest@0.2.0#options
func exportOptions() uint32 {
	abi.Enter()
	list, doc := options()
	abi.Leave()
	return abi.PutOptions(mem, list, doc)
}

func unitResult(err error) uint32 {
	if err != nil {
		message := err.Error()
		return abi.PutResult(mem, nil, &message)
	}
	return abi.PutResult(mem, nil, nil)
}

//go:wasmexport loadwright:scenario/guest@0.2.0#run-task
func exportRunTask(index uint32) uint32 {
	abi.Enter()
	err := runTask(index)
	abi.Leave()
	return unitResult(err)
}

//go:wasmexport loadwright:scenario/guest@0.2.0#on-test-start
func exportOnTestStart() uint32 {
	abi.Enter()
	data, err := onTestStart()
	abi.Leave()
	if err != nil {
		return unitResult(err)
	}
	return abi.PutResult(mem, data, nil)
}

//go:wasmexport loadwright:scenario/guest@0.2.0#on-test-stop
func exportOnTestStop(snapshot uint32) {
	s := abi.GetSnapshot(mem, mem.Load(snapshot, abi.SnapshotSize))
	abi.Enter()
	onTestStop(s)
	abi.Leave()
}

//go:wasmexport loadwright:scenario/guest@0.2.0#on-vu-start
func exportOnVUStart() uint32 {
	abi.Enter()
	err := onVUStart()
	abi.Leave()
	return unitResult(err)
}

//go:wasmexport loadwright:scenario/guest@0.2.0#on-vu-stop
func exportOnVUStop() {
	abi.Enter()
	onVUStop()
	abi.Leave()
}

//go:wasmexport loadwright:scenario/guest@0.2.0#on-stats
func exportOnStats(snapshot uint32) {
	s := abi.GetSnapshot(mem, mem.Load(snapshot, abi.SnapshotSize))
	abi.Enter()
	onStats(s)
	abi.Leave()
}
