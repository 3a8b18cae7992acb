//go:build wasip1

package loadwright

import (
	"runtime"

	"github.com/loadwright/loadwright/sdk/go/internal/abi"
)

func init() { abi.Ready() }

var host hostAPI = wasmHost{}

// wasmHost calls the host's imports. Values the host writes into guest memory are copied
// into Go values before the call returns, then the ABI arena is reset.
type wasmHost struct{}

var mem = abi.Mem

func boolU32(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}

func (wasmHost) send(r *abi.Request) abi.Result {
	req, b := mem.Alloc(abi.RequestSize, 8)
	abi.PutRequest(mem, b, r)
	ret, out := mem.Alloc(abi.ResultSize, 8)
	abi.HTTPSend(req, ret)
	result := abi.GetResult(mem, out)
	runtime.KeepAlive(r)
	abi.Reset()
	return result
}

func (wasmHost) batch(rs []abi.Request) []abi.Result {
	list, b := mem.Alloc(uint32(abi.RequestSize*len(rs)), 8)
	for i := range rs {
		abi.PutRequest(mem, b[abi.RequestSize*i:], &rs[i])
	}
	ret, out := mem.Alloc(8, 4)
	abi.HTTPBatch(list, uint32(len(rs)), ret)
	ptr, n := le32(out, 0), le32(out, 4)
	results := make([]abi.Result, n)
	if n > 0 {
		items := mem.Load(ptr, abi.ResultSize*n)
		for i := range results {
			results[i] = abi.GetResult(mem, items[abi.ResultSize*i:])
		}
	}
	abi.Reset()
	return results
}

func le32(b []byte, off int) uint32 {
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
}

func (wasmHost) clearCookies()      { abi.HTTPClearCookies() }
func (wasmHost) vuID() uint32       { return abi.VUID() }
func (wasmHost) iteration() uint64  { return abi.VUIteration() }
func (wasmHost) sleep(nanos uint64) { abi.VUSleep(nanos) }

func (wasmHost) scenario() string {
	ret, out := mem.Alloc(8, 4)
	abi.VUScenario(ret)
	s := abi.GetString(mem, out)
	abi.Reset()
	return s
}

func (wasmHost) parameter(key string) (string, bool) {
	k, n := abi.String(mem, key)
	ret, out := mem.Alloc(12, 4)
	abi.VUParameter(k, n, ret)
	value, ok := abi.GetOptionString(mem, out)
	abi.Reset()
	return value, ok
}

func (wasmHost) parameters() [][2]string {
	ret, out := mem.Alloc(8, 4)
	abi.VUParameters(ret)
	pairs := abi.GetPairs(mem, out)
	abi.Reset()
	return pairs
}

func (wasmHost) setupData() []byte {
	ret, out := mem.Alloc(8, 4)
	abi.VUSetupData(ret)
	data := abi.GetBytes(mem, out)
	abi.Reset()
	return data
}

func (wasmHost) log(level uint32, message string) {
	p, n := abi.String(mem, message)
	abi.VULog(level, p, n)
	abi.Reset()
}

func (wasmHost) counterAdd(name string, value float64, tags []abi.Tag) {
	p, n := abi.String(mem, name)
	t, tn := abi.Tags(mem, tags)
	abi.MetricsCounterAdd(p, n, value, t, tn)
	abi.Reset()
}

func (wasmHost) gaugeSet(name string, value float64, tags []abi.Tag) {
	p, n := abi.String(mem, name)
	t, tn := abi.Tags(mem, tags)
	abi.MetricsGaugeSet(p, n, value, t, tn)
	abi.Reset()
}

func (wasmHost) rateAdd(name string, sample bool, tags []abi.Tag) {
	p, n := abi.String(mem, name)
	t, tn := abi.Tags(mem, tags)
	abi.MetricsRateAdd(p, n, boolU32(sample), t, tn)
	abi.Reset()
}

func (wasmHost) trendAdd(name string, value float64, tags []abi.Tag) {
	p, n := abi.String(mem, name)
	t, tn := abi.Tags(mem, tags)
	abi.MetricsTrendAdd(p, n, value, t, tn)
	abi.Reset()
}

func (wasmHost) check(name string, ok bool, tags []abi.Tag) bool {
	p, n := abi.String(mem, name)
	t, tn := abi.Tags(mem, tags)
	passed := abi.MetricsCheck(p, n, boolU32(ok), t, tn) != 0
	abi.Reset()
	return passed
}

func (wasmHost) snapshot() abi.Snapshot {
	ret, out := mem.Alloc(abi.SnapshotSize, 8)
	abi.StatsSnapshot(ret)
	s := abi.GetSnapshot(mem, out)
	abi.Reset()
	return s
}
