//! The generated code is what the generator makes of the checked-in model: regenerating must
//! change nothing (STYLE.md §7).

use std::path::Path;
use std::process::Command;

#[test]
fn generated_code_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3")
        .arg(root.join("scripts/gen-api-model.py"))
        .args(["generate", "--check"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn model_has_the_37_operations() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("model/elasticache-2015-02-02.json"),
    )
    .unwrap();
    let model: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ops = model["operations"].as_object().unwrap();
    assert_eq!(ops.len(), 37);
    assert_eq!(api::ACTIONS.len(), 37);
    for action in api::ACTIONS {
        assert!(ops.contains_key(*action), "{action}");
        // Every modelled error of the operation has a FaultCode with the model's code and status.
        for err in ops[*action]["errors"].as_array().into_iter().flatten() {
            let shape = &model["shapes"][err["shape"].as_str().unwrap()]["error"];
            let code = shape["code"].as_str().unwrap();
            let fault = api::modelled_faults(action)
                .iter()
                .find(|f| f.code() == code)
                .unwrap_or_else(|| panic!("{action}: {code}"));
            assert_eq!(
                u64::from(fault.http_status()),
                shape["httpStatusCode"].as_u64().unwrap(),
                "{code}"
            );
        }
    }
}
