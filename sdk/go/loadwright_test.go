//go:build !wasip1

package loadwright

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func reset() *fakeHost {
	tasks, plan, waitTime, registryErr = nil, Plan{}, nil, nil
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
