//! `[sms]` from the environment reaches the node, and a misconfigured provider stops it at
//! start with a plain message naming the missing field (the real binary, as systemd runs it).

use std::process::Command;

fn yizhan(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yizhan"));
    cmd.args(args).arg("--data-dir").arg(dir.path()).env_remove("YIZHAN_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_provider_missing_a_field_in_the_environment_stops_the_node() {
    for node in ["hub", "kiosk"] {
        let (ok, err) = yizhan(
            &[node],
            &[
                ("YIZHAN_SMS_PROVIDER", "aliyun"),
                ("YIZHAN_SMS_ACCESS_KEY_ID", "LTAIx"),
                ("YIZHAN_SMS_ACCESS_KEY_SECRET", "env-s3cret"),
                ("YIZHAN_SMS_SIGN_NAME", "驿站"),
                ("YIZHAN_SMS_CODE_TEMPLATE", "SMS_1"),
            ],
        );
        assert!(!ok, "{node} started without a notice template");
        assert!(err.contains("notice_template"), "{node}: {err}");
        assert!(!err.contains("env-s3cret"), "{node} printed the secret: {err}");
        let (ok, err) = yizhan(&[node, "--sms-provider", "carrier-pigeon"], &[]);
        assert!(!ok && err.contains("carrier-pigeon"), "{node}: {err}");
    }
}
