// A shopper, in Go: logs in once per VU, then browses often and buys now and then, with
// think time, checks and custom metrics. Runs against the built-in demo target:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o go-shop.wasm .
//	host run go-shop.wasm --target-demo
package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	lw "github.com/loadwright/loadwright/sdk/go"
)

// token is this VU's session token: each VU is its own instance, so globals are per VU.
var token string

func init() {
	lw.Task("browse", 5, browse)
	lw.Task("view_item", 3, viewItem)
	lw.Task("buy", 1, buy)
	// Think time after every task, as Locust's `wait_time = between(0.05, 0.25)`.
	lw.Wait(lw.Between(50*time.Millisecond, 250*time.Millisecond))
	lw.Options(lw.Plan{
		VUs:      5,
		Duration: "10s",
		// The run passes only if these hold (host run exits with 99 otherwise).
		Thresholds: map[string][]string{
			"http_req_failed":                {"rate<0.01"},
			"http_req_duration{name:/items}": {"p(95)<500"},
			"checks":                         {"rate>0.99"},
		},
	})
	// Once per VU (Locust's on_start): the session cookie lands in this VU's cookie jar.
	lw.OnVUStart(login)
}

func login() error {
	body, _ := json.Marshal(map[string]string{"user": "demo", "password": "demo"})
	res, err := lw.Post("/login", body).Header("content-type", "application/json").Send()
	if err != nil {
		return err
	}
	if res.Status() != 200 {
		return fmt.Errorf("login: status %d", res.Status())
	}
	var reply struct{ Token string }
	if err := json.Unmarshal(res.Body(), &reply); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	token = reply.Token
	return nil
}

func browse() error {
	res, err := lw.Get("/items").Send()
	if err != nil {
		return err
	}
	lw.Check("catalog listed", res.Status() == 200 && strings.HasPrefix(res.Text(), "["))
	return nil
}

func viewItem() error {
	id := rand.IntN(10) + 1
	// One stats row for every item, instead of one per URL.
	res, err := lw.Get(fmt.Sprintf("/items/%d", id)).Name("/items/{id}").Send()
	if err != nil {
		return err
	}
	if lw.Check("item found", res.Status() == 200) {
		var item struct{ Price float64 }
		if err := json.Unmarshal(res.Body(), &item); err != nil {
			return err
		}
		lw.TrendAdd("item_price", item.Price)
	}
	return nil
}

func buy() error {
	res, err := lw.Post("/cart", []byte("item=1")).Header("x-token", token).Send()
	if err != nil {
		return err
	}
	if lw.Check("added to cart", res.Status() == 201) {
		lw.CounterAdd("items_added", 1)
	}
	return nil
}

func main() {}
