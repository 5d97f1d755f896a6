//! Two staff members approving the same partner at the same moment: one wins.

use actix_web::test;
use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn of_two_racing_approvals_one_wins_and_the_other_gets_409() {
    let t = TestApp::new().await;
    let (id, _) = t.apply("TravelCo GmbH").await;
    t.verify(&id).await;

    // Both requests load the stream before either appends.
    t.faulty.race_appends(2);
    let app = test::init_service(t.app()).await;
    let approve = |staff: &str| {
        with_token(
            test::TestRequest::post()
                .uri(&format!("/admin/partners/{id}/approve"))
                .set_json(json!({"redirect_uris": []})),
            Some(staff),
        )
        .to_request()
    };
    let (b, c) = tokio::join!(
        test::call_service(&app, approve(STAFF_B)),
        test::call_service(&app, approve(STAFF_C)),
    );
    let (b, c) = (read(b).await, read(c).await);
    let mut statuses = [b.status, c.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{:#} {:#}", b.body, c.body);
    let loser = if b.status == 409 { &b } else { &c };
    loser.problem(409, "concurrency_conflict");

    let approvals = t
        .stream(&id)
        .await
        .iter()
        .filter(|e| e.event_type == "PartnerApproved")
        .count();
    assert_eq!(approvals, 1);
}
