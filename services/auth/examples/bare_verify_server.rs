//! The baseline for the protected-GET benchmark (tests/perf/token-bench.sh): a bare actix
//! handler that only verifies an ES256 bearer token with jsonwebtoken (aws-lc-rs) — no
//! revocation, client or partner checks, no store.
//!
//!     cargo run --release -p ecohub-auth --example bare_verify_server -- <port> <jwks.json> <issuer>

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

async fn protected(req: HttpRequest, verifier: web::Data<Verifier>) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|t| decode::<serde_json::Value>(t, &verifier.key, &verifier.validation)) {
        Some(Ok(data)) => HttpResponse::Ok().json(serde_json::json!({ "sub": data.claims["sub"] })),
        _ => HttpResponse::Unauthorized().finish(),
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (port, jwks_path, issuer) = match args.as_slice() {
        [_, port, jwks, issuer] => (
            port.parse::<u16>().expect("port"),
            jwks.clone(),
            issuer.clone(),
        ),
        _ => {
            eprintln!("usage: bare_verify_server <port> <jwks.json> <issuer>");
            std::process::exit(2);
        }
    };
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(&std::fs::read_to_string(jwks_path)?).expect("a JWKS");
    let jwk = jwks.keys.first().expect("one key").clone();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[issuer.as_str()]);
    validation.set_audience(&[issuer.as_str()]);
    validation.leeway = 10;
    let verifier = web::Data::new(Verifier {
        key: DecodingKey::from_jwk(&jwk).expect("an ES256 key"),
        validation,
    });
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(verifier.clone())
                .route("/protected", web::get().to(protected))
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })
}
