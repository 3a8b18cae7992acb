//! Builds every guest the tests use from source (the examples and `tests/guests`): the Rust
//! ones for wasm32-wasip2, the Go ones as WASI reactors with the Go toolchain
//! (`scripts/go.sh`), and writes a constant with the path of each into `guests.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (constant, workspace relative to the repository root, artifact name).
const GUESTS: &[(&str, &str, &str)] = &[
    ("HELLO", "guest-examples", "hello"),
    ("SHOP", "guest-examples", "shop"),
    ("HOOKS", "guest-examples", "hooks"),
    ("PROBE", "tests/guests", "probe"),
    ("OTHER_WORLD", "tests/guests", "other_world"),
    ("OLD_CONTRACT", "tests/guests", "old_contract"),
    ("SOCKETS", "tests/guests", "sockets"),
    ("HOSTILE", "tests/guests", "hostile"),
    ("WIDENING", "tests/guests", "widening"),
    ("BAD_PLAN", "tests/guests", "bad_plan"),
];

/// (constant, directory relative to the repository root, artifact name) of the Go guests:
/// core modules, which the host makes components of.
const GO_GUESTS: &[(&str, &str, &str)] = &[
    ("GO_HELLO", "guest-examples/go-hello", "go-hello"),
    ("GO_SHOP", "guest-examples/go-shop", "go-shop"),
    ("GO_PROBE", "tests/guests/go-probe", "go-probe"),
];

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf();
    let target_dir = root.join("target").join("wasm");
    for dir in [
        "wit",
        "sdk/rust/src",
        "sdk/rust/Cargo.toml",
        "guest-examples",
        "tests/guests",
        "sdk/go",
    ] {
        watch(&root.join(dir));
    }
    let mut workspaces: Vec<&str> = GUESTS.iter().map(|(_, ws, _)| *ws).collect();
    workspaces.dedup();
    for workspace in workspaces {
        build(&root.join(workspace), &target_dir);
    }
    let mut constants = String::new();
    for (name, _, artifact) in GUESTS {
        let path = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{artifact}.wasm"));
        assert!(
            path.exists(),
            "guest {artifact} was not built at {}",
            path.display()
        );
        constants.push_str(&format!(
            "/// Path of the `{artifact}` guest component.\npub const {name}: &str = {:?};\n",
            path.display().to_string()
        ));
    }
    for (name, dir, artifact) in GO_GUESTS {
        let path = target_dir.join("go").join(format!("{artifact}.wasm"));
        build_go(&root, &root.join(dir), &path);
        constants.push_str(&format!(
            "/// Path of the `{artifact}` Go guest (a core module).\npub const {name}: &str = {:?};\n",
            path.display().to_string()
        ));
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("guests.rs"), constants).expect("write guests.rs");
}

fn build(workspace: &Path, target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(target_dir);
    // The outer build's settings (flags, profile, target, and clippy's driver when the outer
    // command is `cargo clippy`) are not the guests'.
    for (key, _) in std::env::vars() {
        let outer = (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || matches!(
                key.as_str(),
                "RUSTFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CLIPPY_ARGS"
                    | "CLIPPY_CONF_DIR"
            );
        if outer {
            command.env_remove(key);
        }
    }
    let status = command.status().expect("run cargo to build the guests");
    if !status.success() {
        panic!(
            "building the guests in {} failed; if the wasm32-wasip2 target is missing, run \
             scripts/setup.sh (it runs `rustup target add wasm32-wasip2`)",
            workspace.display()
        );
    }
}

fn watch(path: &Path) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            watch(&p);
        }
    } else {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn build_go(root: &Path, dir: &Path, output: &Path) {
    let status = Command::new(root.join("scripts/go.sh"))
        .current_dir(dir)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .args(["build", "-buildmode=c-shared", "-o"])
        .arg(output)
        .arg(".")
        .status()
        .unwrap_or_else(|err| {
            panic!("cannot run scripts/go.sh ({err}); run scripts/setup.sh --go")
        });
    assert!(
        status.success(),
        "building the Go guest in {} failed (is Go installed? scripts/setup.sh --go installs it)",
        dir.display()
    );
}
