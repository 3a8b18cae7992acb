//! A valid component of another world: the host must refuse it, saying why.

wit_bindgen::generate!({
    inline: "package test:other; world greeter { export greet: func() -> string; }",
});

struct Greeter;

impl Guest for Greeter {
    fn greet() -> String {
        "hello".into()
    }
}

export!(Greeter);
