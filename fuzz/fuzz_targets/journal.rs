#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = interlude_daemon::store::fuzz_journal(data);
});
