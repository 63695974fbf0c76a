// The parity suite's worker run (tests/parity_worker.rs): in a dedicated worker of headless
// Chromium, where there is no `window`.
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);
