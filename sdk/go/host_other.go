//go:build !wasip1

package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

// Natively (for `go test`) the host is a recording fake: requests answer 200 with an
// empty body, metrics and logs are kept for the test to read.
var host hostAPI = &fakeHost{}

type fakeHost struct {
	sent    []abi.Request
	checks  map[string][2]int
	metrics map[string]float64
	lines   []string
	slept   uint64
	params  map[string]string
}

func (f *fakeHost) send(r *abi.Request) abi.Result {
	f.sent = append(f.sent, *r)
	return abi.Result{Response: &abi.Response{Status: 200, URL: r.URL, OK: true}}
}

func (f *fakeHost) batch(rs []abi.Request) []abi.Result {
	results := make([]abi.Result, len(rs))
	for i := range rs {
		results[i] = f.send(&rs[i])
	}
	return results
}

func (f *fakeHost) clearCookies()      {}
func (f *fakeHost) vuID() uint32       { return 1 }
func (f *fakeHost) iteration() uint64  { return 0 }
func (f *fakeHost) scenario() string   { return "default" }
func (f *fakeHost) sleep(nanos uint64) { f.slept += nanos }

func (f *fakeHost) parameters() [][2]string {
	var pairs [][2]string
	for k, v := range f.params {
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs
}

func (f *fakeHost) setupData() []byte                { return nil }
func (f *fakeHost) log(level uint32, message string) { f.lines = append(f.lines, message) }

func (f *fakeHost) add(name string, value float64) {
	if f.metrics == nil {
		f.metrics = map[string]float64{}
	}
	f.metrics[name] += value
}

func (f *fakeHost) counterAdd(name string, value float64, _ []abi.Tag) { f.add(name, value) }
func (f *fakeHost) gaugeSet(name string, value float64, _ []abi.Tag)   { f.add(name, value) }
func (f *fakeHost) trendAdd(name string, value float64, _ []abi.Tag)   { f.add(name, value) }
func (f *fakeHost) rateAdd(name string, sample bool, _ []abi.Tag) {
	if sample {
		f.add(name, 1)
	}
}

func (f *fakeHost) check(name string, ok bool, _ []abi.Tag) bool {
	if f.checks == nil {
		f.checks = map[string][2]int{}
	}
	c := f.checks[name]
	if ok {
		c[0]++
	} else {
		c[1]++
	}
	f.checks[name] = c
	return ok
}

func (f *fakeHost) snapshot() abi.Snapshot { return abi.Snapshot{VUs: 1} }
