//! Tests of the command line's grammar and its small parsers.

use super::operator::{comma_list, parse_window};
use super::*;

#[test]
fn windows_parse() {
    assert_eq!(
        parse_window("08:00-22:00").unwrap(),
        vigil_notify::TimeWindow {
            start_minute: 480,
            end_minute: 1320
        }
    );
    assert_eq!(parse_window("22:30-06:00").unwrap().start_minute, 1350);
    assert!(parse_window("8-22").is_err());
    assert!(parse_window("25:00-01:00").is_err());
    assert_eq!(
        comma_list(" urgent, ,suspicious"),
        vec!["urgent", "suspicious"]
    );
}

#[test]
fn labels_and_encoding() {
    let l = parse_labels(&["env=prod".into(), "team = web ".into()]).unwrap();
    assert_eq!(l.get("team").map(String::as_str), Some("web"));
    assert!(parse_labels(&["novalue".into()]).is_err());
    assert!(parse_labels(&["=x".into()]).is_err());
    assert_eq!(vigil_client::encode("a b/ü"), "a%20b%2F%C3%BC");
}

#[test]
fn wire_names_parse_with_the_option_named() {
    let a: vigil_proto::api::HandleAction = wire_name("--action", "kill_process").unwrap();
    assert_eq!(a, vigil_proto::api::HandleAction::KillProcess);
    let e = wire_name::<vigil_proto::api::HandleAction>("--action", "nuke")
        .unwrap_err()
        .to_string();
    assert!(e.contains("--action") && e.contains("nuke"), "{e}");
    let l: vigil_model::Level = wire_name("--levels", " urgent").unwrap();
    assert_eq!(l, vigil_model::Level::Urgent);
}

#[test]
fn grammar_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn agent_reports_the_binary_version() {
    assert_eq!(vigil_agent::VERSION, env!("CARGO_PKG_VERSION"));
}
