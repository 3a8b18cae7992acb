package loadwright

import (
	"fmt"
	"strings"
	"time"

	"github.com/loadwright/loadwright/sdk/go/internal/abi"
)

// Request is a request being built: start with Get, Post, ..., chain settings, then Send.
type Request struct {
	r abi.Request
}

// NewRequest starts a request with any method. A URL without a host is resolved against the
// run's base URL.
func NewRequest(method, url string) *Request {
	return &Request{r: abi.Request{Method: method, URL: url, Decompress: true}}
}

// Get starts a GET request.
func Get(url string) *Request { return NewRequest("GET", url) }

// Post starts a POST request with body.
func Post(url string, body []byte) *Request { return NewRequest("POST", url).Body(body) }

// Put starts a PUT request with body.
func Put(url string, body []byte) *Request { return NewRequest("PUT", url).Body(body) }

// Patch starts a PATCH request with body.
func Patch(url string, body []byte) *Request { return NewRequest("PATCH", url).Body(body) }

// Delete starts a DELETE request.
func Delete(url string) *Request { return NewRequest("DELETE", url) }

// Head starts a HEAD request.
func Head(url string) *Request { return NewRequest("HEAD", url) }

// Header adds a header.
func (q *Request) Header(name, value string) *Request {
	q.r.Headers = append(q.r.Headers, [2]string{name, value})
	return q
}

// Body sets the body.
func (q *Request) Body(body []byte) *Request { q.r.Body = body; return q }

// Name groups the request in the statistics under name instead of its URL
// (`/items/{id}` for every `/items/123`).
func (q *Request) Name(name string) *Request { q.r.Name = &name; return q }

// Timeout bounds the whole exchange (default 60 s).
func (q *Request) Timeout(d time.Duration) *Request {
	nanos := uint64(d.Nanoseconds())
	q.r.TimeoutNanos = &nanos
	return q
}

// Tag adds a tag to the request's samples (thresholds can filter on it).
func (q *Request) Tag(key, value string) *Request {
	q.r.Tags = append(q.r.Tags, abi.Tag{Key: key, Value: value})
	return q
}

// Expect sets the statuses that count as success, as inclusive ranges (default 200-399).
func (q *Request) Expect(min, max uint16) *Request {
	q.r.ExpectedStatuses = append(q.r.ExpectedStatuses, abi.StatusRange{Min: min, Max: max})
	return q
}

// MaxRedirects sets how many redirects are followed (default 10; 0 follows none).
func (q *Request) MaxRedirects(n uint32) *Request { q.r.MaxRedirects = &n; return q }

// DiscardBody measures the body without handing it to the scenario.
func (q *Request) DiscardBody() *Request { q.r.DiscardBody = true; return q }

// Decompress sets whether to ask for a compressed response (Accept-Encoding: gzip, deflate,
// br, unless the request sets its own) and decode it before handing it over, as browsers do.
// On by default; the bytes received are counted as they came over the wire either way.
func (q *Request) Decompress(on bool) *Request { q.r.Decompress = on; return q }

// Send performs the request; an error is an *HTTPError (no response at all). A response
// with a failing status is not an error: see Response.OK.
func (q *Request) Send() (*Response, error) {
	return wrap(host.send(&q.r))
}

// Batch sends requests concurrently and returns their results in order.
func Batch(requests ...*Request) []Result {
	list := make([]abi.Request, len(requests))
	for i, q := range requests {
		list[i] = q.r
	}
	raw := host.batch(list)
	results := make([]Result, len(raw))
	for i, r := range raw {
		results[i].Response, results[i].Err = wrap(r)
	}
	return results
}

// Result is one request's outcome in a batch.
type Result struct {
	Response *Response
	Err      error
}

// ClearCookies forgets the VU's cookies.
func ClearCookies() { host.clearCookies() }

func wrap(r abi.Result) (*Response, error) {
	if r.Err != nil {
		return nil, &HTTPError{Kind: ErrorKind(r.Err.Kind), Message: r.Err.Message}
	}
	return &Response{r: *r.Response}, nil
}

// Response is a received response.
type Response struct {
	r      abi.Response
	fields [][2]string // the header block split, once Headers asks
}

// Status is the status code.
func (s *Response) Status() int { return int(s.r.Status) }

// OK tells whether the status is one the request expected.
func (s *Response) OK() bool { return s.r.OK }

// Body is the body (empty with DiscardBody).
func (s *Response) Body() []byte { return s.r.Body }

// Text is the body as a string.
func (s *Response) Text() string { return string(s.r.Body) }

// BodySize is the body's size in bytes, also when discarded.
func (s *Response) BodySize() uint64 { return s.r.BodySize }

// Header is the first value of header name (case-insensitive), or "".
func (s *Response) Header(name string) string {
	found := ""
	eachHeader(s.r.Headers, func(n, v string) bool {
		if strings.EqualFold(n, name) {
			found = v
			return false
		}
		return true
	})
	return found
}

// Headers are every header, in order, names in lower case. The host sends them as one
// block of text; it is split into pairs the first time Headers is called.
func (s *Response) Headers() [][2]string {
	if s.fields == nil {
		s.fields = splitHeaders(s.r.Headers)
	}
	return s.fields
}

// splitHeaders turns a header block into (name, value) pairs, in order.
func splitHeaders(block string) [][2]string {
	fields := make([][2]string, 0, strings.Count(block, "\r\n"))
	eachHeader(block, func(n, v string) bool {
		fields = append(fields, [2]string{n, v})
		return true
	})
	return fields
}

// eachHeader calls yield with the name and value of each `name: value\r\n` line of a
// header block, in order, until yield returns false.
func eachHeader(block string, yield func(name, value string) bool) {
	for block != "" {
		var line string
		line, block, _ = strings.Cut(block, "\r\n")
		if n, v, ok := strings.Cut(line, ": "); ok && !yield(n, v) {
			return
		}
	}
}

// URL is the final URL, after redirects.
func (s *Response) URL() string { return s.r.URL }

// Redirects is how many redirects were followed.
func (s *Response) Redirects() uint32 { return s.r.Redirects }

// ConnectionReused tells whether a kept-alive connection carried the request.
func (s *Response) ConnectionReused() bool { return s.r.ConnectionReused }

// TLSResumed tells whether the connection's TLS session was resumed rather than new (false
// for plain HTTP).
func (s *Response) TLSResumed() bool { return s.r.TLSResumed }

// Timings is the time each phase took, as the host measured it.
func (s *Response) Timings() Timings {
	t := s.r.Timings
	d := func(n uint64) time.Duration { return time.Duration(n) }
	return Timings{
		Blocked: d(t.Blocked), DNS: d(t.DNS), Connecting: d(t.Connecting),
		TLSHandshaking: d(t.TLSHandshaking), Sending: d(t.Sending), Waiting: d(t.Waiting),
		Receiving: d(t.Receiving), Duration: d(t.Duration),
	}
}

// Timings are the phases of a request (k6's names).
type Timings struct {
	Blocked, DNS, Connecting, TLSHandshaking, Sending, Waiting, Receiving time.Duration
	// Duration is sending + waiting + receiving: k6's http_req_duration.
	Duration time.Duration
}

// ErrorKind is why a request got no response.
type ErrorKind uint8

// The kinds, as in wit/http.wit.
const (
	Denied ErrorKind = iota
	InvalidRequest
	DNS
	ConnectRefused
	ConnectTimeout
	TLSCertificate
	TLSHandshake
	Timeout
	Reset
	Protocol
	BodyTooLarge
	TooManyRedirects
	TooManyRequests
	Other
)

var kindNames = [...]string{"denied", "invalid-request", "dns", "connect-refused",
	"connect-timeout", "tls-certificate", "tls-handshake", "timeout", "reset", "protocol",
	"body-too-large", "too-many-redirects", "too-many-requests", "other"}

// String is the kind's name, as the statistics key it (`connect-refused`).
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "other"
}

// HTTPError is a request that got no response.
type HTTPError struct {
	Kind    ErrorKind
	Message string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%s: %s", e.Kind, e.Message) }
