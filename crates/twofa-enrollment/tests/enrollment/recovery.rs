//! Recovery codes: single use, and regeneration replacing the set.

use super::*;

#[test]
fn recovery_codes_are_single_use_and_regeneration_replaces_the_set() {
    let env = Env::new();
    let (record, codes) = enrolled_app(&env, t0());
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.split('-').count() == 4)
    );
    let at = t0() + secs(60);
    let (used, effects) =
        saved(apply(&record, use_recovery(&codes[3]), &env.optional(), at).unwrap());
    assert!(audits(&effects).contains(&"enrollment.recovery_code_used"));
    assert_eq!(used.summary(at).recovery_codes_remaining, 9);
    // Again: counted as a failure.
    let (again, effects) =
        saved(apply(&used, use_recovery(&codes[3]), &env.optional(), at).unwrap());
    assert_eq!(again.failures().consecutive(), 1);
    assert!(audits(&effects).contains(&"enrollment.recovery_code_rejected"));
    // Regenerate (the recovery code was a fresh second factor).
    let (regenerated, effects) =
        saved(apply(&used, Event::RegenerateRecoveryCodes, &env.optional(), at).unwrap());
    let fresh = recovery_sheet(&effects);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    let (_, effects) =
        saved(apply(&regenerated, use_recovery(&codes[0]), &env.optional(), at).unwrap());
    assert!(matches!(effects[0], Effect::CodeRejected { .. }));
    let (ok, _) = saved(
        apply(
            &regenerated,
            use_recovery(&fresh[0].to_lowercase()),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert_eq!(ok.summary(at).recovery_codes_remaining, 9);
    // No code leaks into Debug.
    let printed = format!("{effects:?} {regenerated:?}");
    assert!(fresh.iter().all(|c| !printed.contains(c)));
}
