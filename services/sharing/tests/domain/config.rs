//! The `[sharing]` section: defaults, and the delivery concurrency an operator may set.

use ecohub_sharing::{SharingConfig, SharingSection};

#[test]
fn pushes_run_32_at_a_time_by_default_and_1_to_1024_may_be_set() {
    let defaults = SharingConfig::default();
    assert_eq!(defaults.delivery.concurrency, 32);
    assert_eq!(SharingSection::default().delivery_concurrency, 32);
    for (concurrency, valid) in [(0, false), (1, true), (1024, true), (1025, false)] {
        let config = SharingConfig::from(SharingSection {
            delivery_concurrency: concurrency,
            ..SharingSection::default()
        });
        assert_eq!(config.delivery.concurrency, concurrency);
        let checked = config.validate();
        assert_eq!(checked.is_ok(), valid, "{concurrency}: {checked:?}");
        if let Err(message) = checked {
            assert!(message.contains("delivery_concurrency"), "{message}");
        }
    }
}
