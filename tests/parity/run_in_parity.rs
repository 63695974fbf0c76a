// The parity suite's page run (tests/parity.rs): in a page of headless Chromium.
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
