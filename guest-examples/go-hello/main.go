// The smallest useful scenario, in Go: each iteration fetches `/` and checks the status,
// then thinks for `think_ms` milliseconds if that parameter is given.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o go-hello.wasm .
//	host run go-hello.wasm --target-demo --vus 10 --duration 10s
package main

import (
	"strconv"
	"time"

	lw "github.com/loadwright/loadwright/sdk/go"
)

func init() {
	lw.Task("default", 1, hello)
}

func hello() error {
	res, err := lw.Get("/").Send()
	// Think time follows the request whether it worked or not.
	if think, ok := lw.Param("think_ms"); ok {
		if ms, err := strconv.Atoi(think); err == nil {
			lw.Sleep(time.Duration(ms) * time.Millisecond)
		}
	}
	if err != nil {
		return err
	}
	lw.Check("status is 200", res.Status() == 200)
	return nil
}

func main() {}
