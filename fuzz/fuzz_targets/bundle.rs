#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| interlude_plugins::fuzzing::bundle(data));
