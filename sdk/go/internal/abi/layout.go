package abi

import (
	"encoding/binary"
	"math"
)

// Memory is the guest's linear memory as the layout code sees it.
type Memory interface {
	// Load is a view of n bytes at addr.
	Load(addr, n uint32) []byte
	// Alloc reserves size zeroed bytes aligned to align, alive until the current call ends.
	Alloc(size, align uint32) (addr uint32, buf []byte)
}

// Sizes of records laid out in memory.
const (
	RequestSize  = 96
	ResultSize   = 128
	SnapshotSize = 272
)

var le = binary.LittleEndian

func u16(b []byte, off int) uint16 { return le.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return le.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return le.Uint64(b[off:]) }
func f64(b []byte, off int) float64 {
	return math.Float64frombits(le.Uint64(b[off:]))
}

// putBytes copies data into guest memory and writes its (ptr, len) at b[off:].
func putBytes(m Memory, b []byte, off int, data []byte) {
	var addr uint32
	if len(data) > 0 {
		var buf []byte
		addr, buf = m.Alloc(uint32(len(data)), 1)
		copy(buf, data)
	}
	le.PutUint32(b[off:], addr)
	le.PutUint32(b[off+4:], uint32(len(data)))
}

func putString(m Memory, b []byte, off int, s string) {
	putBytes(m, b, off, []byte(s))
}

// getBytes copies the (ptr, len) list of bytes at b[off:] out of guest memory.
func getBytes(m Memory, b []byte, off int) []byte {
	ptr, n := u32(b, off), u32(b, off+4)
	out := make([]byte, n)
	if n > 0 {
		copy(out, m.Load(ptr, n))
	}
	return out
}

func getString(m Memory, b []byte, off int) string {
	ptr, n := u32(b, off), u32(b, off+4)
	if n == 0 {
		return ""
	}
	return string(m.Load(ptr, n))
}

// putPairs lays out a list<tuple<string, string>> (or list<tag>: the same layout).
func putPairs(m Memory, b []byte, off int, pairs [][2]string) {
	var addr uint32
	if len(pairs) > 0 {
		var list []byte
		addr, list = m.Alloc(uint32(16*len(pairs)), 4)
		for i, p := range pairs {
			putString(m, list, 16*i, p[0])
			putString(m, list, 16*i+8, p[1])
		}
	}
	le.PutUint32(b[off:], addr)
	le.PutUint32(b[off+4:], uint32(len(pairs)))
}

func getPairs(m Memory, b []byte, off int) [][2]string {
	ptr, n := u32(b, off), u32(b, off+4)
	pairs := make([][2]string, n)
	if n > 0 {
		list := m.Load(ptr, 16*n)
		for i := range pairs {
			pairs[i] = [2]string{getString(m, list, 16*i), getString(m, list, 16*i+8)}
		}
	}
	return pairs
}

// tagPairs is tags as the pairs a list<tag> is laid out like.
func tagPairs(tags []Tag) [][2]string {
	pairs := make([][2]string, len(tags))
	for i, t := range tags {
		pairs[i] = [2]string{t.Key, t.Value}
	}
	return pairs
}

// Tags lays out a list<tag> and returns its (ptr, len).
func Tags(m Memory, tags []Tag) (uint32, uint32) {
	var cell [8]byte
	putPairs(m, cell[:], 0, tagPairs(tags))
	return u32(cell[:], 0), u32(cell[:], 4)
}

// String copies s into guest memory and returns its (ptr, len).
func String(m Memory, s string) (uint32, uint32) {
	var cell [8]byte
	putString(m, cell[:], 0, s)
	return u32(cell[:], 0), u32(cell[:], 4)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// PutRequest lays out r in the RequestSize bytes of b.
func PutRequest(m Memory, b []byte, r *Request) {
	putString(m, b, 0, r.Method)
	putString(m, b, 8, r.URL)
	putPairs(m, b, 16, r.Headers)
	putBytes(m, b, 24, r.Body)
	if r.Name != nil {
		b[32] = 1
		putString(m, b, 36, *r.Name)
	}
	if r.TimeoutNanos != nil {
		b[48] = 1
		le.PutUint64(b[56:], *r.TimeoutNanos)
	}
	putPairs(m, b, 64, tagPairs(r.Tags))
	var addr uint32
	if len(r.ExpectedStatuses) > 0 {
		var list []byte
		addr, list = m.Alloc(uint32(4*len(r.ExpectedStatuses)), 2)
		for i, s := range r.ExpectedStatuses {
			le.PutUint16(list[4*i:], s.Min)
			le.PutUint16(list[4*i+2:], s.Max)
		}
	}
	le.PutUint32(b[72:], addr)
	le.PutUint32(b[76:], uint32(len(r.ExpectedStatuses)))
	if r.MaxRedirects != nil {
		b[80] = 1
		le.PutUint32(b[84:], *r.MaxRedirects)
	}
	b[88] = boolByte(r.DiscardBody)
	b[89] = boolByte(r.Decompress)
}

// GetResult reads the result<response, http-error> of ResultSize bytes in b.
func GetResult(m Memory, b []byte) Result {
	if b[0] != 0 {
		return Result{Err: &HTTPError{Kind: b[8], Message: getString(m, b, 12)}}
	}
	p := b[8:]
	t := p[48:]
	return Result{Response: &Response{
		Status:    u16(p, 0),
		Headers:   getString(m, p, 4),
		Body:      getBytes(m, p, 12),
		BodySize:  u64(p, 24),
		URL:       getString(m, p, 32),
		Redirects: u32(p, 40),
		Protocol:  p[44],
		Timings: Timings{
			Blocked: u64(t, 0), DNS: u64(t, 8), Connecting: u64(t, 16),
			TLSHandshaking: u64(t, 24), Sending: u64(t, 32), Waiting: u64(t, 40),
			Receiving: u64(t, 48), Duration: u64(t, 56),
		},
		ConnectionReused: p[112] != 0,
		TLSResumed:       p[113] != 0,
		OK:               p[114] != 0,
	}}
}

func getTrend(b []byte, off int) TrendStats {
	return TrendStats{
		Count: u64(b, off), Min: f64(b, off+8), Mean: f64(b, off+16), P50: f64(b, off+24),
		P90: f64(b, off+32), P95: f64(b, off+40), P99: f64(b, off+48), Max: f64(b, off+56),
	}
}

func getRequestStats(m Memory, b []byte, off int) RequestStats {
	return RequestStats{
		Method: getString(m, b, off), Name: getString(m, b, off+8),
		Count: u64(b, off+16), Failures: u64(b, off+24),
		RPS: f64(b, off+32), CurrentRPS: f64(b, off+40),
		Duration:  getTrend(b, off+48),
		BytesSent: u64(b, off+112), BytesReceived: u64(b, off+120),
	}
}

// list returns the elements of the (ptr, len) list at b[off:], each size bytes.
func list(m Memory, b []byte, off int, size uint32) ([]byte, int) {
	ptr, n := u32(b, off), u32(b, off+4)
	if n == 0 {
		return nil, 0
	}
	return m.Load(ptr, size*n), int(n)
}

// GetResults reads the (ptr, len) list<result<response, http-error>> at b.
func GetResults(m Memory, b []byte) []Result {
	items, n := list(m, b, 0, ResultSize)
	results := make([]Result, n)
	for i := range results {
		results[i] = GetResult(m, items[ResultSize*i:])
	}
	return results
}

// GetSnapshot reads the stats-snapshot of SnapshotSize bytes in b.
func GetSnapshot(m Memory, b []byte) Snapshot {
	s := Snapshot{
		ElapsedNanos: u64(b, 0), VUs: u32(b, 8), VUsMax: u32(b, 12),
		Iterations: u64(b, 16), IterationsFailed: u64(b, 24),
		IterationsInterrupted: u64(b, 32), DroppedIterations: u64(b, 40),
		IterationDuration: getTrend(b, 48),
		Total:             getRequestStats(m, b, 112),
	}
	rows, n := list(m, b, 240, 128)
	for i := 0; i < n; i++ {
		s.Requests = append(s.Requests, getRequestStats(m, rows, 128*i))
	}
	errs, n := list(m, b, 248, 32)
	for i := 0; i < n; i++ {
		o := 32 * i
		s.Errors = append(s.Errors, ErrorCount{
			Method: getString(m, errs, o), Name: getString(m, errs, o+8),
			Kind: getString(m, errs, o+16), Count: u64(errs, o+24),
		})
	}
	checks, n := list(m, b, 256, 24)
	for i := 0; i < n; i++ {
		o := 24 * i
		s.Checks = append(s.Checks, CheckStats{
			Name: getString(m, checks, o), Passes: u64(checks, o+8), Fails: u64(checks, o+16),
		})
	}
	metrics, n := list(m, b, 264, 104)
	for i := 0; i < n; i++ {
		o := 104 * i
		metric := MetricStats{
			Name: getString(m, metrics, o), Kind: metrics[o+8],
			Count: u64(metrics, o+16), Value: f64(metrics, o+24),
		}
		if metrics[o+32] != 0 {
			trend := getTrend(metrics, o+40)
			metric.Trend = &trend
		}
		s.Metrics = append(s.Metrics, metric)
	}
	return s
}

// PutOptions lays out scenario-options and returns its address.
func PutOptions(m Memory, tasks []Task, plan string) uint32 {
	addr, b := m.Alloc(16, 4)
	var listAddr uint32
	if len(tasks) > 0 {
		var l []byte
		listAddr, l = m.Alloc(uint32(12*len(tasks)), 4)
		for i, t := range tasks {
			putString(m, l, 12*i, t.Name)
			le.PutUint32(l[12*i+8:], t.Weight)
		}
	}
	le.PutUint32(b[0:], listAddr)
	le.PutUint32(b[4:], uint32(len(tasks)))
	putString(m, b, 8, plan)
	return addr
}

// PutResult lays out result<T, string> where the ok payload is a (ptr, len) of bytes (or
// nothing), and returns its address.
func PutResult(m Memory, ok []byte, err *string) uint32 {
	addr, b := m.Alloc(12, 4)
	if err != nil {
		b[0] = 1
		putString(m, b, 4, *err)
	} else {
		putBytes(m, b, 4, ok)
	}
	return addr
}

// GetOptionString reads an option<string> at b.
func GetOptionString(m Memory, b []byte) (string, bool) {
	if b[0] == 0 {
		return "", false
	}
	return getString(m, b, 4), true
}

// GetString reads a string's (ptr, len) at b.
func GetString(m Memory, b []byte) string { return getString(m, b, 0) }

// GetBytes reads a list<u8>'s (ptr, len) at b.
func GetBytes(m Memory, b []byte) []byte { return getBytes(m, b, 0) }

// GetPairs reads a list<tuple<string, string>>'s (ptr, len) at b.
func GetPairs(m Memory, b []byte) [][2]string { return getPairs(m, b, 0) }
