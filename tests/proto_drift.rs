//! The prost types checked in under `src/proto/` must be exactly what `proto/` generates.
//! `EDGEWRITE_BLESS=1 cargo test --test proto_drift` rewrites them.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

#[test]
fn generated_types_match_the_proto_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fds = protox::compile(
        ["prometheus/remote.proto", "prometheus/types.proto", "io/prometheus/write/v2/types.proto"],
        [root.join("proto")],
    )
    .expect("proto/ compiles");
    let out = std::env::temp_dir().join(format!("edgewrite-proto-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    prost_build::Config::new().out_dir(&out).compile_fds(fds).expect("prost-build generates code");
    let bless = std::env::var_os("EDGEWRITE_BLESS").is_some();
    for name in ["prometheus.rs", "io.prometheus.write.v2.rs"] {
        let fresh = std::fs::read_to_string(out.join(name)).unwrap();
        let checked_in = root.join("src/proto").join(name);
        if bless {
            std::fs::write(&checked_in, &fresh).unwrap();
        } else {
            let current = std::fs::read_to_string(&checked_in).unwrap();
            assert!(
                current == fresh,
                "src/proto/{name} is out of date with proto/: run EDGEWRITE_BLESS=1 cargo test --test proto_drift"
            );
        }
    }
    std::fs::remove_dir_all(&out).ok();
}
