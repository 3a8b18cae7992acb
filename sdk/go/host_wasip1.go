//go:build wasip1

package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

func init() { abi.Ready() }

var host hostAPI = wasmHost{}

// wasmHost calls the host's imports. Each call and the lifting of its results run in the
// ABI's scratch arena, which is dropped once the values are Go values.
type wasmHost struct{}

var mem = abi.Mem

func boolU32(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}

func (wasmHost) send(r *abi.Request) (result abi.Result) {
	abi.Call(func() {
		req, b := mem.Alloc(abi.RequestSize, 8)
		abi.PutRequest(mem, b, r)
		ret, out := mem.Alloc(abi.ResultSize, 8)
		abi.HTTPSend(req, ret)
		result = abi.GetResult(mem, out)
	})
	return result
}

func (wasmHost) batch(rs []abi.Request) (results []abi.Result) {
	abi.Call(func() {
		list, b := mem.Alloc(uint32(abi.RequestSize*len(rs)), 8)
		for i := range rs {
			abi.PutRequest(mem, b[abi.RequestSize*i:], &rs[i])
		}
		ret, out := mem.Alloc(8, 4)
		abi.HTTPBatch(list, uint32(len(rs)), ret)
		results = abi.GetResults(mem, out)
	})
	return results
}

func (wasmHost) clearCookies()      { abi.HTTPClearCookies() }
func (wasmHost) vuID() uint32       { return abi.VUID() }
func (wasmHost) iteration() uint64  { return abi.VUIteration() }
func (wasmHost) sleep(nanos uint64) { abi.VUSleep(nanos) }

func (wasmHost) scenario() (name string) {
	abi.Call(func() {
		ret, out := mem.Alloc(8, 4)
		abi.VUScenario(ret)
		name = abi.GetString(mem, out)
	})
	return name
}

func (wasmHost) parameters() (pairs [][2]string) {
	abi.Call(func() {
		ret, out := mem.Alloc(8, 4)
		abi.VUParameters(ret)
		pairs = abi.GetPairs(mem, out)
	})
	return pairs
}

func (wasmHost) setupData() (data []byte) {
	abi.Call(func() {
		ret, out := mem.Alloc(8, 4)
		abi.VUSetupData(ret)
		data = abi.GetBytes(mem, out)
	})
	return data
}

func (wasmHost) log(level uint32, message string) {
	abi.Call(func() {
		p, n := abi.String(mem, message)
		abi.VULog(level, p, n)
	})
}

// metric lays out a metric's name and tags and calls record with their (ptr, len).
func metric(name string, tags []abi.Tag, record func(p, n, t, tn uint32)) {
	abi.Call(func() {
		p, n := abi.String(mem, name)
		t, tn := abi.Tags(mem, tags)
		record(p, n, t, tn)
	})
}

func (wasmHost) counterAdd(name string, value float64, tags []abi.Tag) {
	metric(name, tags, func(p, n, t, tn uint32) { abi.MetricsCounterAdd(p, n, value, t, tn) })
}

func (wasmHost) gaugeSet(name string, value float64, tags []abi.Tag) {
	metric(name, tags, func(p, n, t, tn uint32) { abi.MetricsGaugeSet(p, n, value, t, tn) })
}

func (wasmHost) rateAdd(name string, sample bool, tags []abi.Tag) {
	metric(name, tags, func(p, n, t, tn uint32) { abi.MetricsRateAdd(p, n, boolU32(sample), t, tn) })
}

func (wasmHost) trendAdd(name string, value float64, tags []abi.Tag) {
	metric(name, tags, func(p, n, t, tn uint32) { abi.MetricsTrendAdd(p, n, value, t, tn) })
}

func (wasmHost) check(name string, ok bool, tags []abi.Tag) (passed bool) {
	metric(name, tags, func(p, n, t, tn uint32) {
		passed = abi.MetricsCheck(p, n, boolU32(ok), t, tn) != 0
	})
	return passed
}

func (wasmHost) snapshot() (s abi.Snapshot) {
	abi.Call(func() {
		ret, out := mem.Alloc(abi.SnapshotSize, 8)
		abi.StatsSnapshot(ret)
		s = abi.GetSnapshot(mem, out)
	})
	return s
}
