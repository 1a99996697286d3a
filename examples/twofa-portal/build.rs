//! Compiles the browser walks into the test binary only when
//! `TWOFA_BROWSER_TESTS=1`: without the opt-in they do not exist (nothing
//! skips itself and reports success); with it, a missing Chromium or
//! chromedriver fails them.

fn main() {
    println!("cargo::rerun-if-env-changed=TWOFA_BROWSER_TESTS");
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    if std::env::var("TWOFA_BROWSER_TESTS").is_ok_and(|value| value == "1") {
        println!("cargo::rustc-cfg=browser_tests");
    }
}
