//! The captured Prometheus requests in tests/fixtures/, embedded so the same tests run on wasm32.

/// Request bodies Prometheus 2.42 sent (snappy, `prometheus.WriteRequest`).
pub const SAMPLES: &[&[u8]] = &[
    include_bytes!("../fixtures/prometheus-2.42/0000.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0001.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0002.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0003.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0004.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0005.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0006.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0007.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0008.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0009.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0010.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0011.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0012.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0013.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0014.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0015.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0016.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0017.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0018.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0019.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0020.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0021.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0022.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0023.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0024.bin"),
    include_bytes!("../fixtures/prometheus-2.42/0025.bin"),
];

/// Request bodies with exemplars, sent as exemplar-only series.
pub const EXEMPLARS: &[&[u8]] = &[
    include_bytes!("../fixtures/prometheus-2.42-exemplars/0000.bin"),
    include_bytes!("../fixtures/prometheus-2.42-exemplars/0001.bin"),
    include_bytes!("../fixtures/prometheus-2.42-exemplars/0002.bin"),
    include_bytes!("../fixtures/prometheus-2.42-exemplars/0003.bin"),
    include_bytes!("../fixtures/prometheus-2.42-exemplars/0004.bin"),
    include_bytes!("../fixtures/prometheus-2.42-exemplars/0005.bin"),
];
