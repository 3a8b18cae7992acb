package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

// hostAPI is what the API asks of the host.
type hostAPI interface {
	send(r *abi.Request) abi.Result
	batch(rs []abi.Request) []abi.Result
	clearCookies()
	vuID() uint32
	iteration() uint64
	scenario() string
	sleep(nanos uint64)
	parameters() [][2]string
	setupData() []byte
	log(level uint32, message string)
	counterAdd(name string, value float64, tags []abi.Tag)
	gaugeSet(name string, value float64, tags []abi.Tag)
	rateAdd(name string, sample bool, tags []abi.Tag)
	trendAdd(name string, value float64, tags []abi.Tag)
	check(name string, ok bool, tags []abi.Tag) bool
	snapshot() abi.Snapshot
}
