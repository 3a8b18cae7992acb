// The Go probe: tasks "a" (weight 3) and "b" (weight 1) each send one request; every hook
// announces itself with a request the test target counts. Parameters steer it:
// `panic_every=N` panics in every Nth iteration of a VU, `snapshot=1` reads the live
// statistics and the setup data and reports them, `fail_vu_start=N` makes VU N never start,
// `rand=1` reports a number from math/rand in each VU, `headers=1` reports the header
// fields of each response as checks.
package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	lw "github.com/loadwright/loadwright/sdk/go"
)

func hit(path string) {
	_, _ = lw.Get(path).Send()
}

func param(key string) (uint64, bool) {
	text, ok := lw.Param(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(text, 10, 64)
	return n, err == nil
}

func init() {
	lw.Task("a", 3, func() error { return task("/a") })
	lw.Task("b", 1, func() error { return task("/b") })
	lw.OnTestStart(func() ([]byte, error) {
		hit("/hook/test-start")
		return []byte("setup-ok"), nil
	})
	lw.OnVUStart(func() error {
		hit("/hook/vu-start")
		if _, ok := param("rand"); ok {
			hit(fmt.Sprintf("/rand?n=%d", rand.Uint64()))
		}
		if n, ok := param("fail_vu_start"); ok && uint32(n) == lw.ID() {
			return errors.New("VU refused by the probe")
		}
		return nil
	})
	lw.OnVUStop(func() { hit("/hook/vu-stop") })
	lw.OnStats(func(lw.Snapshot) { hit("/hook/stats") })
	lw.OnTestStop(func(final lw.Snapshot) {
		hit(fmt.Sprintf("/hook/test-stop?requests=%d", final.Total.Count))
	})
}

func task(path string) error {
	if every, ok := param("panic_every"); ok && lw.Iteration()%every == every-1 {
		panic(fmt.Sprintf("planned panic at iteration %d", lw.Iteration()))
	}
	if _, ok := param("snapshot"); ok {
		now := lw.Stats()
		hit(fmt.Sprintf("/snap?count=%d&iterations=%d&iteration=%d&setup=%s",
			now.Total.Count, now.Iterations, lw.Iteration(), lw.SetupData()))
	}
	lw.Check("probe ran", true)
	lw.CounterAdd("probe_tasks", 1, lw.Tag{Key: "task", Value: path})
	r, err := lw.Get(fmt.Sprintf("%s?vu=%d", path, lw.ID())).Name(path).Send()
	if _, ok := param("headers"); ok && err == nil {
		lw.Check("Content-Length="+r.Header("Content-Length"), true)
		names := []string{}
		for _, field := range r.Headers() {
			names = append(names, field[0])
		}
		lw.Check("fields="+strings.Join(names, ","), true)
	}
	return err
}

func main() {}
