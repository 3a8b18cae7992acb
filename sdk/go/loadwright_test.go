//go:build !wasip1

package loadwright

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loadwright/loadwright/sdk/go/internal/abi"
)

func reset() *fakeHost {
	tasks, plan, waitTime, registryErr, params = nil, Plan{}, nil, nil, nil
	fake := &fakeHost{}
	host = fake
	return fake
}

func TestTasksAreDeclaredInOrderWithTheirWeightsAndPlan(t *testing.T) {
	reset()
	Task("browse", 3, func() error { return nil })
	Task("buy", 1, func() error { return nil })
	Options(Plan{VUs: 5, Duration: "10s", Thresholds: map[string][]string{"checks": {"rate>0.9"}}})
	list, doc := options()
	if len(list) != 2 || list[0].Name != "browse" || list[0].Weight != 3 || list[1].Name != "buy" {
		t.Fatalf("tasks: %+v", list)
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(doc), &parsed); err != nil {
		t.Fatalf("plan %q: %v", doc, err)
	}
	if parsed["vus"] != 5.0 || parsed["duration"] != "10s" || parsed["thresholds"] == nil {
		t.Fatalf("plan: %s", doc)
	}
	if (Plan{}).document() != "" {
		t.Fatal("an empty plan is no document")
	}
}

func TestARunTaskCallsItsFunctionAndAPanicBecomesItsError(t *testing.T) {
	reset()
	calls := 0
	Task("ok", 1, func() error { calls++; return nil })
	Task("fails", 1, func() error { return errors.New("out of stock") })
	Task("panics", 1, func() error { panic("boom") })
	if err := runTask(0); err != nil || calls != 1 {
		t.Fatalf("ok: %v, %d calls", err, calls)
	}
	if err := runTask(1); err == nil || err.Error() != "out of stock" {
		t.Fatalf("fails: %v", err)
	}
	if err := runTask(2); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("panics: %v", err)
	}
	if err := runTask(9); err == nil {
		t.Fatal("no task 9")
	}
	Task("ok", 1, nil)
	if err := runTask(0); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a task registered twice: %v", err)
	}
}

func TestTheRequestBuilderSetsEveryField(t *testing.T) {
	fake := reset()
	res, err := Post("/cart", []byte("item=1")).
		Header("content-type", "application/x-www-form-urlencoded").
		Name("cart").Tag("flow", "buy").Timeout(2*time.Second).
		Expect(200, 201).MaxRedirects(0).DiscardBody().Send()
	if err != nil || res.Status() != 200 || !res.OK() {
		t.Fatalf("%v %v", res, err)
	}
	r := fake.sent[0]
	if r.Method != "POST" || r.URL != "/cart" || string(r.Body) != "item=1" || *r.Name != "cart" ||
		*r.TimeoutNanos != 2e9 || r.Tags[0].Value != "buy" || r.ExpectedStatuses[0].Max != 201 ||
		*r.MaxRedirects != 0 || !r.DiscardBody || !r.Decompress || r.Headers[0][0] != "content-type" {
		t.Fatalf("request: %+v", r)
	}
	results := Batch(Get("/a"), Get("/b").Decompress(false))
	if len(results) != 2 || results[1].Response.URL() != "/b" {
		t.Fatalf("batch: %+v", results)
	}
	if !fake.sent[1].Decompress || fake.sent[2].Decompress {
		t.Fatalf("decompress is on by default and off when asked: %+v", fake.sent[1:])
	}
	if (&HTTPError{Kind: ConnectRefused, Message: "x"}).Error() != "connect-refused: x" {
		t.Fatal("error text")
	}
}

func TestWaitTimesFollowEveryTask(t *testing.T) {
	fake := reset()
	Task("t", 1, func() error { return nil })
	Wait(Constant(50 * time.Millisecond))
	_ = runTask(0)
	if fake.slept != uint64(50*time.Millisecond) {
		t.Fatalf("slept %d", fake.slept)
	}
	between := Between(10*time.Millisecond, 20*time.Millisecond)
	for i := 0; i < 100; i++ {
		if d := between(); d < 10*time.Millisecond || d > 20*time.Millisecond {
			t.Fatalf("between: %v", d)
		}
	}
}

func TestChecksAndMetricsReachTheHost(t *testing.T) {
	fake := reset()
	Check("ok", true)
	Check("ok", false)
	CounterAdd("items", 2)
	CounterAdd("items", 3, Tag{Key: "k", Value: "v"})
	if fake.checks["ok"] != [2]int{1, 1} || fake.metrics["items"] != 5 {
		t.Fatalf("%+v %+v", fake.checks, fake.metrics)
	}
}

func TestHeadersAreReadFromTheBlockByNameAndInOrder(t *testing.T) {
	r := &Response{r: abi.Response{
		Headers: "content-type: text/plain\r\nx-seen: one\r\nx-seen: two\r\nx-empty: \r\n",
	}}
	if got := r.Header("Content-Type"); got != "text/plain" {
		t.Fatalf("Content-Type: %q", got)
	}
	if got := r.Header("x-seen"); got != "one" {
		t.Fatalf("the first of two: %q", got)
	}
	if got := r.Header("absent"); got != "" {
		t.Fatalf("absent: %q", got)
	}
	want := [][2]string{{"content-type", "text/plain"}, {"x-seen", "one"}, {"x-seen", "two"}, {"x-empty", ""}}
	if got := r.Headers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Headers: %q", got)
	}
	if got := (&Response{}).Headers(); len(got) != 0 {
		t.Fatalf("no fields: %q", got)
	}
}

func TestParamsAreAskedOfTheHostOnce(t *testing.T) {
	fake := reset()
	fake.params = map[string]string{"think_ms": "5", "mode": "fetch"}
	if v, ok := Param("think_ms"); !ok || v != "5" {
		t.Fatalf("think_ms: %q %v", v, ok)
	}
	fake.params = map[string]string{}
	if v, ok := Param("mode"); !ok || v != "fetch" {
		t.Fatalf("mode, from the copy: %q %v", v, ok)
	}
	if _, ok := Param("absent"); ok {
		t.Fatal("absent")
	}
	all := Params()
	all["mode"] = "changed"
	if v, _ := Param("mode"); v != "fetch" {
		t.Fatalf("Params returns a copy: %q", v)
	}
}
