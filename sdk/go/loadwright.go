// Package loadwright writes Loadwright load-test scenarios in Go.
//
// A scenario is a Go program built as a WebAssembly reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o scenario.wasm .
//
// and run as it is: `host run scenario.wasm` (the host turns the module into a component
// of its world). Tasks and hooks are registered from init functions; each virtual user (VU)
// is its own instance of the module, so package-level variables are that VU's state.
//
//	func init() {
//		loadwright.Task("browse", 3, browse)
//		loadwright.Task("buy", 1, buy)
//		loadwright.Options(loadwright.Plan{VUs: 10, Duration: "30s"})
//	}
//
//	func browse() error {
//		res, err := loadwright.Get("/items").Name("items").Send()
//		if err != nil {
//			return err
//		}
//		loadwright.Check("items listed", res.Status == 200)
//		return nil
//	}
//
//	func main() {}
//
// # Layout
//
//   - loadwright.go: registration (Task, Options, the hooks) and the dispatch the exports use.
//   - http.go: the request builder (Get, Post, ...), Response, HTTPError, Batch.
//   - vu.go: who am I, Sleep, parameters, setup data, logging.
//   - metrics.go: checks and custom metrics.
//   - stats.go: the run's live statistics.
//   - wait.go: think times after each task (Constant, Between).
//   - host_*.go: the host behind the API: the real imports in wasm, a recording fake
//     natively (for tests).
//   - internal/abi: the canonical ABI of the world, written by hand.
package loadwright

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/loadwright/loadwright/sdk/go/internal/abi"
)

type task struct {
	name   string
	weight uint32
	run    func() error
}

var (
	tasks       []task
	plan        Plan
	waitTime    func() time.Duration
	testStart   func() ([]byte, error)
	testStop    func(Snapshot)
	vuStart     func() error
	vuStop      func()
	statsHook   func(Snapshot)
	registryErr error
)

// Task registers a task with its weight in the random pick (0: only run by name, through a
// plan's `exec`). Without any task, the scenario has none to run.
func Task(name string, weight uint32, run func() error) {
	for _, t := range tasks {
		if t.name == name {
			registryErr = fmt.Errorf("task %q is registered twice", name)
		}
	}
	tasks = append(tasks, task{name: name, weight: weight, run: run})
}

// Plan is the scenario's default plan: the shorthand and thresholds of a plan document
// (docs/plan.md). A run's plan file, API request or flags win over it.
type Plan struct {
	// VUs to run (k6's shorthand).
	VUs uint32
	// Duration of the run, "30s", "5m".
	Duration string
	// Iterations shared by the VUs.
	Iterations uint64
	// Parameters the scenario reads with Param.
	Params map[string]string
	// Thresholds by metric: {"http_req_duration": {"p(95)<300"}}.
	Thresholds map[string][]string
	// A whole plan document in JSON; when set, the fields above are ignored.
	JSON string
}

// Options sets the scenario's default plan.
func Options(p Plan) { plan = p }

// document is the plan as JSON ("" for none).
func (p Plan) document() string {
	if p.JSON != "" {
		return p.JSON
	}
	doc := map[string]any{}
	if p.VUs > 0 {
		doc["vus"] = p.VUs
	}
	if p.Duration != "" {
		doc["duration"] = p.Duration
	}
	if p.Iterations > 0 {
		doc["iterations"] = p.Iterations
	}
	if len(p.Params) > 0 {
		doc["params"] = p.Params
	}
	if len(p.Thresholds) > 0 {
		doc["thresholds"] = p.Thresholds
	}
	if len(doc) == 0 {
		return ""
	}
	text, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	return string(text)
}

// Wait sets the think time after every task: Constant(d), Between(min, max), or your own.
func Wait(wait func() time.Duration) { waitTime = wait }

// OnTestStart runs once, in a test instance, before any VU starts; the bytes it returns
// reach every VU through SetupData. An error aborts the run.
func OnTestStart(hook func() ([]byte, error)) { testStart = hook }

// OnTestStop runs once at the end, in the test instance, with the final statistics.
func OnTestStop(hook func(final Snapshot)) { testStop = hook }

// OnVUStart runs once per VU before its first task (log in, for example). An error fails
// the VU's start; it is retried, and the VU retired after five failures in a row.
func OnVUStart(hook func() error) { vuStart = hook }

// OnVUStop runs once per VU when it stops.
func OnVUStop(hook func()) { vuStop = hook }

// OnStats runs in the test instance at every stats interval, with the statistics so far.
func OnStats(hook func(snapshot Snapshot)) { statsHook = hook }

// guarded runs f; a panic becomes its error, so a panicking task fails its iteration and
// the VU goes on.
func guarded(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func options() ([]abi.Task, string) {
	list := make([]abi.Task, len(tasks))
	for i, t := range tasks {
		list[i] = abi.Task{Name: t.name, Weight: t.weight}
	}
	return list, plan.document()
}

func runTask(index uint32) error {
	if registryErr != nil {
		return registryErr
	}
	if int(index) >= len(tasks) {
		if len(tasks) == 0 {
			return errors.New("the scenario registers no task: call loadwright.Task from an init function")
		}
		return fmt.Errorf("no task %d", index)
	}
	err := guarded(tasks[index].run)
	if waitTime != nil {
		Sleep(waitTime())
	}
	return err
}

func onTestStart() ([]byte, error) {
	if testStart == nil {
		return nil, nil
	}
	var data []byte
	err := guarded(func() (err error) {
		data, err = testStart()
		return err
	})
	return data, err
}

func onVUStart() error {
	if vuStart == nil {
		return nil
	}
	return guarded(vuStart)
}

func onVUStop() {
	if vuStop != nil {
		_ = guarded(func() error { vuStop(); return nil })
	}
}

func onStats(s Snapshot) {
	if statsHook != nil {
		_ = guarded(func() error { statsHook(s); return nil })
	}
}

func onTestStop(s Snapshot) {
	if testStop != nil {
		_ = guarded(func() error { testStop(s); return nil })
	}
}
