//! RS256 JSON Web Tokens: one signing key per realm, its JWKS entry, signing and verifying.
//!
//! Hand-rolled on top of `rsa` because the simulator needs only RS256 and must not share a
//! JWT library (and its blind spots) with the code under test.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// A realm's signing key.
#[derive(Clone, Debug)]
pub(crate) struct RealmKey {
    kid: String,
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    public: RsaPublicKey,
}

impl RealmKey {
    /// The key of `realm`. 2048-bit generation takes a noticeable fraction of a second even
    /// optimised, so keys are made once per process and realm name and shared by every
    /// simulator the process starts; issuers differ per simulator (they carry the port), so
    /// one simulator still rejects another's tokens.
    pub(crate) fn for_realm(realm: &str) -> anyhow::Result<Self> {
        static KEYS: OnceLock<Mutex<HashMap<String, RsaPrivateKey>>> = OnceLock::new();
        let mut keys = KEYS
            .get_or_init(Mutex::default)
            .lock()
            .expect("the key cache lock is never poisoned");
        let private = if let Some(key) = keys.get(realm) {
            key.clone()
        } else {
            let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?;
            keys.insert(realm.to_owned(), key.clone());
            key
        };
        Ok(Self::from_private(private))
    }

    fn from_private(private: RsaPrivateKey) -> Self {
        let public = private.to_public_key();
        let digest = Sha256::digest(public.n().to_bytes_be());
        Self {
            kid: URL_SAFE_NO_PAD.encode(&digest[..16]),
            verifying: VerifyingKey::new(public.clone()),
            signing: SigningKey::new(private),
            public,
        }
    }

    /// The key as a JWKS entry, as Keycloak's `certs` endpoint lists it.
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "kid": self.kid,
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        })
    }

    /// A compact JWS of `claims`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid });
        let signing_input = format!("{}.{}", encode_json(&header), encode_json(claims));
        let signature = self.signing.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// The claims of `token` if this key signed it with RS256. Expiry and issuer are the
    /// caller's business.
    pub(crate) fn verify(&self, token: &str) -> Option<Value> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let header = decode_json(header)?;
        if header.get("alg")?.as_str()? != "RS256" {
            return None;
        }
        let signature = Signature::try_from(URL_SAFE_NO_PAD.decode(signature).ok()?.as_slice());
        self.verifying
            .verify(signing_input.as_bytes(), &signature.ok()?)
            .ok()?;
        decode_json(payload)
    }
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn decode_json(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::RealmKey;

    #[test]
    fn signs_and_verifies() {
        let key = RealmKey::for_realm("jwt-test-a").unwrap();
        let token = key.sign(&json!({ "sub": "someone", "exp": 42 }));
        assert_eq!(token.split('.').count(), 3);
        let claims = key.verify(&token).unwrap();
        assert_eq!(claims["sub"], "someone");
        assert_eq!(key.jwk()["kty"], "RSA");
        assert_eq!(key.jwk()["e"], "AQAB");
    }

    #[test]
    fn rejects_other_keys_and_tampering() {
        let a = RealmKey::for_realm("jwt-test-a").unwrap();
        let b = RealmKey::for_realm("jwt-test-b").unwrap();
        let token = a.sign(&json!({ "sub": "someone" }));
        assert!(b.verify(&token).is_none());
        let (rest, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = rest.split_once('.').unwrap();
        let forged = format!(
            "{header}.{}.{signature}",
            super::encode_json(&json!({"sub": "x"}))
        );
        assert!(a.verify(&forged).is_none());
        assert!(a.verify("not-a-jwt").is_none());
    }
}
