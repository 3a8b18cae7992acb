//! `host run`'s TLS and connection flags, as a person types them: files read and checked at
//! start, `--insecure` loud, the open-file limit raised.

use loadwright_tests::guests;
use loadwright_tests::tls::{Pki, Serve, TlsTarget};

use crate::cli::{bash, host, host_run, text};

#[test]
fn bad_certificate_and_key_files_are_named_before_the_run_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").expect("write");
    let junk = junk.to_str().expect("utf-8 path");
    let base = ["run", guests::HELLO, "--host", "https://127.0.0.1:9", "-q"];
    let out = host_run(&[&base[..], &["--ca-cert", junk]].concat());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--ca-cert {junk}: no certificate found")),
        "{stderr}"
    );
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().expect("utf-8 path");
    let pki = Pki::new();
    let cert = dir.path().join("client.pem");
    std::fs::write(&cert, &pki.client.cert).expect("write");
    let pair = format!("{},{missing}", cert.display());
    let out = host_run(&[&base[..], &["--client-cert", &pair]].concat());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--client-cert {missing}: cannot read it")),
        "{stderr}"
    );
    // A key that is not the certificate's: refused when the run's TLS is built, at start.
    let other = Pki::new();
    let key = dir.path().join("other.key");
    std::fs::write(&key, &other.client.key).expect("write");
    let pair = format!("{},{}", cert.display(), key.display());
    let out = host_run(&[&base[..], &["--client-cert", &pair]].concat());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the key does not fit the certificate"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn insecure_reaches_a_self_signed_server_and_says_so_in_the_banner_and_summary() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();
    let target = runtime.block_on(TlsTarget::start(&pki, Serve::default()));
    let url = target.url();
    let base = ["run", guests::HELLO, "--host", &url, "--iterations", "3"];
    let out = host_run(&base);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("tls-certificate"),
        "{}",
        text(&out.stdout)
    );

    let out = host_run(&[&base[..], &["--insecure"]].concat());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("certificates NOT verified"), "{stderr}");
    assert!(
        stdout.contains("WARNING: TLS certificates were NOT verified"),
        "{stdout}"
    );
    assert!(stdout.contains("status is 200"), "{stdout}");
    assert!(stdout.contains("tls_handshakes"), "{stdout}");
}

#[test]
fn the_open_file_limit_is_raised_for_the_planned_vus() {
    let script = format!(
        "ulimit -Sn 300 && exec {} run {} --target-demo --vus 100 --iterations 100",
        host().display(),
        guests::HELLO
    );
    let out = bash(&script).output().expect("run bash");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("raised the open-file limit from 300 to 456"),
        "{stderr}"
    );
}
