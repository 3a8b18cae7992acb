//! Components that do not fit are refused at load with a message a person can act on.

use loadwright_host::engine::LoadError;
use loadwright_tests::guests;

use crate::engine;

async fn refusal(bytes: &[u8]) -> LoadError {
    match engine().load(bytes).await {
        Ok(_) => panic!("the component was accepted"),
        Err(err) => err,
    }
}

#[tokio::test]
async fn a_file_that_is_not_wasm_is_refused() {
    let err = refusal(b"#!/bin/sh\necho not a component\n").await;
    assert_eq!(err, LoadError::NotWasm);
    assert!(err.to_string().contains("not a WebAssembly file"));
}

#[tokio::test]
async fn a_core_module_is_refused_with_how_to_build_a_component() {
    // The smallest valid core module: magic and version 1.
    let err = refusal(b"\0asm\x01\0\0\0").await;
    assert_eq!(err, LoadError::CoreModule);
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

#[tokio::test]
async fn a_scenario_built_for_another_contract_version_is_refused_naming_both() {
    let err = refusal(&std::fs::read(guests::OLD_CONTRACT).expect("guest")).await;
    let message = err.to_string();
    assert!(matches!(err, LoadError::OtherVersion { .. }), "{message}");
    assert!(
        message.contains("loadwright:scenario@0.1.0")
            && message.contains("loadwright:scenario@0.2.0")
            && message.contains("rebuild"),
        "{message}"
    );
}

#[tokio::test]
async fn a_component_of_another_world_is_refused() {
    let err = refusal(&std::fs::read(guests::OTHER_WORLD).expect("guest")).await;
    let message = err.to_string();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{message}");
    assert!(
        message.contains("loadwright:scenario/guest@0.2.0") && message.contains("greet"),
        "{message}"
    );
}

#[tokio::test]
async fn a_component_importing_sockets_is_refused_with_the_list() {
    let err = refusal(&std::fs::read(guests::SOCKETS).expect("guest")).await;
    match &err {
        LoadError::UnsupportedImports(imports) => {
            assert!(
                imports.iter().any(|i| i.starts_with("wasi:sockets/")),
                "{imports:?}"
            );
            assert!(
                imports.iter().all(|i| !i.starts_with("wasi:cli/")),
                "allowed ones are not listed"
            );
        }
        other => panic!("expected UnsupportedImports, got {other}"),
    }
}

#[tokio::test]
async fn a_scenario_declares_its_tasks_and_plan() {
    let scenario = crate::load(&engine(), guests::SHOP).await;
    let tasks: Vec<(&str, u32)> = scenario
        .info()
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(tasks, [("browse", 5), ("view_item", 3), ("buy", 1)]);
    assert_eq!(
        scenario.info().plan,
        r#"{"vus":5,"duration":"10s","thresholds":{"http_req_failed":["rate<0.01"],"http_req_duration{name:/items}":["p(95)<500"],"checks":["rate>0.99"]}}"#
    );
    let hello = crate::load(&engine(), guests::HELLO).await;
    assert_eq!(hello.info().tasks.len(), 1);
    assert_eq!(hello.info().tasks[0].name, "default");
}

#[tokio::test]
async fn a_plan_naming_a_task_the_scenario_lacks_is_refused_at_start() {
    use loadwright_host::config::{Overrides, PlanDocument};
    use loadwright_host::run::{Run, StartError};

    let engine = engine();
    let scenario = crate::load(&engine, guests::PROBE).await;
    let plan = r#"{"scenarios": {"s": {"executor": "shared-iterations", "iterations": 1, "exec": "checkout"}}}"#;
    let plan = PlanDocument::from_json(plan)
        .and_then(|d| d.resolve(Overrides::default()))
        .expect("plan");
    match Run::start(&engine, scenario, plan) {
        Err(StartError::Mismatch(message)) => {
            assert!(
                message.contains("\"checkout\"") && message.contains("tasks are: a, b"),
                "{message}"
            );
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("the run started"),
    }
}

#[tokio::test]
async fn a_component_over_the_size_or_complexity_caps_is_refused_before_compiling() {
    use loadwright_host::engine::{Engine, EngineOptions, LoadLimits};

    let bytes = std::fs::read(guests::HELLO).expect("read hello");
    let with = |limits: LoadLimits| {
        Engine::new(EngineOptions {
            load_limits: limits,
            ..Default::default()
        })
        .expect("engine")
    };
    let defaults = LoadLimits::default();
    let small = with(LoadLimits {
        max_bytes: 1000,
        ..defaults
    });
    match small.load(&bytes).await {
        Err(LoadError::TooLarge { what, value, limit }) => {
            assert_eq!((what, value, limit), ("bytes", bytes.len() as u64, 1000));
        }
        other => panic!("{:?}", other.err()),
    }
    let simple = with(LoadLimits {
        max_functions: 10,
        ..defaults
    });
    let err = simple.load(&bytes).await.err().expect("refused");
    assert!(
        err.to_string().contains("functions, over the limit of 10"),
        "{err}"
    );
    // Every test guest and example fits the default caps (the other tests load them).
    assert!(with(defaults).load(&bytes).await.is_ok());
}
