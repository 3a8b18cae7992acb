//! A scenario built for an earlier version of the contract (`loadwright:scenario@0.1.0`):
//! the host must refuse it, naming both versions.

wit_bindgen::generate!({
    inline: "
        package loadwright:scenario@0.1.0;
        interface guest { run-task: func(task: u32) -> result<_, string>; }
        world scenario { export guest; }
    ",
});

struct Old;

impl exports::loadwright::scenario::guest::Guest for Old {
    fn run_task(_task: u32) -> Result<(), String> {
        Ok(())
    }
}

export!(Old);
