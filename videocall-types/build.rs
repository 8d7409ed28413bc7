//! Generates the Rust protobuf messages from `proto/` with the pure-Rust parser (no protoc).

fn main() {
    let protos = [
        "proto/packet_wrapper.proto",
        "proto/media_packet.proto",
        "proto/connection_packet.proto",
        "proto/rsa_packet.proto",
        "proto/aes_packet.proto",
        "proto/diagnostics_packet.proto",
        "proto/server_packet.proto",
    ];
    protobuf_codegen::Codegen::new()
        .pure()
        .include("proto")
        .inputs(protos)
        .cargo_out_dir("protos")
        .run_from_script();
    println!("cargo::rerun-if-changed=proto");
}
