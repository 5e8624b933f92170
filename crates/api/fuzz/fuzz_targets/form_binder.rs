//! Any bytes as a Query request body: decoding and binding never panic, and whatever binds is
//! an operation of the action that was asked for.
#![no_main]

use api::form::Params;
use api::Operation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::decode(&[data]) else {
        return;
    };
    // Bind under the action sent, and under every action (so deep shapes get exercised even when
    // the fuzzer has not found a valid Action= yet).
    let actions = params
        .action
        .iter()
        .map(String::as_str)
        .chain(api::ACTIONS.iter().copied());
    for action in actions {
        match Operation::bind(action, &params.tree) {
            None => assert!(!api::ACTIONS.contains(&action)),
            Some(Ok(op)) => assert_eq!(op.action(), action),
            Some(Err(fault)) => assert!(fault.code.is_sender() && fault.http_status() < 500),
        }
    }
});
