use super::*;

const SHIPPED: &str = include_str!("../../workflows/support.toml");

fn with(edit: impl Fn(&str) -> String) -> Result<Workflow, WorkflowError> {
    Workflow::parse(&edit(SHIPPED))
}

#[test]
fn the_shipped_workflow_is_valid() {
    let wf = Workflow::parse(SHIPPED).expect("workflows/support.toml validates");
    assert_eq!(wf.reference().to_string(), "support v4");
    assert!(wf.migration_from(1).is_some(), "v1 cases move onto v2");
    assert_eq!(wf.initial, State::Intake);
    assert_eq!(wf.next(State::Intake, Outcome::Ready), Some(State::Tier));
    assert_eq!(wf.timers().len(), 5);
    assert_eq!(wf.timer("idle_close").unwrap().target, State::Closed);
    assert!(wf.timer("first_response").unwrap().until_outbound);
}

#[test]
fn an_unknown_state_is_named() {
    let err = with(|s| {
        s.replace(
            "[states.closed]",
            "[states.limbo]\non = {}\n[states.closed]",
        )
    })
    .unwrap_err();
    assert_eq!(err, WorkflowError::UnknownState("limbo".into()));
}

#[test]
fn a_transition_to_nowhere_is_named() {
    let err =
        with(|s| s.replace(r#"on = { done = "qa" }"#, r#"on = { done = "review" }"#)).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::TransitionToNowhere {
            state: "execute".into(),
            outcome: "done".into(),
            target: "review".into()
        }
    );
    assert!(err.to_string().contains("state 'execute'"));
}

#[test]
fn an_unreachable_state_is_named() {
    // Nothing leads to execute any more.
    let err = with(|s| {
        s.replace(r#"verified = "execute""#, r#"verified = "qa""#)
            .replace(r#"act = "execute""#, r#"act = "send""#)
            .replace(r#"recovered = "execute""#, r#"recovered = "qa""#)
    })
    .unwrap_err();
    assert_eq!(
        err,
        WorkflowError::Unreachable {
            state: "execute".into(),
            initial: "intake".into()
        }
    );
}

#[test]
fn a_wait_without_a_way_out_is_named() {
    let src = r#"
name = "w"
version = 1
initial = "intake"
[states.intake]
on = { ready = "tier" }
waits = ["timer"]
[states.tier]
on = { account = "verify", general = "verify" }
[states.verify]
on = { verified = "execute", unverified = "execute", ask = "qa" }
waits = ["customer"]
[states.execute]
on = { done = "qa" }
waits = ["tool"]
[states.qa]
on = { reply = "send", acknowledge = "send", act = "send", drop = "send" }
waits = ["operator", "coach"]
[states.send]
on = { sent = "close", acknowledged = "close", asked = "close", paused = "close" }
waits = ["tool"]
[states.close]
waits = ["customer"]
[states.closed]
terminal = true
"#;
    let err = Workflow::parse(src).unwrap_err();
    // close has no transition and no timer: it would wait forever.
    assert!(
        matches!(&err, WorkflowError::UnhandledOutcome { state, outcome } if state == "close" && outcome == "reopen"),
        "{err}"
    );
    let src = src.replace(
        "[states.close]\nwaits = [\"customer\"]",
        "[states.close]\non = { reopen = \"intake\" }\nwaits = [\"customer\"]",
    );
    // Now closed is unreachable (no idle timer): named as such.
    let err = Workflow::parse(&src).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::Unreachable {
            state: "closed".into(),
            initial: "intake".into()
        }
    );
}

#[test]
fn a_state_that_only_waits_is_a_wait_without_exit() {
    let states = BTreeMap::from([(
        State::Close,
        StateDef {
            on: BTreeMap::new(),
            waits: BTreeSet::from([WaitKindOrd::from(WaitKind::Customer)]),
            terminal: false,
        },
    )]);
    let err = check_exits(&states, &[]).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::WaitWithoutExit {
            state: "close".into(),
            wait: "customer".into()
        }
    );
}

#[test]
fn a_timer_without_a_target_is_named() {
    let err = with(|s| s.replace("target = \"closed\"\n", "")).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::TimerWithoutTarget {
            timer: "idle_close".into()
        }
    );
}

#[test]
fn a_timer_with_an_unknown_target_or_state_is_named() {
    let err = with(|s| s.replace("target = \"closed\"", "target = \"archive\"")).unwrap_err();
    assert!(
        matches!(err, WorkflowError::TimerTargetUnknown { timer, .. } if timer == "idle_close")
    );
    let err =
        with(|s| s.replace("armed_in = [\"close\"]", "armed_in = [\"resting\"]")).unwrap_err();
    assert!(
        matches!(err, WorkflowError::TimerArmedInUnknown { timer, state } if timer == "idle_close" && state == "resting")
    );
}

#[test]
fn a_bad_duration_is_named() {
    let err = with(|s| s.replace("after = \"24h\"", "after = \"a day\"")).unwrap_err();
    assert!(matches!(err, WorkflowError::BadDuration { timer, .. } if timer == "idle_close"));
}

#[test]
fn every_outcome_of_a_stage_must_lead_somewhere() {
    let err = with(|s| s.replace(r#", drop = "close""#, "")).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::UnhandledOutcome {
            state: "qa".into(),
            outcome: "drop".into()
        }
    );
}

#[test]
fn a_wait_the_engine_needs_must_be_declared() {
    let err = with(|s| s.replace(r#"waits = ["operator", "coach"]"#, r#"waits = ["coach"]"#))
        .unwrap_err();
    assert_eq!(
        err,
        WorkflowError::MissingWait {
            state: "qa".into(),
            wait: "operator".into()
        }
    );
}

#[test]
fn an_unknown_outcome_is_named_with_the_known_ones() {
    let err = with(|s| {
        s.replace(
            r#"on = { done = "qa" }"#,
            r#"on = { done = "qa", oops = "qa" }"#,
        )
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("state 'execute': unknown outcome 'oops'"),
        "{err}"
    );
}

#[test]
fn the_terminal_state_must_exist() {
    let err = with(|s| {
        s.replace(
            "[states.closed]\nterminal = true",
            "[states.closed]\non = {}",
        )
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            WorkflowError::NoTerminal | WorkflowError::DeadEnd { .. }
        ),
        "{err}"
    );
}

#[test]
fn migrations_must_come_from_older_versions_and_known_states() {
    let err = with(|s| format!("{s}\n[[migrations]]\nfrom_version = 4\n")).unwrap_err();
    assert_eq!(
        err,
        WorkflowError::BadMigration {
            from: 4,
            current: 4
        }
    );
    let wf = with(|s| {
        let bumped = s.replace("\nversion = 4\n", "\nversion = 5\n");
        format!("{bumped}\n[[migrations]]\nfrom_version = 4\nstates = {{ verify = \"qa\" }}\n")
    })
    .unwrap();
    let m = wf.migration_from(4).unwrap();
    assert_eq!(m.states.get(&State::Verify), Some(&State::Qa));
}

#[test]
fn syntax_errors_say_so() {
    assert!(matches!(
        Workflow::parse("name = "),
        Err(WorkflowError::Syntax(_))
    ));
}

#[test]
fn definitions_compare_by_meaning_not_layout() {
    let a = Workflow::parse(SHIPPED).unwrap();
    let b = Workflow::parse(&format!("# a comment\n{SHIPPED}")).unwrap();
    assert!(a.same_definition(&b));
    let c = with(|s| s.replace("after = \"24h\"", "after = \"12h\"")).unwrap();
    assert!(!a.same_definition(&c));
}
