#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    interlude_daemon::backup::fuzz_backup(data);
});
