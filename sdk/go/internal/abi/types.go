// Package abi is the canonical ABI of the loadwright:scenario@0.2.0 world, written by hand:
// the records of wit/ laid out in linear memory as the component model lays them out, the
// host's imports, the guest's exports and cabi_realloc. The public package loadwright wraps
// it; scenario authors never use it directly.
//
// Layout code reads and writes through the Memory interface, so it runs (and is tested)
// natively against a fake memory as well as in wasm against the real one.
package abi

// Tag is a key-value label (types.tag).
type Tag struct {
	Key, Value string
}

// StatusRange is an inclusive range of expected statuses (http.status-range).
type StatusRange struct {
	Min, Max uint16
}

// Request is http.request.
type Request struct {
	Method           string
	URL              string
	Headers          [][2]string
	Body             []byte
	Name             *string
	TimeoutNanos     *uint64
	Tags             []Tag
	ExpectedStatuses []StatusRange
	MaxRedirects     *uint32
	DiscardBody      bool
	Decompress       bool
}

// Timings is http.timings, in nanoseconds.
type Timings struct {
	Blocked, DNS, Connecting, TLSHandshaking, Sending, Waiting, Receiving, Duration uint64
}

// Response is http.response.
type Response struct {
	Status uint16
	// Headers is the header block: `name: value\r\n` lines, names in lower case.
	Headers          string
	Body             []byte
	BodySize         uint64
	URL              string
	Redirects        uint32
	Protocol         uint8
	Timings          Timings
	ConnectionReused bool
	TLSResumed       bool
	OK               bool
}

// HTTPError is http.http-error.
type HTTPError struct {
	Kind    uint8
	Message string
}

// Result is result<response, http-error>.
type Result struct {
	Response *Response
	Err      *HTTPError
}

// TrendStats is types.trend-stats (times in milliseconds).
type TrendStats struct {
	Count                              uint64
	Min, Mean, P50, P90, P95, P99, Max float64
}

// RequestStats is types.request-stats.
type RequestStats struct {
	Method, Name             string
	Count, Failures          uint64
	RPS, CurrentRPS          float64
	Duration                 TrendStats
	BytesSent, BytesReceived uint64
}

// CheckStats is types.check-stats.
type CheckStats struct {
	Name          string
	Passes, Fails uint64
}

// MetricStats is types.metric-stats; Kind is 0 counter, 1 gauge, 2 rate, 3 trend.
type MetricStats struct {
	Name  string
	Kind  uint8
	Count uint64
	Value float64
	Trend *TrendStats
}

// ErrorCount is types.error-count.
type ErrorCount struct {
	Method, Name, Kind string
	Count              uint64
}

// Snapshot is types.stats-snapshot.
type Snapshot struct {
	ElapsedNanos          uint64
	VUs, VUsMax           uint32
	Iterations            uint64
	IterationsFailed      uint64
	IterationsInterrupted uint64
	DroppedIterations     uint64
	IterationDuration     TrendStats
	Total                 RequestStats
	Requests              []RequestStats
	Errors                []ErrorCount
	Checks                []CheckStats
	Metrics               []MetricStats
}

// Task is guest.task.
type Task struct {
	Name   string
	Weight uint32
}
