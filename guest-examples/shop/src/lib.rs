//! A shopper: logs in once per VU, then browses often and buys now and then, with think
//! time, checks and custom metrics. Runs against the built-in demo target:
//!
//! `host run shop.wasm --target-demo`

use std::time::Duration;

use loadwright::{Counter, Options, Result, Scenario, Trend, check, get, post, random, wait};
use serde::{Deserialize, Serialize};

static ITEMS_ADDED: Counter = Counter::new("items_added");
static ITEM_PRICE: Trend = Trend::new("item_price");

#[derive(Serialize)]
struct Login<'a> {
    user: &'a str,
    password: &'a str,
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[derive(Deserialize)]
struct Item {
    price: f64,
}

#[derive(Default)]
struct Shopper {
    token: String,
}

impl Scenario for Shopper {
    fn options() -> Options<Self> {
        Options::new()
            .task("browse", 5, Shopper::browse)
            .task("view_item", 3, Shopper::view_item)
            .task("buy", 1, Shopper::buy)
            // Think time after every task, as Locust's `wait_time = between(0.05, 0.25)`.
            .wait_time(wait::between(
                Duration::from_millis(50),
                Duration::from_millis(250),
            ))
            .vus(5)
            .duration("10s")
            // The run passes only if these hold (host run exits with 99 otherwise).
            .threshold("http_req_failed", "rate<0.01")
            .threshold("http_req_duration{name:/items}", "p(95)<500")
            .threshold("checks", "rate>0.99")
    }

    /// Once per VU (Locust's on_start): the session cookie lands in this VU's cookie jar.
    fn on_vu_start(&mut self) -> Result<()> {
        let login = Login {
            user: "demo",
            password: "demo",
        };
        let response = post("/login").json(&login).send()?.error_for_status()?;
        self.token = response.json::<Token>()?.token;
        Ok(())
    }
}

impl Shopper {
    fn browse(&mut self) -> Result<()> {
        let response = get("/items").send()?;
        check(
            "catalog listed",
            response.status() == 200 && response.text().starts_with('['),
        );
        Ok(())
    }

    fn view_item(&mut self) -> Result<()> {
        let id = random::range(1..11);
        // One stats row for every item, instead of one per URL.
        let response = get(format!("/items/{id}")).name("/items/{id}").send()?;
        if check("item found", response.status() == 200) {
            ITEM_PRICE.add(response.json::<Item>()?.price);
        }
        Ok(())
    }

    fn buy(&mut self) -> Result<()> {
        let response = post("/cart")
            .header("x-token", &self.token)
            .body("item=1")
            .send()?;
        if check("added to cart", response.status() == 201) {
            ITEMS_ADDED.add(1.0);
        }
        Ok(())
    }
}

loadwright::scenario!(Shopper);
