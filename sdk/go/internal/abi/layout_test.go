package abi

import (
	"reflect"
	"testing"
)

// flat is a fake linear memory: one byte slice that never moves (as the real memory's
// allocations do not), addresses are offsets, 0 is kept unused as null.
type flat struct{ bytes []byte }

func newFlat() *flat { return &flat{bytes: make([]byte, 0, 1<<20)} }

func (f *flat) Load(addr, n uint32) []byte { return f.bytes[addr : addr+n] }

func (f *flat) Alloc(size, align uint32) (uint32, []byte) {
	start := (uint32(len(f.bytes)) + align - 1) / align * align
	if start == 0 {
		start = align
	}
	if int(start+size) > cap(f.bytes) {
		panic("the fake memory is full")
	}
	f.bytes = f.bytes[:start+size]
	return start, f.bytes[start : start+size]
}

func TestRequestLayoutMatchesTheCanonicalABI(t *testing.T) {
	m := newFlat()
	name, timeout, redirects := "/items/{id}", uint64(5e9), uint32(3)
	r := Request{
		Method: "POST", URL: "http://x/items/7", Headers: [][2]string{{"a", "b"}},
		Body: []byte("{}"), Name: &name, TimeoutNanos: &timeout,
		Tags: []Tag{{"k", "v"}}, ExpectedStatuses: []StatusRange{{200, 299}, {404, 404}},
		MaxRedirects: &redirects, DiscardBody: true,
	}
	addr, b := m.Alloc(RequestSize, 8)
	PutRequest(m, b, &r)
	b = m.Load(addr, RequestSize)
	if got := getString(m, b, 8); got != r.URL {
		t.Fatalf("url at 8: %q", got)
	}
	if b[32] != 1 || getString(m, b, 36) != name {
		t.Fatalf("name option at 32/36")
	}
	if b[48] != 1 || u64(b, 56) != timeout {
		t.Fatalf("timeout option at 48/56")
	}
	if getPairs(m, b, 64)[0] != [2]string{"k", "v"} {
		t.Fatalf("tags at 64")
	}
	statuses, n := list(m, b, 72, 4)
	if n != 2 || u16(statuses, 4) != 404 || u16(statuses, 2) != 299 {
		t.Fatalf("statuses at 72")
	}
	if b[80] != 1 || u32(b, 84) != 3 || b[88] != 1 || b[89] != 0 {
		t.Fatalf("redirects at 80/84, flags at 88/89")
	}
}

func TestResultsAndSnapshotsReadBack(t *testing.T) {
	m := newFlat()
	_, b := m.Alloc(ResultSize, 8)
	p := b[8:]
	le.PutUint16(p[0:], 201)
	putString(m, p, 4, "content-type: text/plain\r\n")
	putBytes(m, p, 12, []byte("hello"))
	le.PutUint64(p[24:], 5)
	putString(m, p, 32, "http://x/")
	le.PutUint64(p[48+40:], 1234) // waiting
	p[114] = 1
	got := GetResult(m, b)
	want := &Response{Status: 201, Headers: "content-type: text/plain\r\n",
		Body: []byte("hello"), BodySize: 5, URL: "http://x/",
		Timings: Timings{Waiting: 1234}, OK: true}
	if !reflect.DeepEqual(got.Response, want) {
		t.Fatalf("got %+v", got.Response)
	}
	b[0] = 1
	b[8] = 3
	putString(m, b, 12, "refused")
	if e := GetResult(m, b).Err; e == nil || e.Kind != 3 || e.Message != "refused" {
		t.Fatalf("error: %+v", e)
	}

	listAddr, items := m.Alloc(2*ResultSize, 8)
	le.PutUint16(items[8:], 200)
	items[ResultSize] = 1
	putString(m, items[ResultSize:], 12, "timed out")
	var cell [8]byte
	le.PutUint32(cell[:], listAddr)
	le.PutUint32(cell[4:], 2)
	results := GetResults(m, cell[:])
	if len(results) != 2 || results[0].Response.Status != 200 || results[1].Err.Message != "timed out" {
		t.Fatalf("results: %+v", results)
	}

	_, s := m.Alloc(SnapshotSize, 8)
	le.PutUint32(s[8:], 7)
	le.PutUint64(s[112+16:], 99) // total.count
	rowAddr, row := m.Alloc(128, 8)
	putString(m, row, 8, "/items")
	le.PutUint64(row[16:], 42)
	le.PutUint32(s[240:], rowAddr)
	le.PutUint32(s[244:], 1)
	metricAddr, metric := m.Alloc(104, 8)
	putString(m, metric, 0, "cart_size")
	metric[8] = 3
	metric[32] = 1
	le.PutUint64(metric[40:], 2)
	le.PutUint32(s[264:], metricAddr)
	le.PutUint32(s[268:], 1)
	snap := GetSnapshot(m, s)
	if snap.VUs != 7 || snap.Total.Count != 99 || snap.Requests[0].Name != "/items" ||
		snap.Requests[0].Count != 42 || snap.Metrics[0].Trend.Count != 2 {
		t.Fatalf("snapshot: %+v", snap)
	}
}

func TestOptionsAndResultsAreLaidOutForTheHost(t *testing.T) {
	m := newFlat()
	addr := PutOptions(m, []Task{{"browse", 3}, {"buy", 1}}, `{"vus":2}`)
	b := m.Load(addr, 16)
	tasks, n := list(m, b, 0, 12)
	if n != 2 || getString(m, tasks, 12) != "buy" || u32(tasks, 20) != 1 {
		t.Fatalf("tasks")
	}
	if getString(m, b, 8) != `{"vus":2}` {
		t.Fatalf("plan")
	}
	message := "no"
	r := m.Load(PutResult(m, nil, &message), 12)
	if r[0] != 1 || getString(m, r, 4) != "no" {
		t.Fatalf("error result")
	}
	r = m.Load(PutResult(m, []byte("data"), nil), 12)
	if r[0] != 0 || string(getBytes(m, r, 4)) != "data" {
		t.Fatalf("ok result")
	}
}
